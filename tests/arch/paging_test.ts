/**
 * Tests of the identity-mapping page tables: the 32-bit page directory of 4 MiB pages and the
 * 4-level tables of 2 MiB pages, entry by entry, with `pageTables64Size`.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  pageTables64Size,
  PTE_PAGE_SIZE,
  PTE_PRESENT,
  PTE_WRITABLE,
  writePageDirectory32,
  writePageTables64,
} from "../../lib/arch/x86_64/paging.ts";

const GIB = 2 ** 30;
const PAGE = 4096;

Deno.test("writePageDirectory32() maps 4 GiB with 1024 present, writable 4 MiB pages", () => {
  const memory = new DataView(new ArrayBuffer(3 * PAGE));
  assert.equal(PTE_PRESENT | PTE_WRITABLE | PTE_PAGE_SIZE, 0x83);
  const cr3 = writePageDirectory32(memory, PAGE);
  assert.equal(cr3, PAGE);
  const entry = (i: number) => memory.getUint32(PAGE + 4 * i, true);
  assert.equal(entry(0), 0x00000083);
  assert.equal(entry(1), 0x00400083);
  assert.equal(entry(0x200), 0x80000083);
  assert.equal(entry(1023), 0xffc00083);
  for (let i = 0; i < 1024; i++) assert.equal(entry(i), (i * 0x400000 + 0x83) >>> 0);
  assert.equal(memory.getUint32(PAGE - 4, true), 0, "nothing written before the directory");
  assert.equal(memory.getUint32(2 * PAGE, true), 0, "nothing written after it");
});

Deno.test("pageTables64Size() is a PML4, a PDPT and one directory per started GiB", () => {
  assert.deepEqual(
    [1, GIB, GIB + 1, 4 * GIB, 12 * GIB].map(pageTables64Size),
    [3 * PAGE, 3 * PAGE, 4 * PAGE, 6 * PAGE, 14 * PAGE],
  );
});

Deno.test("writePageTables64() identity-maps 4 GiB with 2 MiB pages", async (t) => {
  const base = 0x10000;
  const bytes = new Uint8Array(base + pageTables64Size(4 * GIB) + PAGE).fill(0xcc);
  const memory = new DataView(bytes.buffer);
  const cr3 = writePageTables64(memory, base, 4 * GIB);
  const pdpt = base + PAGE;
  const pd = (g: number) => base + (2 + g) * PAGE;
  const u64 = (at: number) => memory.getBigUint64(at, true);

  await t.step("CR3 is the PML4, whose entry 0 points at the PDPT (present, writable)", () => {
    assert.equal(cr3, base);
    assert.equal(u64(base), BigInt(pdpt) | 3n);
    for (let i = 1; i < 512; i++) assert.equal(u64(base + 8 * i), 0n, `PML4[${i}]`);
  });
  await t.step("PDPT[g] points at page directory g for each of the 4 GiB", () => {
    for (let g = 0; g < 4; g++) assert.equal(u64(pdpt + 8 * g), BigInt(pd(g)) | 3n);
    for (let g = 4; g < 512; g++) assert.equal(u64(pdpt + 8 * g), 0n, `PDPT[${g}]`);
  });
  await t.step("every directory entry maps its 2 MiB page with flags 0x83", () => {
    for (let g = 0; g < 4; g++) {
      for (let e = 0; e < 512; e++) {
        const physical = BigInt(g * GIB + e * 0x200000);
        assert.equal(u64(pd(g) + 8 * e), physical | 0x83n);
      }
    }
    assert.equal(u64(pd(0)), 0x83n);
    assert.equal(u64(pd(3) + 8 * 511), 0xffe00083n);
  });
  await t.step("nothing is written outside the tables", () => {
    assert.equal(bytes[base - 1], 0xcc);
    assert.equal(bytes[base + pageTables64Size(4 * GIB)], 0xcc);
  });
});

Deno.test("writePageTables64() rounds up to whole GiB and refuses more than 512 GiB", () => {
  const memory = new DataView(new ArrayBuffer(pageTables64Size(GIB + 1)));
  writePageTables64(memory, 0, GIB + 1);
  assert.equal(memory.getBigUint64(PAGE + 8, true), BigInt(3 * PAGE) | 3n, "a second GiB");
  assert.equal(memory.getBigUint64(3 * PAGE + 8 * 511, true), BigInt(2 * GIB - 0x200000) | 0x83n);
  assert.throws(() => writePageTables64(memory, 0, 513 * GIB), {
    name: "RangeError",
    message: "Cannot map more than 512 GiB with one PDPT",
  });
});
