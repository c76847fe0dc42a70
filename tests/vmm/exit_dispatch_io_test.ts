/**
 * Tests of ExitDispatcher's port and MMIO paths, driven by a fake `kvm_run` built in an
 * ArrayBuffer at the `KVM_RUN` offsets of `lib/kvm/abi.ts` (no /dev/kvm needed).
 *
 * @module
 */

import assert from "node:assert/strict";
import { EXIT_REASONS, KVM_EXIT_IO_IN, KVM_EXIT_IO_OUT, KVM_RUN } from "../../lib/kvm/abi.ts";
import { Bus } from "../../lib/vmm/bus.ts";
import { ExitDispatcher, UNCLAIMED_READ_BYTE } from "../../lib/vmm/exit_dispatch.ts";
import { ExitStats } from "../../lib/vmm/exit_stats.ts";

/** Where the fake puts port data (KVM uses the page after `kvm_run`; any offset works). */
const DATA_OFFSET = 0x200;

/** A dispatcher over a zeroed fake `kvm_run`, with a recording device on each bus. */
function harness() {
  const run = new Uint8Array(4096);
  const view = new DataView(run.buffer);
  const ports = new Bus("port");
  const mmio = new Bus("MMIO");
  const stats = new ExitStats();
  const log: string[] = [];
  let nextRead = 0x10; // reads return 0x10, 0x11, ... one value per byte
  const device = (bus: string) => ({
    read(offset: number, data: Uint8Array) {
      for (let i = 0; i < data.length; i++) data[i] = nextRead++;
      log.push(`${bus} r@${offset}/${data.length}`);
    },
    write(offset: number, data: Uint8Array) {
      log.push(`${bus} w@${offset}=${[...data].map((b) => b.toString(16)).join(" ")}`);
    },
  });
  ports.insert(0x500, 4, "test port", device("port"));
  mmio.insert(0xd000_0000, 0x1000, "test mmio", device("mmio"));
  const dispatcher = new ExitDispatcher(run, ports, mmio, stats);
  /** Fills in `kvm_run.io` for an exit of `count` accesses of `size` bytes. */
  const io = (direction: number, size: number, port: number, count: number) => {
    view.setUint8(KVM_RUN.io_direction, direction);
    view.setUint8(KVM_RUN.io_size, size);
    view.setUint16(KVM_RUN.io_port, port, true);
    view.setUint32(KVM_RUN.io_count, count, true);
    view.setBigUint64(KVM_RUN.io_data_offset, BigInt(DATA_OFFSET), true);
  };
  /** Fills in `kvm_run.mmio`. */
  const mmioExit = (address: number, data: number[], isWrite: boolean) => {
    view.setBigUint64(KVM_RUN.mmio_phys_addr, BigInt(address), true);
    run.fill(0, KVM_RUN.mmio_data, KVM_RUN.mmio_data + 8);
    run.set(data, KVM_RUN.mmio_data);
    view.setUint32(KVM_RUN.mmio_len, data.length, true);
    view.setUint8(KVM_RUN.mmio_is_write, isWrite ? 1 : 0);
  };
  return { run, view, stats, log, dispatcher, io, mmioExit };
}

const { KVM_EXIT_IO, KVM_EXIT_MMIO } = EXIT_REASONS;
const hex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16)).join(" ");

Deno.test("ExitDispatcher hands OUT data of size 1, 2 and 4 to the port device", async (t) => {
  const h = harness();
  const cases: [number, number[], string][] = [
    [1, [0x11], "port w@0=11"],
    [2, [0x33, 0x22], "port w@0=33 22"],
    [4, [0x77, 0x66, 0x55, 0x44], "port w@0=77 66 55 44"],
  ];
  for (const [size, bytes, expected] of cases) {
    await t.step(`size ${size}`, () => {
      h.log.length = 0;
      h.io(KVM_EXIT_IO_OUT, size, 0x500, 1);
      h.run.set(bytes, DATA_OFFSET);
      assert.equal(h.dispatcher.dispatch(KVM_EXIT_IO), null, "I/O exits keep the VM running");
      assert.deepEqual(h.log, [expected]);
    });
  }
  await t.step("an OUT to the third port of the range arrives at offset 3", () => {
    h.log.length = 0;
    h.io(KVM_EXIT_IO_OUT, 1, 0x503, 1);
    h.run[DATA_OFFSET] = 0xab;
    h.dispatcher.dispatch(KVM_EXIT_IO);
    assert.deepEqual(h.log, ["port w@3=ab"]);
  });
  assert.deepEqual([...h.stats.portWrites], [[0x500, 3], [0x503, 1]]);
  assert.equal(h.stats.unclaimedPort, 0);
});

Deno.test("ExitDispatcher writes IN data of every size back into kvm_run", async (t) => {
  for (const size of [1, 2, 4]) {
    await t.step(`size ${size}`, () => {
      const h = harness();
      h.run.fill(0xee, DATA_OFFSET, DATA_OFFSET + 8);
      h.io(KVM_EXIT_IO_IN, size, 0x501, 1);
      assert.equal(h.dispatcher.dispatch(KVM_EXIT_IO), null);
      const expected = [0x10, 0x11, 0x12, 0x13].slice(0, size);
      assert.deepEqual([...h.run.subarray(DATA_OFFSET, DATA_OFFSET + size)], expected);
      assert.equal(h.run[DATA_OFFSET + size], 0xee, "nothing past the access is touched");
      assert.deepEqual(h.log, [`port r@1/${size}`]);
      assert.deepEqual([...h.stats.portReads], [[0x501, 1]]);
    });
  }
});

Deno.test("ExitDispatcher answers an unclaimed IN with all ones and counts it", () => {
  const h = harness();
  h.io(KVM_EXIT_IO_IN, 4, 0x600, 1);
  h.dispatcher.dispatch(KVM_EXIT_IO);
  assert.equal(UNCLAIMED_READ_BYTE, 0xff);
  assert.equal(hex(h.run.subarray(DATA_OFFSET, DATA_OFFSET + 4)), "ff ff ff ff");
  h.io(KVM_EXIT_IO_OUT, 2, 0x600, 1);
  h.dispatcher.dispatch(KVM_EXIT_IO);
  assert.equal(h.stats.unclaimedPort, 2);
  assert.deepEqual(h.log, []);
});

Deno.test("ExitDispatcher steps through string I/O one element at a time", async (t) => {
  await t.step("OUTS of 3 words hands each word to the device in order", () => {
    const h = harness();
    h.io(KVM_EXIT_IO_OUT, 2, 0x500, 3);
    h.run.set([1, 2, 3, 4, 5, 6], DATA_OFFSET);
    h.dispatcher.dispatch(KVM_EXIT_IO);
    assert.deepEqual(h.log, ["port w@0=1 2", "port w@0=3 4", "port w@0=5 6"]);
    assert.deepEqual([...h.stats.portWrites], [[0x500, 3]], "each element counts");
  });
  await t.step("INS of 4 bytes fills 4 consecutive bytes", () => {
    const h = harness();
    h.io(KVM_EXIT_IO_IN, 1, 0x500, 4);
    h.dispatcher.dispatch(KVM_EXIT_IO);
    assert.equal(hex(h.run.subarray(DATA_OFFSET, DATA_OFFSET + 5)), "10 11 12 13 0");
    assert.equal(h.log.length, 4);
    assert.deepEqual([...h.stats.portReads], [[0x500, 4]]);
  });
  await t.step("INS of 2 dwords from an unclaimed port fills 8 bytes of 0xff", () => {
    const h = harness();
    h.io(KVM_EXIT_IO_IN, 4, 0x70, 2);
    h.dispatcher.dispatch(KVM_EXIT_IO);
    assert.equal(hex(h.run.subarray(DATA_OFFSET, DATA_OFFSET + 9)), "ff ff ff ff ff ff ff ff 0");
    assert.equal(h.stats.unclaimedPort, 2);
  });
});

Deno.test("ExitDispatcher performs MMIO writes and reads of 1, 2, 4 and 8 bytes", async (t) => {
  for (const len of [1, 2, 4, 8]) {
    await t.step(`write of ${len}`, () => {
      const h = harness();
      const data = [0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8].slice(0, len);
      h.mmioExit(0xd000_0010, data, true);
      assert.equal(h.dispatcher.dispatch(KVM_EXIT_MMIO), null);
      assert.deepEqual(h.log, [`mmio w@16=${data.map((b) => b.toString(16)).join(" ")}`]);
      assert.deepEqual([...h.stats.mmioWrites], [[0xd000_0010, 1]]);
    });
    await t.step(`read of ${len}`, () => {
      const h = harness();
      h.mmioExit(0xd000_0ff8, new Array(len).fill(0xcc), false);
      assert.equal(h.dispatcher.dispatch(KVM_EXIT_MMIO), null);
      const expected = [0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17].slice(0, len);
      assert.deepEqual([...h.run.subarray(KVM_RUN.mmio_data, KVM_RUN.mmio_data + len)], expected);
      assert.deepEqual(h.log, [`mmio r@4088/${len}`]);
      assert.deepEqual([...h.stats.mmioReads], [[0xd000_0ff8, 1]]);
    });
  }
});

Deno.test("ExitDispatcher answers unclaimed MMIO reads with all ones and ignores writes", () => {
  const h = harness();
  h.mmioExit(0xe000_0000, [0, 0, 0, 0], false);
  h.dispatcher.dispatch(KVM_EXIT_MMIO);
  assert.equal(hex(h.run.subarray(KVM_RUN.mmio_data, KVM_RUN.mmio_data + 5)), "ff ff ff ff 0");
  h.mmioExit(0xe000_0000, [1, 2], true);
  h.dispatcher.dispatch(KVM_EXIT_MMIO);
  assert.equal(h.stats.unclaimedMmio, 2);
  assert.deepEqual(h.log, []);
});
