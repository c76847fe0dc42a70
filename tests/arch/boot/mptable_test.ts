/**
 * Tests of the MP table writer: the exact bytes of the floating pointer, header and entries, the
 * checksums, sizes for 1, 2 and 32 CPUs, its errors, and a walk of the table as Linux parses it.
 * @module
 */

import assert from "node:assert/strict";
import {
  mpEntryCount,
  MPTABLE_ADDRESS,
  MPTABLE_LIMIT,
  mpTableSize,
  writeMpTable,
} from "../../../lib/arch/x86_64/boot/mptable.ts";
import * as boot from "../../../lib/arch/x86_64/boot/index.ts";

const AT = MPTABLE_ADDRESS;
const MiB = 2 ** 20;

/** Little-endian bytes: [value, size] fields in order. */
function le(...fields: [number, 1 | 2 | 4][]): number[] {
  const out: number[] = [];
  for (const [value, size] of fields) {
    for (let i = 0; i < size; i++) out.push(Math.floor(value / 2 ** (8 * i)) & 0xff);
  }
  return out;
}

/** ASCII bytes of `text`. */
function ascii(text: string): number[] {
  return [...text].map((c) => c.charCodeAt(0));
}

/** Sum of `bytes` mod 256. */
function sum8(bytes: Uint8Array): number {
  return bytes.reduce((s, b) => (s + b) & 0xff, 0);
}

/** Guest RAM of 1 MiB filled with a marker, and the table for `cpus` written at `at`. */
function written(cpus: number, at = AT): { memory: Uint8Array; end: number } {
  const memory = new Uint8Array(MiB).fill(0xee);
  return { memory, end: writeMpTable(memory, at, cpus) };
}

/** An I/O (3) or local (4) interrupt entry's bytes. */
function irqEntry(type: number, kind: number, irq: number, dst: number, pin: number): number[] {
  return le([type, 1], [kind, 1], [0, 2], [0, 1], [irq, 1], [dst, 1], [pin, 1]);
}

/** The entries after the header for `cpus` CPUs, as the spec's tables spell them out. */
function wantEntries(cpus: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < cpus; i++) {
    // type 0, APIC id, version 0x14, EN (| BP for cpu 0), signature family 6, FPU|APIC, reserved
    out.push(...le([0, 1], [i, 1], [0x14, 1], [i === 0 ? 3 : 1, 1], [0x600, 4], [0x201, 4]));
    out.push(...new Array(8).fill(0));
  }
  out.push(1, 0, ...ascii("ISA   ")); // bus 0, ISA
  out.push(...le([2, 1], [cpus, 1], [0x11, 1], [1, 1], [0xfec00000, 4])); // IOAPIC, EN
  for (let irq = 0; irq < 16; irq++) out.push(...irqEntry(3, 0, irq, cpus, irq)); // INT
  out.push(...irqEntry(4, 3, 0, 0xff, 0)); // ExtINT → LINT0 of all local APICs
  out.push(...irqEntry(4, 1, 0, 0xff, 1)); // NMI → LINT1 of all local APICs
  return out;
}

Deno.test("mptable: bytes for one CPU", async (t) => {
  const { memory, end } = written(1);

  await t.step("size, end address and untouched neighbours", () => {
    assert.equal(mpTableSize(1), 16 + 44 + 20 + 20 * 8);
    assert.equal(end, AT + 240);
    assert.equal(memory[AT - 1], 0xee);
    assert.equal(memory[end], 0xee);
  });

  await t.step("floating pointer structure", () => {
    assert.deepEqual([...memory.subarray(AT, AT + 16)], [
      ...ascii("_MP_"),
      ...le([AT + 16, 4]), // physical address of the configuration table
      1, // length: 1 paragraph
      4, // spec rev 1.4
      0x8b, // checksum
      0, // feature 1: configuration table present
      0, // feature 2: IMCR off (virtual wire)
      0,
      0,
      0,
    ]);
  });

  await t.step("configuration table header", () => {
    assert.deepEqual([...memory.subarray(AT + 16, AT + 60)], [
      ...ascii("PCMP"),
      ...le([224, 2], [4, 1], [0x2d, 1]), // length, spec rev, checksum
      ...ascii("MICROVMM"),
      ...ascii("KVM GUEST   "),
      ...le([0, 4], [0, 2], [21, 2]), // OEM table pointer, size, entry count
      ...le([0xfee00000, 4], [0, 2], [0, 1], [0, 1]), // local APIC, extended length, checksum
    ]);
  });

  await t.step("each entry", () => {
    const entries = [...memory.subarray(AT + 60, end)];
    const want = wantEntries(1);
    assert.deepEqual(entries.slice(0, 20), want.slice(0, 20), "processor");
    assert.deepEqual(entries.slice(20, 28), want.slice(20, 28), "bus");
    assert.deepEqual(entries.slice(28, 36), want.slice(28, 36), "IOAPIC");
    for (let i = 0; i < 18; i++) {
      const at = 36 + 8 * i;
      assert.deepEqual(entries.slice(at, at + 8), want.slice(at, at + 8), `interrupt entry ${i}`);
    }
    assert.deepEqual(entries, want);
  });

  await t.step("both checksums are 0, entry count and length match", () => {
    assert.equal(sum8(memory.subarray(AT, AT + 16)), 0);
    const view = new DataView(memory.buffer);
    const length = view.getUint16(AT + 16 + 4, true);
    assert.equal(AT + 16 + length, end);
    assert.equal(sum8(memory.subarray(AT + 16, AT + 16 + length)), 0);
    assert.equal(view.getUint16(AT + 16 + 34, true), mpEntryCount(1));
    assert.equal(mpEntryCount(1), 21);
  });

  await t.step("rewriting over stale bytes gives the same table", () => {
    const again = new Uint8Array(MiB).fill(0x5a);
    writeMpTable(again, AT, 1);
    assert.deepEqual(again.subarray(AT, end), memory.subarray(AT, end));
  });
});

Deno.test("mptable: more CPUs", async (t) => {
  for (const cpus of [2, 32]) {
    await t.step(`${cpus} CPUs: size, APIC ids, flags, IOAPIC id, checksums`, () => {
      const { memory, end } = written(cpus);
      const size = 16 + 44 + 20 * cpus + 8 * 20;
      assert.equal(mpTableSize(cpus), size);
      assert.equal(end, AT + size);
      assert.ok(end <= MPTABLE_LIMIT);
      const view = new DataView(memory.buffer);
      assert.equal(view.getUint16(AT + 16 + 4, true), size - 16);
      assert.equal(view.getUint16(AT + 16 + 34, true), cpus + 20);
      assert.equal(sum8(memory.subarray(AT, AT + 16)), 0);
      assert.equal(sum8(memory.subarray(AT + 16, end)), 0);
      assert.deepEqual([...memory.subarray(AT + 60, end)], wantEntries(cpus));
      for (let i = 0; i < cpus; i++) {
        const cpu = AT + 60 + 20 * i;
        assert.equal(memory[cpu + 1], i, "APIC id");
        assert.equal(memory[cpu + 3], i === 0 ? 3 : 1, "EN, BP only on cpu 0");
      }
      const ioapic = AT + 60 + 20 * cpus + 8;
      assert.deepEqual([memory[ioapic], memory[ioapic + 1]], [2, cpus]);
    });
  }
  await t.step("32 CPUs still fit at MPTABLE_ADDRESS", () => {
    assert.equal(mpTableSize(32), 860);
    assert.ok(MPTABLE_ADDRESS + mpTableSize(32) <= MPTABLE_LIMIT);
  });
});

Deno.test("mptable: errors", async (t) => {
  const memory = new Uint8Array(MiB);
  await t.step("a table that would cross 0xa0000", () => {
    assert.throws(
      () => writeMpTable(memory, 0x9fe00, 32),
      (e: unknown) =>
        e instanceof RangeError &&
        e.message ===
          "MP table for 32 CPUs [0x9fe00, 0xa015c) does not fit [0x9fc00, 0xa0000), " +
            "the last KiB of base memory",
    );
    assert.equal(writeMpTable(memory, 0x9fe00, 1), 0x9fe00 + 240); // a small one still fits
    assert.equal(writeMpTable(memory, 0x9ff10, 1), MPTABLE_LIMIT); // ends exactly at 0xa0000
    assert.throws(() => writeMpTable(memory, 0x9ff20, 1), /does not fit/);
  });
  await t.step("an address outside the scanned KiB", () => {
    assert.throws(() => writeMpTable(memory, 0x9f000, 1), /does not fit/);
    assert.throws(() => writeMpTable(memory, 0xf0000, 1), /does not fit/);
  });
  await t.step("an address that is not 16-byte aligned", () => {
    assert.throws(() => writeMpTable(memory, AT + 8, 1), /not 16-byte aligned/);
  });
  await t.step("CPU counts outside 1..32", () => {
    for (const cpus of [0, 33, 1.5, -1, NaN]) {
      assert.throws(() => writeMpTable(memory, AT, cpus), /not between 1 and 32/);
    }
  });
  await t.step("guest RAM too small", () => {
    assert.throws(() => writeMpTable(new Uint8Array(AT + 100), AT, 1), /outside guest RAM/);
  });
});

/** The fields Linux's smp_read_mpc collects from a table it accepts. */
interface ParsedMp {
  at: number;
  oem: string;
  lapic: number;
  types: number[];
  cpus: { id: number; flags: number }[];
  ioapics: { id: number; address: number }[];
  irqs: { kind: number; irq: number; dst: number; pin: number }[];
}

/**
 * Finds and reads the MP table as Linux does: smp_scan_config over the first KiB, the last KiB
 * of base memory and 0xf0000–0xfffff in 16-byte steps, then smp_check_mpc and smp_read_mpc.
 */
function parseLikeLinux(memory: Uint8Array): ParsedMp {
  const view = new DataView(memory.buffer, memory.byteOffset, memory.byteLength);
  const text = (at: number, n: number) => String.fromCharCode(...memory.subarray(at, at + n));
  for (const [base, length] of [[0, 0x400], [639 * 0x400, 0x400], [0xf0000, 0x10000]]) {
    for (let mpf = base; mpf < base + length; mpf += 16) {
      if (
        text(mpf, 4) !== "_MP_" || memory[mpf + 8] !== 1 ||
        sum8(memory.subarray(mpf, mpf + 16)) !== 0 || ![1, 4].includes(memory[mpf + 9])
      ) continue;
      assert.equal(memory[mpf + 11], 0, "feature 1: not a default configuration");
      const mpc = view.getUint32(mpf + 4, true);
      assert.equal(text(mpc, 4), "PCMP");
      const length = view.getUint16(mpc + 4, true);
      assert.equal(sum8(memory.subarray(mpc, mpc + length)), 0, "mpc checksum");
      assert.ok([1, 4].includes(memory[mpc + 6]), "mpc spec");
      const lapic = view.getUint32(mpc + 36, true);
      assert.notEqual(lapic, 0, "null local APIC address");
      const parsed: ParsedMp = {
        at: mpf,
        oem: text(mpc + 8, 8),
        lapic,
        types: [],
        cpus: [],
        ioapics: [],
        irqs: [],
      };
      const sizes = [20, 8, 8, 8, 8];
      let count = 44;
      while (count < length) {
        const e = mpc + count;
        const type = memory[e];
        assert.ok(type < sizes.length, `unknown entry type ${type} at ${count}`);
        parsed.types.push(type);
        if (type === 0 && memory[e + 3] & 1) {
          parsed.cpus.push({ id: memory[e + 1], flags: memory[e + 3] });
        } else if (type === 1) assert.equal(text(e + 2, 3), "ISA");
        else if (type === 2 && memory[e + 3] & 1) {
          parsed.ioapics.push({ id: memory[e + 1], address: view.getUint32(e + 4, true) });
        } else if (type === 3 || type === 4) {
          parsed.irqs.push({
            kind: memory[e + 1],
            irq: memory[e + 5],
            dst: memory[e + 6],
            pin: memory[e + 7],
          });
        }
        count += sizes[type];
      }
      assert.equal(count, length, "entries end exactly at the table's length");
      assert.equal(parsed.types.length, view.getUint16(mpc + 34, true), "entry count");
      return parsed;
    }
  }
  throw new Error("no MP floating pointer found");
}

Deno.test("mptable: a walk like Linux's smp_read_mpc", async (t) => {
  for (const cpus of [1, 4]) {
    await t.step(`${cpus} CPUs`, () => {
      const memory = new Uint8Array(MiB);
      writeMpTable(memory, MPTABLE_ADDRESS, cpus);
      const mp = parseLikeLinux(memory);
      assert.equal(mp.at, 0x9fc00);
      assert.equal(mp.oem, "MICROVMM");
      assert.equal(mp.lapic, 0xfee00000);
      assert.deepEqual(mp.types, [
        ...new Array(cpus).fill(0),
        1,
        2,
        ...new Array(16).fill(3),
        4,
        4,
      ]);
      assert.deepEqual(mp.cpus.map((c) => c.id), [...Array(cpus).keys()]);
      assert.deepEqual(mp.cpus.filter((c) => c.flags & 2).map((c) => c.id), [0], "one BSP");
      assert.deepEqual(mp.ioapics, [{ id: cpus, address: 0xfec00000 }]);
      // find_isa_irq_pin(0, mp_INT): the timer is on the pin KVM's default routing uses.
      const timer = mp.irqs.find((i) => i.kind === 0 && i.irq === 0);
      assert.deepEqual(timer, { kind: 0, irq: 0, dst: cpus, pin: 0 });
    });
  }
});

Deno.test("mptable: exported from the boot index", () => {
  assert.equal(boot.writeMpTable, writeMpTable);
  assert.equal(boot.MPTABLE_ADDRESS, 0x9fc00);
});
