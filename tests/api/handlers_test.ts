/**
 * Port and MMIO handlers through the Vm API: the accesses the io_sizes, mmio and string_io
 * guests make, unclaimed accesses, and handlers that stop the VM with exit() or abort().
 *
 * @module
 */

import assert from "node:assert/strict";
import { type CpuMode, type IoHandler, Vm } from "../../mod.ts";
import { EXIT_REASONS } from "../../lib/kvm/abi.ts";

const guest = (name: string) =>
  Deno.readFileSync(new URL(`../../guests/${name}.bin`, import.meta.url));
const hex = (bytes: number[]) => bytes.map((b) => b.toString(16).padStart(2, "0")).join(" ");

/** A Vm in `mode` whose output is copied into `bytes`. */
function capturing(mode: CpuMode = "real") {
  const bytes: number[] = [];
  const vm = new Vm({ mode, output: (chunk) => bytes.push(...chunk) });
  return { vm, bytes };
}

/** A handler that logs accesses as "w off=0x.. /size" and "r off /size", reading `values[size]`. */
function logging(log: string[], values: Record<number, number>, onWrite?: () => void): IoHandler {
  return {
    write(offset, value, size) {
      log.push(`w ${offset}=0x${value.toString(16)}/${size}`);
      onWrite?.();
    },
    read(offset, size) {
      log.push(`r ${offset}/${size}`);
      return values[size];
    },
  };
}

const IO_VALUES = { 1: 0x11, 2: 0x2233, 4: 0x44556677 };
const IO_LOG = ["w 0=0x11/1", "w 0=0x2233/2", "w 0=0x44556677/4", "r 0/1", "r 0/2", "r 0/4"];

Deno.test("addPortHandler() sees io_sizes' writes and reads of sizes 1, 2 and 4", () => {
  const { vm, bytes } = capturing();
  using _ = vm;
  const log: string[] = [];
  vm.addPortHandler(0x500, 1, logging(log, IO_VALUES));
  vm.load(guest("io_sizes"));
  const result = vm.run();
  assert.deepEqual(result.stop, { kind: "hlt" });
  assert.deepEqual(log, IO_LOG);
  assert.equal(hex(bytes), "11 33 22 77 66 55 44");
  assert.equal(result.exits.portWrites.get(0x500), 3);
  assert.equal(result.exits.portReads.get(0x500), 3);
  assert.equal(result.exits.unclaimedPort, 0);
});

Deno.test("addPortHandler() passes the offset inside a multi-port range", () => {
  const { vm } = capturing();
  using _ = vm;
  const log: string[] = [];
  vm.addPortHandler(0x4fe, 4, logging(log, IO_VALUES));
  vm.load(guest("io_sizes"));
  vm.run();
  assert.deepEqual(log, IO_LOG.map((line) => line.replace(" 0", " 2")));
});

Deno.test("a port handler without read or write reads all ones and ignores writes", () => {
  const { vm, bytes } = capturing();
  using _ = vm;
  vm.addPortHandler(0x500, 1, {});
  vm.load(guest("io_sizes"));
  assert.deepEqual(vm.run().stop, { kind: "hlt" });
  assert.equal(hex(bytes), "ff ff ff ff ff ff ff");
  assert.equal(vm.exits.unclaimedPort, 0, "the port is claimed");
});

Deno.test("unclaimed ports read as all ones and are counted", () => {
  const { vm, bytes } = capturing();
  using _ = vm;
  vm.load(guest("io_sizes"));
  assert.deepEqual(vm.run().stop, { kind: "hlt" });
  assert.equal(hex(bytes), "ff ff ff ff ff ff ff");
  assert.equal(vm.exits.unclaimedPort, 6, "3 writes and 3 reads");
});

Deno.test("addMmioHandler() at 0xd0000000 sees the mmio guest's accesses", () => {
  const { vm, bytes } = capturing("protected");
  using _ = vm;
  const log: string[] = [];
  vm.addMmioHandler(0xd000_0000, 0x1000, logging(log, { 4: 0xcafef00d }));
  vm.load(guest("mmio"));
  const result = vm.run();
  assert.deepEqual(result.stop, { kind: "hlt" });
  assert.deepEqual(log, ["w 0=0x4d/1", "w 4=0x12345678/4", "r 8/4"]);
  assert.equal(hex(bytes), "0d f0 fe ca", "the returned value's 4 bytes, little-endian");
  assert.deepEqual([...result.exits.mmioWrites], [[0xd000_0000, 1], [0xd000_0004, 1]]);
  assert.deepEqual([...result.exits.mmioReads], [[0xd000_0008, 1]]);
});

Deno.test("8-byte MMIO values above 2^53 are exact through bigint reads and the write's bytes", () => {
  // mov rax, [0xd0000000]; mov [0xd0000008], rax; hlt (movabs with 64-bit addresses)
  const guest = Uint8Array.of(
    ...[0x48, 0xa1, 0x00, 0x00, 0x00, 0xd0, 0x00, 0x00, 0x00, 0x00],
    ...[0x48, 0xa3, 0x08, 0x00, 0x00, 0xd0, 0x00, 0x00, 0x00, 0x00],
    0xf4,
  );
  using vm = new Vm({ mode: "long", output: () => {} });
  const writes: [number, number, number, string][] = [];
  vm.addMmioHandler(0xd000_0000, 0x10, {
    read: (_offset, size) => (assert.equal(size, 8), 0x8000_0000_0000_0001n),
    write: (offset, value, size, bytes) => writes.push([offset, value, size, hex([...bytes])]),
  });
  vm.load(guest);
  assert.deepEqual(vm.run({ timeout: 10 }).stop, { kind: "hlt" });
  assert.equal(vm.getRegs().rax, 0x8000_0000_0000_0001n, "the bigint's exact value");
  assert.deepEqual(writes, [[8, 2 ** 63, 8, "01 00 00 00 00 00 00 80"]]);
});

Deno.test("unclaimed MMIO reads as ff ff ff ff and writes are dropped", () => {
  const { vm, bytes } = capturing("protected");
  using _ = vm;
  vm.load(guest("mmio"));
  assert.deepEqual(vm.run().stop, { kind: "hlt" });
  assert.equal(hex(bytes), "ff ff ff ff");
  assert.equal(vm.exits.unclaimedMmio, 3);
});

Deno.test("string I/O reaches the devices one element at a time", () => {
  const { vm, bytes } = capturing();
  using _ = vm;
  vm.load(guest("string_io"));
  assert.deepEqual(vm.run().stop, { kind: "hlt" });
  assert.equal(new TextDecoder().decode(new Uint8Array(bytes)), "String I/O works\ninsb ok\n");
  assert.equal(vm.exits.portWrites.get(0xf1), 25, "17 + 8 bytes out");
  assert.equal(vm.exits.portReads.get(0xe9), 4);
});

Deno.test("vm.exit(status) from a handler stops the VM right after that access", () => {
  const { vm, bytes } = capturing();
  using _ = vm;
  const log: string[] = [];
  vm.addPortHandler(0x500, 1, logging(log, IO_VALUES, () => vm.exit(7)));
  vm.load(guest("io_sizes"));
  const result = vm.run();
  assert.deepEqual(result.stop, { kind: "exit-device", status: 7 });
  assert.equal(result.status, 7);
  assert.deepEqual(log, ["w 0=0x11/1"], "nothing after the first write ran");
  assert.deepEqual(bytes, []);
});

Deno.test("abort() from a handler stops with status 130, and run() resumes the guest", () => {
  const { vm, bytes } = capturing();
  using _ = vm;
  const log: string[] = [];
  let writes = 0;
  vm.addPortHandler(0x500, 1, logging(log, IO_VALUES, () => writes++ === 1 && vm.abort()));
  vm.load(guest("io_sizes"));
  const first = vm.run();
  assert.deepEqual(first.stop, { kind: "aborted" });
  assert.equal(first.status, 130);
  assert.deepEqual(log, IO_LOG.slice(0, 2), "stopped after the second write");
  const second = vm.run();
  assert.deepEqual(second.stop, { kind: "hlt" });
  assert.deepEqual(log, IO_LOG, "every access exactly once");
  assert.equal(hex(bytes), "11 33 22 77 66 55 44");
});

Deno.test("the exit port stops the VM with the guest's status", () => {
  const { vm, bytes } = capturing();
  using _ = vm;
  vm.load(guest("exit_code"));
  const result = vm.run();
  assert.deepEqual(result.stop, { kind: "exit-device", status: 42 });
  assert.equal(result.status, 42);
  assert.equal(new TextDecoder().decode(new Uint8Array(bytes)), "exiting with 42\n");
  assert.equal(result.exits.byReason.get(5), undefined, "the HLT after the OUT never ran");
  assert.equal(vm.getRegs().rip, 0x1011n, "RIP is at that HLT, right after the OUT");
});

Deno.test("a handler's exception propagates out of run(), and run() continues the guest", () => {
  const { vm, bytes } = capturing();
  using _ = vm;
  const log: string[] = [];
  let writes = 0;
  vm.addPortHandler(
    0x500,
    1,
    logging(log, IO_VALUES, () => {
      if (++writes === 2) throw new Error("handler failed");
    }),
  );
  vm.load(guest("io_sizes"));
  assert.throws(() => vm.run(), { message: "handler failed" });
  assert.deepEqual(vm.run().stop, { kind: "hlt" });
  assert.deepEqual(log, IO_LOG, "the failed write is not repeated");
  assert.equal(hex(bytes), "11 33 22 77 66 55 44");
});

Deno.test("run() and dispose from inside a handler are refused", () => {
  const { vm } = capturing();
  using _ = vm;
  const errors: string[] = [];
  const attempt = (call: () => unknown) => {
    try {
      call();
    } catch (error) {
      errors.push((error as Error).message);
    }
  };
  vm.addPortHandler(0x500, 1, {
    write: () => {
      attempt(() => vm.run());
      attempt(() => vm[Symbol.dispose]());
    },
  });
  vm.load(guest("io_sizes"));
  assert.deepEqual(vm.run().stop, { kind: "hlt" });
  assert.deepEqual(errors.slice(0, 2), [
    "Cannot run: the VM is already running",
    "Cannot dispose the VM while it runs: abort() it first",
  ]);
  assert.equal(errors.length, 6, "refused at each of the three writes");
});

Deno.test("a stop in the middle of REP MOVS from MMIO loses no read: the next run handles it", async (t) => {
  // Completing the stopped access makes KVM ask at once for the next element's read; that
  // request used to be dropped, and the next run completed it with stale kvm_run data.
  // cld; mov esi, 0xd0000000; mov edi, 0x100000; mov ecx, 4; rep movsd; hlt
  const guest = Uint8Array.of(
    0xfc,
    0xbe,
    0x00,
    0x00,
    0x00,
    0xd0,
    0xbf,
    0x00,
    0x00,
    0x10,
    0x00,
    0xb9,
    0x04,
    0x00,
    0x00,
    0x00,
    0xf3,
    0xa5,
    0xf4,
  );
  for (const stopAt of [1, 2, 3, 4]) {
    await t.step(`vm.exit() on read ${stopAt}`, () => {
      using vm = new Vm({ mode: "long", memory: "2M", output: () => {} });
      const reads: number[] = [];
      vm.addMmioHandler(0xd000_0000, 0x10, {
        read: (offset) => {
          reads.push(offset);
          if (reads.length === stopAt) vm.exit(5);
          return 0x1111_1111 * (offset / 4 + 1);
        },
      });
      vm.load(guest);
      assert.deepEqual(vm.run({ timeout: 10 }).stop, { kind: "exit-device", status: 5 });
      assert.deepEqual(vm.run({ timeout: 10 }).stop, { kind: "hlt" });
      assert.deepEqual(reads, [0, 4, 8, 12]);
      const copied = new Uint32Array(vm.memory.read(0x100000, 16).buffer);
      assert.deepEqual([...copied], [0x1111_1111, 0x2222_2222, 0x3333_3333, 0x4444_4444]);
      assert.equal(vm.getRegs().rcx, 0n);
      assert.equal(vm.exits.byReason.get(EXIT_REASONS.KVM_EXIT_MMIO), 4, "each read one exit");
    });
  }
});
