/**
 * Tests of the flat segment descriptors: `flatSegment` fields, `gdtEntry` against the
 * well-known descriptor values, and the bytes `writeGdt` puts in memory.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  CODE_SELECTOR,
  DATA_SELECTOR,
  flatSegment,
  gdtEntry,
  writeGdt,
} from "../../lib/arch/x86_64/gdt.ts";

Deno.test("gdtEntry() of the flat segments equals the well-known descriptors", async (t) => {
  const cases: ["code32" | "code64" | "data", bigint][] = [
    ["code32", 0x00cf9b000000ffffn],
    ["code64", 0x00af9b000000ffffn],
    ["data", 0x00cf93000000ffffn],
  ];
  for (const [kind, descriptor] of cases) {
    await t.step(`${kind}: 0x${descriptor.toString(16).padStart(16, "0")}`, () => {
      assert.equal(gdtEntry(flatSegment(kind)), descriptor);
    });
  }
});

Deno.test("gdtEntry() places base, byte-granular limit, access and flags bits", () => {
  // A 16-bit data segment at 0x12345678 with limit 0xabcde, DPL 3, byte granularity, AVL.
  const entry = gdtEntry({
    base: 0x12345678n,
    limit: 0xabcde,
    selector: 0x23,
    type: 0x2,
    present: 1,
    dpl: 3,
    db: 0,
    s: 1,
    l: 0,
    g: 0,
    avl: 1,
    unusable: 0,
  });
  // base 31:24 | flags (G=0 D=0 L=0 AVL=1) | limit 19:16 | access (P DPL=3 S type=2)
  // | base 23:0 | limit 15:0
  assert.equal(entry, 0x12_1a_f2_345678_bcden);
});

Deno.test("flatSegment() describes 4 GiB segments with the GDT selectors", () => {
  const common = { base: 0n, limit: 0xffffffff, present: 1, dpl: 0, s: 1, g: 1, avl: 0 };
  assert.deepEqual(flatSegment("code32"), {
    ...common,
    selector: CODE_SELECTOR,
    type: 0xb,
    db: 1,
    l: 0,
    unusable: 0,
  });
  assert.deepEqual(flatSegment("code64"), {
    ...common,
    selector: 0x08,
    type: 0xb,
    db: 0,
    l: 1,
    unusable: 0,
  });
  assert.deepEqual(flatSegment("data"), {
    ...common,
    selector: DATA_SELECTOR,
    type: 0x3,
    db: 1,
    l: 0,
    unusable: 0,
  });
  assert.equal(DATA_SELECTOR, 0x10);
});

Deno.test("writeGdt() writes null, code and data descriptors and returns the limit", () => {
  const memory = new Uint8Array(0x200).fill(0xaa);
  const view = new DataView(memory.buffer);
  const limit = writeGdt(view, 0x100, flatSegment("code64"), flatSegment("data"));
  assert.equal(limit, 23);
  const hex = [...memory.subarray(0xf8, 0x120)].map((b) => b.toString(16).padStart(2, "0"));
  assert.equal(
    hex.join(" "),
    [
      "aa aa aa aa aa aa aa aa", // before the GDT: untouched
      "00 00 00 00 00 00 00 00", // 0x00: null descriptor
      "ff ff 00 00 00 9b af 00", // 0x08: 64-bit code
      "ff ff 00 00 00 93 cf 00", // 0x10: data
      "aa aa aa aa aa aa aa aa", // after: untouched
    ].join(" "),
  );
});
