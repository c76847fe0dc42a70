/**
 * The Vm API runs each mode's hello guest with output captured byte-exact, and reports the
 * registers the guest stopped with; on kvm-pvm hosts paged mode is refused instead.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type CpuMode, KvmUnsupportedError, Vm } from "../../mod.ts";

const guest = (name: string) =>
  Deno.readFileSync(new URL(`../../guests/${name}.bin`, import.meta.url));

/**
 * kvm-pvm (nested PVM) supports paging only in long mode: it drops CR0.PG of a 32-bit guest,
 * and the Vm refuses to start one rather than run it unpaged.
 */
const IS_PVM = (() => {
  try {
    Deno.statSync("/sys/module/kvm_pvm");
    return true;
  } catch {
    return false;
  }
})();

/** A Vm in `mode` whose console output is copied into `bytes`. */
function capturing(mode: CpuMode) {
  const bytes: number[] = [];
  const vm = new Vm({ mode, output: (chunk) => bytes.push(...chunk) });
  return { vm, bytes, text: () => new TextDecoder().decode(new Uint8Array(bytes)) };
}

/** Mode, guest, expected output, RIP after its HLT. */
const HELLOS: [CpuMode, string, string, bigint][] = [
  ["real", "hello", "Hello\n", 0x1019n],
  ["protected", "hello_protected", "Hello from protected mode\n", 0x101dn],
  ["paged", "hello_paged", "Hello from paged mode\n", 0x102en],
  ["long", "hello_long", "Hello from long mode\n", 0x102fn],
];

Deno.test("Vm runs the hello guest of every mode and captures its output byte-exact", async (t) => {
  for (const [mode, name, expected, rip] of HELLOS) {
    if (mode === "paged" && IS_PVM) {
      await t.step(`${mode}: refused with KvmUnsupportedError on this kvm-pvm host`, () => {
        const { vm, bytes } = capturing(mode);
        using _ = vm;
        vm.load(guest(name));
        assert.throws(() => vm.run(), {
          name: "KvmUnsupportedError",
          message: "Cannot start guest in paged mode: this KVM dropped CR0.PG (kvm-pvm " +
            "supports paging only in long mode)",
        });
        assert.throws(() => vm.run(), KvmUnsupportedError, "and again on a second try");
        assert.deepEqual(bytes, [], "the guest never ran");
      });
      continue;
    }
    await t.step(`${mode}: ${JSON.stringify(expected)}`, () => {
      const { vm, bytes, text } = capturing(mode);
      using _ = vm;
      const image = guest(name);
      vm.load(image);
      const result = vm.run();
      assert.deepEqual(result.stop, { kind: "hlt" });
      assert.equal(result.status, 0);
      assert.equal(text(), expected);
      assert.deepEqual(bytes, [...new TextEncoder().encode(expected)]);
      const regs = vm.getRegs();
      assert.equal(regs.rip, rip, "RIP is just past the HLT");
      assert.equal(image[Number(regs.rip) - 0x1000 - 1], 0xf4, "the byte before RIP is HLT");
    });
  }
});

Deno.test("Vm.getRegs() and getSregs() after a run show the mode the guest ran in", async (t) => {
  await t.step("real: CS base 0, selector 0, 16-bit", () => {
    const { vm } = capturing("real");
    using _ = vm;
    vm.load(guest("hello"));
    vm.run();
    const regs = vm.getRegs();
    const sregs = vm.getSregs();
    assert.equal(regs.rip, 0x1019n);
    assert.equal(regs.rax & 0xffn, 0x0an, "AL holds the last byte written");
    assert.equal(sregs.cs.base, 0n);
    assert.equal(sregs.cs.selector, 0);
    assert.equal(sregs.cs.db, 0);
    assert.equal(sregs.cr0 & 1n, 0n, "CR0.PE clear");
  });
  await t.step("protected: flat 32-bit CS 0x08, GDT in the VMM area, stack restored", () => {
    const { vm } = capturing("protected");
    using _ = vm;
    vm.load(guest("hello_protected"));
    vm.run();
    const sregs = vm.getSregs();
    assert.deepEqual([sregs.cs.selector, sregs.cs.base, sregs.cs.db, sregs.cs.l], [8, 0n, 1, 0]);
    assert.equal(sregs.ds.selector, 0x10);
    assert.equal(sregs.cr0 & 0x80000001n, 1n, "PE set, PG clear");
    assert.deepEqual(sregs.gdt, { base: 0x1f0000n, limit: 23 });
    assert.equal(vm.getRegs().rsp, 0x1f0000n, "CALL/RET left the stack where it started");
  });
  await t.step("long: 64-bit CS, EFER.LMA and LME, CR3 at the tables", () => {
    const { vm } = capturing("long");
    using _ = vm;
    vm.load(guest("hello_long"));
    vm.run();
    const sregs = vm.getSregs();
    assert.deepEqual([sregs.cs.selector, sregs.cs.l, sregs.cs.db], [8, 1, 0]);
    assert.equal(sregs.efer & 0x500n, 0x500n);
    assert.equal(sregs.cr0 & 0x80000001n, 0x80000001n);
    assert.equal(sregs.cr3, 0x1f1000n);
    assert.equal(sregs.cr4 & 0x20n, 0x20n, "CR4.PAE");
  });
});

Deno.test("Vm.setRegs() after a run restarts the guest where RIP says", () => {
  const { vm, text } = capturing("real");
  using _ = vm;
  vm.load(guest("hello"));
  vm.run();
  vm.setRegs({ ...vm.getRegs(), rip: 0x1000n });
  const again = vm.run();
  assert.deepEqual(again.stop, { kind: "hlt" });
  assert.equal(text(), "Hello\nHello\n");
  assert.equal(again.exits.byReason.get(5), 2, "two HLT exits over both runs");
});

Deno.test("Vm.entry chooses where a guest of several images starts", () => {
  const { vm, text } = capturing("real");
  using _ = vm;
  vm.load(guest("hello"));
  vm.load(guest("hlt_only"), 0x2000);
  assert.equal(vm.entry, 0x1000, "the first load sets the entry");
  assert.deepEqual(vm.memory.read(0x2000, 2), Uint8Array.of(0xf4, 0x00));
  vm.entry = 0x2000;
  assert.deepEqual(vm.run().stop, { kind: "hlt" });
  assert.equal(text(), "", "hello never ran");
  assert.equal(vm.getRegs().rip, 0x2001n);
});

Deno.test("registers read and changed before the first run are the ones the guest starts with", async (t) => {
  // out 0xf4, al; hlt: the exit port ends the run with status AL, the same bytes in every mode.
  for (const mode of ["real", "protected", "long"] as const) {
    await t.step(mode, () => {
      using vm = new Vm({ mode, output: () => {} });
      vm.load(Uint8Array.of(0xe6, 0xf4, 0xf4));
      const regs = vm.getRegs();
      assert.equal(regs.rip, 0x1000n, "the entry, not the reset vector");
      if (mode !== "real") assert.equal(vm.getSregs().cr0 & 1n, 1n, "CR0.PE already set");
      vm.setRegs({ ...regs, rax: 5n });
      const result = vm.run({ timeout: 5 });
      assert.deepEqual(result.stop, { kind: "exit-device", status: 5 });
      assert.equal(result.status, 5);
    });
  }
});
