/**
 * The `kvm_regs`/`kvm_sregs` codecs of lib/kvm/regs.ts round-trip every field, at the extremes
 * and with distinct values, and place each field at its abi.ts offset; no /dev/kvm needed.
 *
 * @module
 */

import assert from "node:assert/strict";
import { KVM_DTABLE, KVM_REGS, KVM_SEGMENT, KVM_SREGS } from "../../lib/kvm/abi.ts";
import {
  decodeRegs,
  decodeSregs,
  type DescriptorTable,
  encodeRegs,
  encodeSregs,
  REG_NAMES,
  type Regs,
  type Segment,
  type Sregs,
} from "../../lib/kvm/regs.ts";

const U64_MAX = 0xffff_ffff_ffff_ffffn;
const SEGMENT_NAMES = ["cs", "ds", "es", "fs", "gs", "ss", "tr", "ldt"] as const;
const BITMAP_SIZE = KVM_SREGS.size - KVM_SREGS.interrupt_bitmap;

/** Regs with every register set by `value(index)`. */
function makeRegs(value: (index: number) => bigint): Regs {
  return Object.fromEntries(REG_NAMES.map((name, i) => [name, value(i)])) as unknown as Regs;
}

/** A segment whose fields are all distinct, derived from `seed` (1..8). */
function distinctSegment(seed: number): Segment {
  return {
    base: 0x1000_0000_0000_0000n * BigInt(seed) + 0x0123_4567_89abn,
    limit: 0x1000_0000 * seed + 0xabcd,
    selector: 0x1000 * seed + 0x18,
    type: 0x10 * seed + 1,
    present: 0x10 * seed + 2,
    dpl: 0x10 * seed + 3,
    db: 0x10 * seed + 4,
    s: 0x10 * seed + 5,
    l: 0x10 * seed + 6,
    g: 0x10 * seed + 7,
    avl: 0x10 * seed + 8,
    unusable: 0x10 * seed + 9,
  };
}

/** A segment with every field at `max` ? its largest : 0. */
function extremeSegment(max: boolean): Segment {
  const byte = max ? 0xff : 0;
  return {
    base: max ? U64_MAX : 0n,
    limit: max ? 0xffff_ffff : 0,
    selector: max ? 0xffff : 0,
    type: byte,
    present: byte,
    dpl: byte,
    db: byte,
    s: byte,
    l: byte,
    g: byte,
    avl: byte,
    unusable: byte,
  };
}

/** Sregs with segments from `segment`, tables from `table`, 64-bit registers from `u64`. */
function makeSregs(
  segment: (index: number) => Segment,
  table: (index: number) => DescriptorTable,
  u64: (index: number) => bigint,
  bitmap: Uint8Array,
): Sregs {
  const sregs = {
    gdt: table(0),
    idt: table(1),
    cr0: u64(0),
    cr2: u64(1),
    cr3: u64(2),
    cr4: u64(3),
    cr8: u64(4),
    efer: u64(5),
    apicBase: u64(6),
    interruptBitmap: bitmap,
  } as Sregs;
  SEGMENT_NAMES.forEach((name, i) => sregs[name] = segment(i));
  return sregs;
}

/** 32 bitmap bytes, all distinct and non-zero. */
const DISTINCT_BITMAP = Uint8Array.from({ length: BITMAP_SIZE }, (_, i) => 0xc0 + i);

Deno.test("kvm_regs codec", async (t) => {
  await t.step("covers exactly the fields of KVM_REGS", () => {
    const fields = Object.keys(KVM_REGS).filter((key) => key !== "size");
    assert.deepEqual([...REG_NAMES].sort(), fields.sort());
    assert.equal(encodeRegs(makeRegs(() => 0n)).length, KVM_REGS.size);
  });

  for (
    const [label, value] of [
      ["all zero", () => 0n],
      ["all 2^64-1", () => U64_MAX],
      ["all 2^63 (sign bit only)", () => 1n << 63n],
      ["distinct per register", (i: number) => 0x0101_0101_0101_0101n * BigInt(i + 1) + 7n],
    ] as const
  ) {
    await t.step(`round-trips ${label}`, () => {
      const regs = makeRegs(value);
      const bytes = encodeRegs(regs);
      assert.deepEqual(decodeRegs(bytes), regs);
      assert.deepEqual(encodeRegs(decodeRegs(bytes)), bytes);
    });
  }

  await t.step("puts each register little-endian at its KVM_REGS offset", () => {
    const regs = makeRegs((i) => 0x1122_3344_5566_7700n + BigInt(i));
    const view = new DataView(encodeRegs(regs).buffer);
    for (const name of REG_NAMES) {
      assert.equal(view.getBigUint64(KVM_REGS[name], true), regs[name], name);
    }
  });

  await t.step("wraps out-of-range values to 64 bits (-1 is 2^64-1, 2^64 is 0)", () => {
    const decoded = decodeRegs(encodeRegs(makeRegs((i) => i % 2 === 0 ? -1n : 1n << 64n)));
    REG_NAMES.forEach((name, i) => assert.equal(decoded[name], i % 2 === 0 ? U64_MAX : 0n, name));
  });

  await t.step("decodes from a view into a larger buffer (non-zero byteOffset)", () => {
    const regs = makeRegs((i) => U64_MAX - BigInt(i));
    const big = new Uint8Array(KVM_REGS.size + 24).fill(0xee);
    big.set(encodeRegs(regs), 8);
    assert.deepEqual(decodeRegs(big.subarray(8)), regs);
  });
});

Deno.test("kvm_sregs codec", async (t) => {
  await t.step("covers exactly the fields of KVM_SREGS, KVM_SEGMENT and KVM_DTABLE", () => {
    const sregs = decodeSregs(new Uint8Array(KVM_SREGS.size));
    const camel = (key: string) => key.replace(/_(\w)/g, (_, c: string) => c.toUpperCase());
    const fields = (table: object) => Object.keys(table).filter((k) => k !== "size").map(camel);
    assert.deepEqual(Object.keys(sregs).sort(), fields(KVM_SREGS).sort());
    assert.deepEqual(Object.keys(sregs.cs).sort(), fields(KVM_SEGMENT).sort());
    assert.deepEqual(Object.keys(sregs.gdt).sort(), fields(KVM_DTABLE).sort());
    assert.equal(sregs.interruptBitmap.length, BITMAP_SIZE);
  });

  const cases: [string, Sregs][] = [
    [
      "all zero",
      makeSregs(
        () => extremeSegment(false),
        () => ({ base: 0n, limit: 0 }),
        () => 0n,
        new Uint8Array(BITMAP_SIZE),
      ),
    ],
    [
      "every field at its maximum",
      makeSregs(
        () => extremeSegment(true),
        () => ({ base: U64_MAX, limit: 0xffff }),
        () => U64_MAX,
        new Uint8Array(BITMAP_SIZE).fill(0xff),
      ),
    ],
    [
      "distinct values in every field",
      makeSregs(
        (i) => distinctSegment(i + 1),
        (i) => ({ base: 0xfeed_0000_0000_0000n + BigInt(i), limit: 0x7ff0 + i }),
        (i) => 0x8000_0000_0000_0001n + (BigInt(i) << 8n),
        DISTINCT_BITMAP,
      ),
    ],
  ];
  for (const [label, sregs] of cases) {
    await t.step(`round-trips ${label}`, () => {
      const bytes = encodeSregs(sregs);
      assert.equal(bytes.length, KVM_SREGS.size);
      assert.deepEqual(decodeSregs(bytes), sregs);
      assert.deepEqual(encodeSregs(decodeSregs(bytes)), bytes);
    });
  }

  await t.step("puts each field at its KVM_SREGS/KVM_SEGMENT/KVM_DTABLE offset", () => {
    const sregs = cases[2][1];
    const view = new DataView(encodeSregs(sregs).buffer);
    SEGMENT_NAMES.forEach((name, i) => {
      const at = KVM_SREGS[name];
      const segment = distinctSegment(i + 1);
      assert.equal(view.getBigUint64(at + KVM_SEGMENT.base, true), segment.base, `${name}.base`);
      assert.equal(view.getUint32(at + KVM_SEGMENT.limit, true), segment.limit, `${name}.limit`);
      assert.equal(view.getUint16(at + KVM_SEGMENT.selector, true), segment.selector);
      assert.equal(view.getUint8(at + KVM_SEGMENT.unusable), segment.unusable, `${name}.unusable`);
    });
    assert.equal(view.getBigUint64(KVM_SREGS.idt + KVM_DTABLE.base, true), sregs.idt.base);
    assert.equal(view.getUint16(KVM_SREGS.idt + KVM_DTABLE.limit, true), sregs.idt.limit);
    assert.equal(view.getBigUint64(KVM_SREGS.efer, true), sregs.efer);
    assert.equal(view.getBigUint64(KVM_SREGS.apic_base, true), sregs.apicBase);
    assert.equal(view.getUint8(KVM_SREGS.interrupt_bitmap + BITMAP_SIZE - 1), 0xc0 + 31);
  });

  await t.step("leaves the padding bytes zero", () => {
    const view = new DataView(encodeSregs(cases[1][1]).buffer);
    for (const name of SEGMENT_NAMES) {
      assert.equal(view.getUint8(KVM_SREGS[name] + KVM_SEGMENT.unusable + 1), 0, `${name} padding`);
    }
    for (const name of ["gdt", "idt"] as const) {
      for (let at = KVM_DTABLE.limit + 2; at < KVM_DTABLE.size; at++) {
        assert.equal(view.getUint8(KVM_SREGS[name] + at), 0, `${name} padding byte ${at}`);
      }
    }
  });

  await t.step("wraps negative 64-bit values (-1 is 2^64-1)", () => {
    const sregs = makeSregs(
      () => ({ ...extremeSegment(false), base: -1n }),
      () => ({ base: -1n, limit: 0 }),
      () => -1n,
      new Uint8Array(BITMAP_SIZE),
    );
    const decoded = decodeSregs(encodeSregs(sregs));
    assert.equal(decoded.cr0, U64_MAX);
    assert.equal(decoded.efer, U64_MAX);
    assert.equal(decoded.apicBase, U64_MAX);
    assert.equal(decoded.gdt.base, U64_MAX);
    assert.equal(decoded.tr.base, U64_MAX);
  });

  await t.step("decodes from a view into a larger buffer, copying the bitmap out", () => {
    const sregs = cases[2][1];
    const big = new Uint8Array(KVM_SREGS.size + 40).fill(0xaa);
    big.set(encodeSregs(sregs), 16);
    const decoded = decodeSregs(big.subarray(16));
    assert.deepEqual(decoded, sregs);
    big.fill(0, 16);
    assert.deepEqual(decoded.interruptBitmap, DISTINCT_BITMAP, "the bitmap is a copy");
  });

  await t.step("a short interrupt bitmap encodes as zero-filled", () => {
    const sregs = { ...cases[0][1], interruptBitmap: Uint8Array.of(1, 2, 3) };
    const decoded = decodeSregs(encodeSregs(sregs));
    const expected = new Uint8Array(BITMAP_SIZE);
    expected.set([1, 2, 3]);
    assert.deepEqual(decoded.interruptBitmap, expected);
  });
});
