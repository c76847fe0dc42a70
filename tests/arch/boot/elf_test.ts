/**
 * Tests of the ELF vmlinux loader on synthetic ELF64 files: segments copied and zeroed, the
 * entry translated, the Xen PVH note found, and every error.
 * @module
 */

import assert from "node:assert/strict";
import { findPvhEntry, loadElf } from "../../../lib/arch/x86_64/boot/elf.ts";
import { KERNEL_VBASE, le, makeElf, note, sampleVmlinux } from "./_fixtures.ts";

const MiB = 1024 * 1024;

/** Guest RAM filled with 0xcc, so that zeroing and untouched bytes show. */
function ram(size = 4 * MiB): Uint8Array {
  return new Uint8Array(size).fill(0xcc);
}

const text = new Uint8Array(0x100).fill(0x90);

Deno.test("elf: loading a vmlinux", async (t) => {
  await t.step("copies p_filesz bytes to p_paddr and zeroes up to p_memsz", () => {
    const file = sampleVmlinux();
    const memory = ram();
    const k = loadElf(memory, file);
    assert.deepEqual(k, { kind: "elf", entry64: 0x100000, pvhEntry: 0x100040, loadEnd: 0x103800 });
    const expectedText = new Uint8Array(0x1000).map((_, i) => (i * 7 + 1) & 0xff);
    assert.deepEqual(memory.subarray(0x100000, 0x101000), expectedText);
    assert.ok(memory.subarray(0x101000, 0x102000).every((b) => b === 0xcc), "gap untouched");
    assert.ok(memory.subarray(0x102000, 0x102800).every((b) => b === 0xdd), "data copied");
    assert.ok(memory.subarray(0x102800, 0x103800).every((b) => b === 0), "bss zeroed");
    assert.equal(memory[0x103800], 0xcc, "nothing past p_memsz");
    assert.ok(memory.subarray(0, 0x100000).every((b) => b === 0xcc), "PT_NOTE not loaded");
  });

  await t.step("with zeroed: true the bytes past p_filesz are not written", () => {
    const memory = ram();
    loadElf(memory, sampleVmlinux(), { zeroed: true });
    assert.ok(memory.subarray(0x102000, 0x102800).every((b) => b === 0xdd), "data copied");
    assert.ok(memory.subarray(0x102800, 0x103800).every((b) => b === 0xcc), "bss left alone");
  });

  await t.step("a u32 PHYS32_ENTRY descriptor (older kernels) is read too", () => {
    assert.equal(loadElf(ram(), sampleVmlinux(4)).pvhEntry, 0x100040);
  });

  await t.step("a virtual e_entry maps to p_paddr through its executable segment", () => {
    const file = makeElf({
      entry: KERNEL_VBASE + 0x10n,
      segments: [{ vaddr: KERNEL_VBASE, paddr: 0x200000, data: text }],
    });
    assert.equal(loadElf(ram(), file).entry64, 0x200010);
  });

  await t.step("a physical e_entry (Linux's phys_startup_64) is kept", () => {
    const file = makeElf({
      entry: 0x200020n,
      segments: [
        { vaddr: 0n, paddr: 0x300000, data: text, flags: 6 }, // like .data..percpu at vaddr 0
        { vaddr: KERNEL_VBASE, paddr: 0x200000, data: text },
      ],
    });
    assert.equal(loadElf(ram(), file).entry64, 0x200020);
  });

  await t.step("without a PVH note there is no pvhEntry", () => {
    const file = makeElf({
      entry: 0x200000n,
      segments: [
        { vaddr: KERNEL_VBASE, paddr: 0x200000, data: text },
        { type: 4, vaddr: 0n, paddr: 0, data: note("Xen", 6, le(0, 4)) },
      ],
    });
    const k = loadElf(ram(), file);
    assert.equal("pvhEntry" in k, false);
    assert.equal(findPvhEntry(file), undefined);
  });

  await t.step("the PVH note is found in a SHT_NOTE section when there is no PT_NOTE", () => {
    const file = makeElf({
      entry: 0x200000n,
      segments: [{ vaddr: KERNEL_VBASE, paddr: 0x200000, data: text }],
      sectionNotes: new Uint8Array([
        ...note("Linux", 18, le(0x1234, 4)), // same type, other owner: not it
        ...note("Xen", 18, le(0x200100, 8)),
      ]),
    });
    assert.equal(findPvhEntry(file), 0x200100);
  });

  await t.step("the owner must be exactly Xen; NULs after it (a padded namesz) are allowed", () => {
    const withNotes = (...notes: Uint8Array[]) =>
      makeElf({
        entry: 0x200000n,
        segments: [{ vaddr: KERNEL_VBASE, paddr: 0x200000, data: text }],
        sectionNotes: new Uint8Array(notes.flatMap((n) => [...n])),
      });
    const others = [note("Xe", 18, le(0x1, 4)), note("Xenix", 18, le(0x2, 4))];
    assert.equal(findPvhEntry(withNotes(...others)), undefined);
    assert.equal(findPvhEntry(withNotes(...others, note("Xen\0\0\0\0", 18, le(0x3, 4)))), 3);
  });
});

Deno.test("elf: errors", async (t) => {
  const good = {
    entry: 0x200000n,
    segments: [{ vaddr: KERNEL_VBASE, paddr: 0x200000, data: text }],
  };
  const fails = (file: Uint8Array, message: string | RegExp, memory = ram()) =>
    assert.throws(() => loadElf(memory, file), typeof message === "string" ? { message } : message);

  await t.step("header checks", () => {
    fails(
      new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1]),
      "truncated ELF: the file is 6 bytes, the ELF64 header needs 64",
    );
    fails(makeElf({ ...good, class: 1 }), "not a 64-bit ELF (EI_CLASS 1, expected 2)");
    fails(makeElf({ ...good, data: 2 }), "not a little-endian ELF (EI_DATA 2, expected 1)");
    fails(makeElf({ ...good, machine: 3 }), "ELF machine is 3, expected EM_X86_64 (62)");
    fails(makeElf({ ...good, type: 3 }), "ELF type is 3, expected ET_EXEC (2)");
    fails(makeElf({ ...good, phentsize: 32 }), "ELF program header size is 32, expected 56");
    fails(new Uint8Array(64), "not an ELF file (no 7f 45 4c 46 magic)");
  });

  await t.step("truncated program headers and segment data", () => {
    const five = makeElf({ ...good, segments: Array(5).fill(good.segments[0]) });
    fails(
      five.slice(0, 64 + 3 * 56 + 10),
      "truncated ELF: program header 3 lies past the end of the file",
    );
    const file = makeElf(good);
    fails(
      file.slice(0, file.length - 1),
      "truncated ELF: segment 0 (file bytes 0x80-0x180) lies past the end of the file (383 bytes)",
    );
  });

  await t.step("segment sizes, placement and entry", () => {
    fails(
      makeElf({ ...good, segments: [{ ...good.segments[0], memsz: 0x80 }] }),
      "ELF segment 0 has p_filesz 0x100 larger than p_memsz 0x80",
    );
    fails(
      makeElf({ ...good, segments: [{ ...good.segments[0], type: 4 }] }),
      "ELF has no PT_LOAD segment",
    );
    fails(
      makeElf({ ...good, segments: [{ ...good.segments[0], memsz: 4 * MiB }] }),
      "kernel does not fit in guest RAM: ELF segment 0 needs [0x200000, 0x600000), guest RAM is 4 MiB",
    );
    fails(makeElf({ ...good, entry: 0x123n }), "ELF entry point 0x123 lies in no PT_LOAD segment");
    fails(
      makeElf({ ...good, entry: 0x7000n, segments: [{ ...good.segments[0], paddr: 0x7000 }] }),
      "ELF segment 0 starts at 0x7000, below 1 MiB, where microvmm puts the boot structures " +
        "(zero page, page tables, command line, MP table)",
    );
  });

  await t.step("notes and section headers past the end of the file", () => {
    const notes = { type: 4, vaddr: 0n, paddr: 0, data: text, offset: 0x10000 };
    fails(
      makeElf({ ...good, segments: [...good.segments, notes] }),
      "truncated ELF: notes at 0x10000+0x100 lie past the end",
    );
    const file = makeElf({ ...good, sectionNotes: note("GNU", 3, new Uint8Array(20)) });
    fails(
      file.slice(0, file.length - 8),
      "truncated ELF: section header 1 lies past the end of the file",
    );
  });

  await t.step("a malformed PHYS32_ENTRY note", () => {
    const withNote = (desc: Uint8Array) =>
      makeElf({
        ...good,
        segments: [...good.segments, { type: 4, vaddr: 0n, paddr: 0, data: note("Xen", 18, desc) }],
      });
    fails(
      withNote(new Uint8Array(2)),
      "XEN_ELFNOTE_PHYS32_ENTRY has a 2-byte value, expected 4 or 8",
    );
    fails(withNote(le(2 ** 32, 8)), "PVH entry 0x100000000 is above 4 GiB");
  });

  await t.step("a note whose size would pad to a negative number in 32-bit maths", () => {
    // namesz 0xfffffff0: `(n + 3) & ~3` gives -16, the walk would step back onto the same
    // note forever. The note's name cannot fit, so the walk ends: no PVH entry, no hang.
    const notes = new Uint8Array(16);
    const view = new DataView(notes.buffer);
    view.setUint32(0, 0xfffffff0, true);
    view.setUint32(4, 4, true);
    const file = makeElf({
      ...good,
      segments: [...good.segments, { type: 4, vaddr: 0n, paddr: 0, data: notes }],
    });
    assert.equal(findPvhEntry(file), undefined);
    assert.equal(loadElf(ram(), file).pvhEntry, undefined);
  });
});
