/**
 * Tests of the address-range Bus: insertion order, overlap errors, lookup at range edges by
 * binary search, removal, and dispatch of reads and writes at device-relative offsets.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Bus } from "../../lib/vmm/bus.ts";
import type { BusDevice } from "../../lib/devices/device.ts";

/** A device that records its accesses as "r@offset/size" and "w@offset=bytes" strings. */
function recorder(log: string[], fill = 0): BusDevice {
  return {
    read(offset, data) {
      log.push(`r@${offset}/${data.length}`);
      data.fill(fill);
    },
    write(offset, data) {
      log.push(`w@${offset}=${[...data].join(",")}`);
    },
  };
}

const NOP: BusDevice = { read: () => {}, write: () => {} };

Deno.test("Bus.insert() keeps entries sorted by base whatever the insertion order", () => {
  const bus = new Bus("port");
  bus.insert(0x3f8, 8, "COM1", NOP);
  bus.insert(0x80, 1, "POST", NOP);
  bus.insert(0xe9, 1, "debugcon", NOP);
  bus.insert(0xf1, 1, "seed", NOP);
  assert.deepEqual(bus.entries.map((e) => [e.base, e.length, e.name]), [
    [0x80, 1, "POST"],
    [0xe9, 1, "debugcon"],
    [0xf1, 1, "seed"],
    [0x3f8, 8, "COM1"],
  ]);
  assert.equal(bus.kind, "port");
});

Deno.test("Bus.insert() rejects an overlapping range", async (t) => {
  const bus = new Bus("port");
  bus.insert(0x3f8, 8, "COM1", NOP);
  const cases: [string, number, number, string][] = [
    ["the same range", 0x3f8, 8, "0x3f8-0x3ff"],
    ["the first port", 0x3f0, 9, "0x3f0-0x3f8"],
    ["the last port", 0x3ff, 1, "0x3ff-0x3ff"],
    ["a range inside", 0x3fa, 2, "0x3fa-0x3fb"],
    ["a range around", 0x300, 0x200, "0x300-0x4ff"],
  ];
  for (const [what, base, length, range] of cases) {
    await t.step(`${what} (${range})`, () => {
      assert.throws(() => bus.insert(base, length, "new", NOP), {
        name: "Error",
        message: `Cannot insert new at port ${range}: it overlaps COM1 at 0x3f8-0x3ff`,
      });
    });
  }
  await t.step("the MMIO bus names its address space in the message", () => {
    const mmio = new Bus("MMIO");
    mmio.insert(0xd000_0000, 0x1000, "window", NOP);
    assert.throws(() => mmio.insert(0xd000_0fff, 2, "late", NOP), {
      message: "Cannot insert late at MMIO 0xd0000fff-0xd0001000: it overlaps window at " +
        "0xd0000000-0xd0000fff",
    });
  });
  await t.step("ranges that only touch are accepted", () => {
    bus.insert(0x3f0, 8, "below", NOP);
    bus.insert(0x400, 1, "above", NOP);
    assert.deepEqual(bus.entries.map((e) => e.name), ["below", "COM1", "above"]);
  });
});

Deno.test("Bus.insert() rejects bad ranges with a RangeError", async (t) => {
  const bus = new Bus("port");
  for (
    const [base, length] of [[-1, 1], [0, 0], [0, -4], [1.5, 1], [0, 2.5], [2 ** 53, 1]]
  ) {
    await t.step(`${base}+${length}`, () => {
      assert.throws(() => bus.insert(base, length, "bad", NOP), {
        name: "RangeError",
        message: `Cannot insert bad on the port bus: bad range ${base}+${length}`,
      });
    });
  }
  assert.equal(bus.entries.length, 0);
});

Deno.test("Bus.find() returns the entry at both edges of each range and nothing between", () => {
  const bus = new Bus("port");
  // Many ranges so the binary search goes several levels deep.
  for (let i = 0; i < 20; i++) bus.insert(i * 16, 4, `dev${i}`, NOP);
  for (let i = 0; i < 20; i++) {
    const base = i * 16;
    assert.equal(bus.find(base)?.name, `dev${i}`, `first port of dev${i}`);
    assert.equal(bus.find(base + 3)?.name, `dev${i}`, `last port of dev${i}`);
    assert.equal(bus.find(base + 4), undefined, `just past dev${i}`);
    assert.equal(bus.find(base + 15), undefined, `just before dev${i + 1}`);
  }
  assert.equal(bus.find(-1), undefined);
  assert.equal(bus.find(20 * 16), undefined);
  assert.equal(new Bus("port").find(0), undefined, "an empty bus finds nothing");
});

Deno.test("Bus.remove() takes out the device inserted at exactly that base", () => {
  const bus = new Bus("port");
  bus.insert(0x10, 4, "a", NOP);
  bus.insert(0x20, 4, "b", NOP);
  assert.equal(bus.remove(0x11), false, "an address inside a range is not its base");
  assert.equal(bus.remove(0x30), false);
  assert.equal(bus.remove(0x10), true);
  assert.equal(bus.find(0x10), undefined);
  assert.equal(bus.find(0x20)?.name, "b");
  assert.equal(bus.remove(0x10), false, "removing twice");
  bus.insert(0x10, 16, "a2", NOP);
  assert.deepEqual(bus.entries.map((e) => e.name), ["a2", "b"], "the range is free again");
});

Deno.test("Bus.read() and Bus.write() pass the offset inside the range and report claims", () => {
  const log: string[] = [];
  const bus = new Bus("port");
  bus.insert(0x3f8, 8, "COM1", recorder(log, 0x5a));
  const data = new Uint8Array(2);
  assert.equal(bus.read(0x3fd, data), true);
  assert.deepEqual([...data], [0x5a, 0x5a]);
  assert.equal(bus.write(0x3f8, Uint8Array.of(1, 2, 3, 4)), true);
  const untouched = Uint8Array.of(7);
  assert.equal(bus.read(0x2f8, untouched), false);
  assert.equal(untouched[0], 7, "an unclaimed read leaves the buffer to the caller");
  assert.equal(bus.write(0x400, Uint8Array.of(9)), false);
  assert.deepEqual(log, ["r@5/2", "w@0=1,2,3,4"]);
});
