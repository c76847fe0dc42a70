/**
 * The Vm API's errors, with their exact texts: bad options, bad images, handlers where they
 * cannot go, use after dispose, and a missing KVM device.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ConfigError, type CpuMode, KvmError, Vm } from "../../mod.ts";

const HLT = Uint8Array.of(0xf4);

Deno.test("new Vm() rejects bad options with a ConfigError", async (t) => {
  const cases: [string, () => unknown, string][] = [
    [
      "an unknown mode",
      () => new Vm({ mode: "smm" as CpuMode }),
      'mode: unknown CPU mode "smm" (use real, protected, paged, long)',
    ],
    [
      "too little memory",
      () => new Vm({ memory: 4096 }),
      "memory: 4096 bytes is too small (at least 64K)",
    ],
    [
      "too little memory as text",
      () => new Vm({ memory: "32K" }),
      "memory: 32768 bytes is too small (at least 64K)",
    ],
    [
      "a size that is not one",
      () => new Vm({ memory: "lots" }),
      'memory: "lots" is not a size (use e.g. 2M, 64M, 1G)',
    ],
  ];
  for (const [what, create, message] of cases) {
    await t.step(what, () => {
      assert.throws(create, ConfigError);
      assert.throws(create, { name: "ConfigError", message });
    });
  }
  await t.step("a size that is not a page multiple is rounded up", () => {
    using vm = new Vm({ memory: 65537, output: () => {} });
    assert.equal(vm.memory.size, 65536 + 4096);
  });
});

Deno.test("new Vm({ kvmPath: '/nonexistent' }) throws a KvmError naming the open", () => {
  assert.throws(() => new Vm({ kvmPath: "/nonexistent" }), (error: unknown) => {
    assert.ok(error instanceof KvmError);
    assert.equal(error.message, "open /nonexistent failed: ENOENT (No such file or directory)");
    assert.equal(error.call, "open /nonexistent");
    assert.equal(error.errno, 2);
    return true;
  });
});

Deno.test("Vm.load() rejects images that cannot run", async (t) => {
  await t.step("an empty image", () => {
    using vm = new Vm({ output: () => {} });
    assert.throws(() => vm.load(new Uint8Array(0)), {
      name: "ConfigError",
      message: "Cannot load guest: the image is empty",
    });
    assert.equal(vm.entry, undefined, "a failed load sets no entry");
  });
  await t.step("an image past the end of RAM", () => {
    using vm = new Vm({ memory: "64K", output: () => {} });
    assert.throws(() => vm.load(new Uint8Array(4), 0xfffe), {
      name: "ConfigError",
      message: "Cannot load guest: 4 bytes at 0xfffe do not fit in 65536 bytes of RAM",
    });
  });
  await t.step("an image overlapping the VMM area in protected mode", () => {
    using vm = new Vm({ mode: "protected", output: () => {} });
    vm.load(HLT);
    assert.throws(() => vm.load(new Uint8Array(0x20), 0x1efff0), {
      name: "ConfigError",
      message: "Cannot load guest: 0x1efff0-0x1f000f overlaps the VMM area 0x1f0000-0x1fffff " +
        "(GDT, page tables, stack); use a smaller image, a lower --load or more --mem",
    });
    assert.deepEqual(vm.memory.read(0x1efff0, 16), new Uint8Array(16), "nothing was copied");
  });
  await t.step("a real-mode entry above 1 MiB", () => {
    using vm = new Vm({ output: () => {} });
    assert.throws(() => vm.load(HLT, 0x100000), {
      name: "ConfigError",
      message: "Cannot start guest: entry 0x100000 is above 1 MiB, out of reach in real mode",
    });
  });
});

Deno.test("handlers cannot go on guest RAM or on another device's ports", async (t) => {
  using vm = new Vm({ output: () => {} });
  await t.step("addMmioHandler() on RAM", () => {
    assert.throws(() => vm.addMmioHandler(0x1000, 16, {}), {
      name: "ConfigError",
      message: "Cannot add MMIO handler at 0x1000: that is guest RAM",
    });
    assert.throws(() => vm.addMmioHandler(0x1ffffc, 16, {}), {
      message: "Cannot add MMIO handler at 0x1ffffc: that is guest RAM",
    });
    vm.addMmioHandler(0x200000, 16, {}); // the first byte past RAM is free
  });
  await t.step("addPortHandler() over COM1 names COM1", () => {
    assert.throws(() => vm.addPortHandler(0x3f8, 1, {}), {
      name: "Error",
      message: "Cannot insert port handler 0x3f8 at port 0x3f8-0x3f8: it overlaps COM1 at " +
        "0x3f8-0x3ff",
    });
  });
  await t.step("addPortHandler() over another handler", () => {
    vm.addPortHandler(0x500, 4, {});
    assert.throws(() => vm.addPortHandler(0x4ff, 2, {}), {
      message: "Cannot insert port handler 0x4ff at port 0x4ff-0x500: it overlaps port " +
        "handler 0x500 at 0x500-0x503",
    });
  });
  await t.step("addMmioHandler() over another handler", () => {
    vm.addMmioHandler(0xd000_0000, 0x1000, {});
    assert.throws(() => vm.addMmioHandler(0xd000_0800, 8, {}), {
      message: "Cannot insert MMIO handler 0xd0000800 at MMIO 0xd0000800-0xd0000807: it " +
        "overlaps MMIO handler 0xd0000000 at 0xd0000000-0xd0000fff",
    });
  });
});

Deno.test("every Vm method throws after dispose, and dispose twice is fine", async (t) => {
  const vm = new Vm({ output: () => {} });
  vm.load(HLT);
  vm.run();
  vm[Symbol.dispose]();
  vm[Symbol.dispose]();
  const regs = { rip: 0n } as Parameters<Vm["setRegs"]>[0];
  const cases: [string, string, () => unknown][] = [
    ["load()", "load a guest", () => vm.load(HLT)],
    ["addPortHandler()", "add a port handler", () => vm.addPortHandler(0x500, 1, {})],
    ["addMmioHandler()", "add an MMIO handler", () => vm.addMmioHandler(0xd000_0000, 1, {})],
    ["run()", "run", () => vm.run()],
    ["getRegs()", "read registers", () => vm.getRegs()],
    ["getSregs()", "read registers", () => vm.getSregs()],
    ["setRegs()", "write registers", () => vm.setRegs(regs)],
    ["crashReport()", "read registers", () => vm.crashReport({ kind: "hlt" })],
  ];
  for (const [method, action, call] of cases) {
    await t.step(`${method}: "Cannot ${action}: the VM was disposed"`, () => {
      assert.throws(call, { name: "Error", message: `Cannot ${action}: the VM was disposed` });
    });
  }
  await t.step("runAsync() rejects", async () => {
    await assert.rejects(vm.runAsync(), { message: "Cannot run: the VM was disposed" });
  });
});

Deno.test("a Vm that was never run disposes cleanly", () => {
  const vm = new Vm({ output: () => {} });
  vm[Symbol.dispose]();
  assert.throws(() => vm.run(), { message: "Cannot run: the VM was disposed" });
});
