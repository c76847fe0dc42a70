/**
 * Tests of the CPU mode setup: `vmmArea`, the register values and tables `setupMode` produces
 * for real, protected, paged and long mode, and every `checkFlatGuest` error text.
 *
 * @module
 */

import assert from "node:assert/strict";
import { KVM_REGS, KVM_SREGS } from "../../lib/kvm/abi.ts";
import { decodeRegs, decodeSregs, type Regs, type Sregs } from "../../lib/kvm/regs.ts";
import { flatSegment } from "../../lib/arch/x86_64/gdt.ts";
import {
  checkFlatGuest,
  type CpuMode,
  realModeSegment,
  setupMode,
  vmmArea,
} from "../../lib/arch/x86_64/modes.ts";

const MIB = 2 ** 20;
const GIB = 2 ** 30;

/** Registers as KVM hands them out at reset: zero, CS = f000:fff0 style, and RAM of `size`. */
function fresh(size = 2 * MIB) {
  const regs: Regs = decodeRegs(new Uint8Array(KVM_REGS.size));
  const sregs: Sregs = decodeSregs(new Uint8Array(KVM_SREGS.size));
  sregs.cs = { ...sregs.cs, selector: 0xf000, base: 0xffff0000n, limit: 0xffff, type: 0xb };
  const memory = new DataView(new ArrayBuffer(size));
  return { regs, sregs, memory };
}

Deno.test("vmmArea() is the top 64 KiB of RAM, or of the low 4 GiB", () => {
  assert.deepEqual(vmmArea(2 * MIB), { base: 0x1f0000, size: 0x10000 });
  assert.deepEqual(vmmArea(64 * 1024), { base: 0, size: 0x10000 });
  assert.deepEqual(vmmArea(4 * GIB), { base: 0xffff0000, size: 0x10000 });
  assert.deepEqual(vmmArea(8 * GIB), { base: 0xffff0000, size: 0x10000 });
});

Deno.test("setupMode('real') enters at CS:IP with RFLAGS 2 and touches no memory", async (t) => {
  await t.step("entry 0x1000: CS 0000, IP 0x1000", () => {
    const { regs, sregs, memory } = fresh();
    setupMode("real", memory, 2 * MIB, 0x1000, sregs, regs);
    assert.equal(sregs.cs.selector, 0);
    assert.equal(sregs.cs.base, 0n);
    assert.equal(regs.rip, 0x1000n);
    assert.equal(regs.rflags, 2n);
    assert.equal(sregs.cr0, 0n);
    assert.ok(new Uint8Array(memory.buffer).every((b) => b === 0));
  });
  await t.step("entry 0x12345: CS 1000 (base 0x10000), IP 0x2345", () => {
    const { regs, sregs, memory } = fresh();
    setupMode("real", memory, 2 * MIB, 0x12345, sregs, regs);
    assert.equal(sregs.cs.selector, 0x1000);
    assert.equal(sregs.cs.base, 0x10000n);
    assert.equal(regs.rip, 0x2345n);
  });
});

/** Runs setupMode for `mode` in 2 MiB of RAM at entry 0x1000. */
function setUp(mode: CpuMode) {
  const state = fresh();
  setupMode(mode, state.memory, 2 * MIB, 0x1000, state.sregs, state.regs);
  return state;
}

Deno.test("setupMode() for the 32- and 64-bit modes sets the control registers", async (t) => {
  const cases: [CpuMode, bigint, bigint, bigint, bigint][] = [
    // mode, CR0, CR3, CR4, EFER
    ["protected", 0x31n, 0n, 0n, 0n],
    ["paged", 0x80000031n, 0x1f1000n, 0x10n, 0n],
    ["long", 0x80000031n, 0x1f1000n, 0x20n, 0x500n],
  ];
  for (const [mode, cr0, cr3, cr4, efer] of cases) {
    await t.step(mode, () => {
      const { regs, sregs, memory } = setUp(mode);
      assert.deepEqual([sregs.cr0, sregs.cr3, sregs.cr4, sregs.efer], [cr0, cr3, cr4, efer]);
      assert.deepEqual(sregs.cs, flatSegment(mode === "long" ? "code64" : "code32"));
      for (const name of ["ds", "es", "fs", "gs", "ss"] as const) {
        assert.deepEqual(sregs[name], flatSegment("data"), name);
      }
      assert.deepEqual(sregs.gdt, { base: 0x1f0000n, limit: 23 });
      assert.deepEqual(sregs.idt, { base: 0n, limit: 0 });
      assert.equal(regs.rip, 0x1000n);
      assert.equal(regs.rsp, 0x1f0000n, "the stack grows down from the VMM area");
      assert.equal(regs.rflags, 2n);
      const code = mode === "long" ? 0x00af9b000000ffffn : 0x00cf9b000000ffffn;
      assert.equal(memory.getBigUint64(0x1f0000, true), 0n, "GDT null descriptor");
      assert.equal(memory.getBigUint64(0x1f0008, true), code, "GDT code descriptor");
      assert.equal(memory.getBigUint64(0x1f0010, true), 0x00cf93000000ffffn, "GDT data");
    });
  }
});

Deno.test("setupMode() writes the page tables CR3 points at", async (t) => {
  await t.step("protected: no tables", () => {
    const { memory } = setUp("protected");
    assert.equal(memory.getBigUint64(0x1f1000, true), 0n);
  });
  await t.step("paged: a 4 MiB-page directory", () => {
    const { memory } = setUp("paged");
    assert.equal(memory.getUint32(0x1f1000, true), 0x00000083);
    assert.equal(memory.getUint32(0x1f1000 + 4 * 1023, true), 0xffc00083);
  });
  await t.step("long: PML4, PDPT and 4 directories of 2 MiB pages", () => {
    const { memory } = setUp("long");
    assert.equal(memory.getBigUint64(0x1f1000, true), 0x1f2003n, "PML4[0]");
    assert.equal(memory.getBigUint64(0x1f2000, true), 0x1f3003n, "PDPT[0]");
    assert.equal(memory.getBigUint64(0x1f2000 + 24, true), 0x1f6003n, "PDPT[3]");
    assert.equal(memory.getBigUint64(0x1f3000, true), 0x83n, "PD0[0]");
    assert.equal(memory.getBigUint64(0x1f6000 + 8 * 511, true), 0xffe00083n, "PD3[511]");
  });
});

Deno.test("checkFlatGuest() accepts guests that fit", () => {
  checkFlatGuest("real", 2 * MIB, 0x1000, 25, 0x1000);
  checkFlatGuest("real", 2 * MIB, 0x1f0000, 16, 0x1000); // real mode has no VMM area
  checkFlatGuest("protected", 2 * MIB, 0x1000, 0x1ef000, 0x1000); // ends right below the area
  checkFlatGuest("long", 13 * GIB, 0x1000, 1, 0x1000); // 13 directories fill the area
  checkFlatGuest("protected", 8 * GIB, 0x1000, 1, 0xfffeffff);
});

Deno.test("checkFlatGuest() rejects guests that do not fit, saying why", async (t) => {
  const cases: [string, () => void, string][] = [
    [
      "an image past the end of RAM",
      () => checkFlatGuest("real", 64 * 1024, 0xfffe, 4, 0xfffe),
      "Cannot load guest: 4 bytes at 0xfffe do not fit in 65536 bytes of RAM",
    ],
    [
      "an entry outside RAM",
      () => checkFlatGuest("long", 2 * MIB, 0x1000, 1, 0x200000),
      "Cannot start guest: entry 0x200000 is outside RAM (2097152 bytes)",
    ],
    [
      "a real-mode entry above 1 MiB",
      () => checkFlatGuest("real", 2 * MIB, 0x100000, 1, 0x100000),
      "Cannot start guest: entry 0x100000 is above 1 MiB, out of reach in real mode",
    ],
    [
      "an image overlapping the VMM area",
      () => checkFlatGuest("protected", 2 * MIB, 0x1ef000, 0x1001, 0x1000),
      "Cannot load guest: 0x1ef000-0x1f0000 overlaps the VMM area 0x1f0000-0x1fffff (GDT, " +
      "page tables, stack); use a smaller image, a lower --load or more --mem",
    ],
    [
      "more RAM than the long-mode tables can map",
      () => checkFlatGuest("long", 14 * GIB, 0x1000, 1, 0x1000),
      "Cannot map 15032385536 bytes of RAM in long mode: at most 13 GiB",
    ],
    [
      "a 32-bit entry above 4 GiB",
      () => checkFlatGuest("paged", 8 * GIB, 0x1_0000_0000, 1, 0x1_0000_0000),
      "Cannot start guest: entry 0x100000000 is above 4 GiB in 32-bit mode",
    ],
  ];
  for (const [what, check, message] of cases) {
    await t.step(what, () => assert.throws(check, { name: "ConfigError", message }));
  }
});

Deno.test("realModeSegment() keeps an image that crosses 64 KiB in one segment", async (t) => {
  await t.step("the classic place: CS 0", () => {
    assert.equal(realModeSegment(0x1000, { address: 0x1000, length: 25 }), 0);
  });
  await t.step("an image crossing 0xa0000 gets the paragraph it starts at", () => {
    assert.equal(realModeSegment(0x9fff0, { address: 0x9fff0, length: 25 }), 0x9fff0);
  });
  await t.step("an image holding the entry but larger than 64 KiB is refused", () => {
    assert.throws(
      () => realModeSegment(0x30000, { address: 0x10000, length: 0x20100 }),
      new RegExp(
        "Cannot start guest in real mode: the image 0x10000-0x300ff and entry 0x30000 " +
          "do not fit in one 64 KiB segment",
      ),
    );
  });
  await t.step("an image not holding the entry (data) does not move CS", () => {
    assert.equal(realModeSegment(0x1000, { address: 0x1f0000, length: 16 }), 0);
  });
});
