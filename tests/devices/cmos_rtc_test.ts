/**
 * Tests for the MC146818A CMOS RTC: the time registers in BCD, binary and 12-hour mode, the
 * status registers, setting the clock, the index port and CMOS RAM with its memory size bytes.
 *
 * @module
 */

import assert from "node:assert/strict";
import { CMOS_SIZE, CmosRtc } from "../../lib/devices/cmos_rtc.ts";
import type { CmosRtcOptions } from "../../lib/devices/cmos_rtc.ts";

// Register indexes and bits, as named in the MC146818A datasheet.
const SECONDS = 0x00, MINUTES = 0x02, HOURS = 0x04, DAY_OF_WEEK = 0x06, DAY_OF_MONTH = 0x07;
const MONTH = 0x08, YEAR = 0x09, REG_A = 0x0a, REG_B = 0x0b, REG_C = 0x0c, REG_D = 0x0d;
const CENTURY = 0x32;
const TIME_REGISTERS = [SECONDS, MINUTES, HOURS, DAY_OF_WEEK, DAY_OF_MONTH, MONTH, YEAR, CENTURY];
const B_SET = 0x80, B_PIE = 0x40, B_UIE = 0x10, B_DM = 0x04, B_24H = 0x02;
const C_IRQF = 0x80, C_PF = 0x40, C_UF = 0x10;
const NMI_DISABLE = 0x80;

const MiB = 1024 * 1024, GiB = 1024 * MiB;

/** An RTC on a clock the test moves by hand, with byte-wide register helpers. */
function harness(start: string, options: CmosRtcOptions = {}) {
  let ms = Date.parse(start);
  const rtc = new CmosRtc({ now: () => new Date(ms), ...options });
  const data = new Uint8Array(1);
  const read = (index: number): number => {
    rtc.write(0, Uint8Array.of(index));
    rtc.read(1, data);
    return data[0];
  };
  const write = (index: number, value: number): void => {
    rtc.write(0, Uint8Array.of(index));
    rtc.write(1, Uint8Array.of(value));
  };
  const time = (): number[] => TIME_REGISTERS.map(read);
  const advance = (delta: number): void => {
    ms += delta;
  };
  return { rtc, read, write, time, advance };
}

/** 2024-02-29 (a Thursday: day of week 5) at 13:45:56 UTC. */
const LEAP_DAY = "2024-02-29T13:45:56.250Z";

Deno.test("CmosRtc time registers read the clock", async (t) => {
  await t.step("in BCD by default", () => {
    const { time } = harness(LEAP_DAY);
    assert.deepEqual(time(), [0x56, 0x45, 0x13, 0x05, 0x29, 0x02, 0x24, 0x20]);
  });
  await t.step("in binary with Register B's DM bit", () => {
    const { time, write } = harness(LEAP_DAY);
    write(REG_B, B_24H | B_DM);
    assert.deepEqual(time(), [56, 45, 13, 5, 29, 2, 24, 20]);
  });
  await t.step("as UTC whatever the host's time zone, with Sunday as day 1", () => {
    const { time } = harness("2023-01-01T00:00:00Z");
    assert.deepEqual(time(), [0x00, 0x00, 0x00, 0x01, 0x01, 0x01, 0x23, 0x20]);
  });
  await t.step("following the host clock as it moves", () => {
    const { read, advance } = harness(LEAP_DAY);
    advance(3_750);
    assert.equal(read(SECONDS), 0x00);
    assert.equal(read(MINUTES), 0x46);
  });
  await t.step("with the host's time when no clock is given", () => {
    const rtc = new CmosRtc();
    const data = new Uint8Array(1);
    rtc.write(0, Uint8Array.of(CENTURY));
    const before = new Date().getUTCFullYear();
    rtc.read(1, data);
    const century = (data[0] >> 4) * 10 + (data[0] & 0x0f);
    assert.ok(century === Math.floor(before / 100) || century === Math.floor(before / 100) + 1);
  });
});

Deno.test("CmosRtc 12-hour mode", async (t) => {
  const cases: [string, number, number][] = [
    ["2024-02-29T00:30:00Z", 0x12, 12], // midnight hour: 12 AM
    ["2024-02-29T01:30:00Z", 0x01, 1],
    ["2024-02-29T11:30:00Z", 0x11, 11],
    ["2024-02-29T12:30:00Z", 0x92, 0x8c], // noon hour: 12 PM
    ["2024-02-29T13:45:56Z", 0x81, 0x81],
    ["2024-02-29T23:30:00Z", 0x91, 0x8b],
  ];
  await t.step("hours read 1..12 with bit 7 set after noon, in BCD and binary", () => {
    for (const [when, bcd, binary] of cases) {
      const { read, write } = harness(when);
      write(REG_B, 0);
      assert.equal(read(HOURS), bcd, `${when} BCD`);
      write(REG_B, B_DM);
      assert.equal(read(HOURS), binary, `${when} binary`);
    }
  });
  await t.step("writing hours in 12-hour mode sets the 24-hour time", () => {
    const { read, write } = harness(LEAP_DAY);
    write(REG_B, 0);
    write(HOURS, 0x12); // 12 AM
    write(REG_B, B_24H);
    assert.equal(read(HOURS), 0x00);
    write(REG_B, 0);
    write(HOURS, 0x87); // 7 PM
    write(REG_B, B_24H);
    assert.equal(read(HOURS), 0x19);
  });
});

Deno.test("CmosRtc century register follows the year", () => {
  const { time, advance } = harness("1999-12-31T23:59:59Z");
  assert.deepEqual(time(), [0x59, 0x59, 0x23, 0x06, 0x31, 0x12, 0x99, 0x19]);
  advance(1000);
  assert.deepEqual(time(), [0x00, 0x00, 0x00, 0x07, 0x01, 0x01, 0x00, 0x20]);
  const later = harness("2100-03-01T00:00:00Z");
  assert.deepEqual(later.time().slice(-2), [0x00, 0x21]);
});

Deno.test("CmosRtc status registers", async (t) => {
  await t.step("Register A reads 0x26 with UIP always 0, even when written 1", () => {
    const { read, write, advance } = harness(LEAP_DAY);
    for (let i = 0; i < 20; i++) {
      assert.equal(read(REG_A), 0x26);
      advance(100);
    }
    write(REG_A, 0xa0);
    assert.equal(read(REG_A), 0x20);
  });
  await t.step("Register B reads 0x02 (24-hour, BCD) at reset and keeps writes", () => {
    const { read, write } = harness(LEAP_DAY);
    assert.equal(read(REG_B), 0x02);
    write(REG_B, B_24H | B_DM | B_PIE);
    assert.equal(read(REG_B), B_24H | B_DM | B_PIE);
  });
  await t.step("Register D reads 0x80 (valid RAM and time) and ignores writes", () => {
    const { read, write } = harness(LEAP_DAY);
    assert.equal(read(REG_D), 0x80);
    write(REG_D, 0x00);
    assert.equal(read(REG_D), 0x80);
  });
  await t.step("Register C reports an update once per second passed, cleared by reading", () => {
    const { read, write, advance } = harness(LEAP_DAY);
    write(REG_A, 0x20); // no periodic rate
    assert.equal(read(REG_C), 0);
    advance(800); // .250 -> 57.050: crosses 13:45:57.000
    assert.equal(read(REG_C), C_UF);
    assert.equal(read(REG_C), 0, "reading C cleared UF");
    advance(500);
    assert.equal(read(REG_C), 0, "no second boundary since the last read");
    advance(600);
    write(REG_B, B_24H | B_UIE);
    assert.equal(read(REG_C), C_IRQF | C_UF, "IRQF with UIE");
    assert.equal(read(REG_C), 0);
  });
  await t.step("Register C reports the periodic flag at the Register A rate", () => {
    const { read, write, advance } = harness(LEAP_DAY);
    write(REG_A, 0x2f); // RS 15: 2 Hz
    read(REG_C);
    advance(400); // .250 -> .650: crosses .500
    assert.equal(read(REG_C), C_PF);
    advance(300); // .650 -> .950
    assert.equal(read(REG_C), 0);
    write(REG_B, B_24H | B_PIE);
    advance(100); // crosses 13:45:57.000: PF and UF
    assert.equal(read(REG_C), C_IRQF | C_PF | C_UF);
  });
  await t.step("the default 1024 Hz rate sets PF within a couple of milliseconds", () => {
    const { read, advance } = harness(LEAP_DAY);
    advance(2);
    assert.equal(read(REG_C), C_PF);
  });
});

Deno.test("CmosRtc setting the clock", async (t) => {
  await t.step("with SET the registers freeze, take the new time, and run from it", () => {
    const { read, write, time, advance } = harness(LEAP_DAY);
    write(REG_B, B_24H | B_SET);
    const frozen = time();
    advance(5_000);
    assert.deepEqual(time(), frozen, "no updates while SET is set");
    for (
      const [index, value] of [
        [SECONDS, 0x06],
        [MINUTES, 0x05],
        [HOURS, 0x04],
        [DAY_OF_MONTH, 0x31], // valid only once the month is January
        [MONTH, 0x01],
        [YEAR, 0x01],
        [CENTURY, 0x20],
      ]
    ) write(index, value);
    advance(5_000);
    assert.deepEqual(time(), [0x06, 0x05, 0x04, 0x05, 0x31, 0x01, 0x01, 0x20]);
    write(REG_B, B_24H);
    assert.equal(read(REG_B), B_24H);
    assert.deepEqual(time(), [0x06, 0x05, 0x04, 0x04, 0x31, 0x01, 0x01, 0x20], "2001-01-31 Wed");
    advance(999);
    assert.equal(read(SECONDS), 0x06, "the clock starts at the start of the set second");
    advance(1);
    assert.equal(read(SECONDS), 0x07);
    advance(60_000);
    assert.deepEqual(time().slice(0, 3), [0x07, 0x06, 0x04]);
  });
  await t.step("without SET a write changes one field at once", () => {
    const { read, write, time } = harness(LEAP_DAY);
    write(MINUTES, 0x10);
    assert.deepEqual(time(), [0x56, 0x10, 0x13, 0x05, 0x29, 0x02, 0x24, 0x20]);
    write(YEAR, 0x25); // 2025 has no February 29: rolls over to March 1
    assert.deepEqual(time().slice(3), [0x07, 0x01, 0x03, 0x25, 0x20]);
    write(DAY_OF_WEEK, 0x02);
    assert.equal(read(DAY_OF_WEEK), 0x07, "the day of week follows the date");
  });
  await t.step("binary writes in binary mode", () => {
    const { write, time } = harness(LEAP_DAY);
    write(REG_B, B_24H | B_DM);
    write(YEAR, 99);
    write(CENTURY, 19);
    assert.deepEqual(time().slice(-2), [99, 19]);
    write(REG_B, B_24H);
    assert.deepEqual(time().slice(-2), [0x99, 0x19]);
  });
  await t.step("setting SET clears UIE, as on the MC146818A", () => {
    const { read, write } = harness(LEAP_DAY);
    write(REG_B, B_24H | B_UIE);
    write(REG_B, B_24H | B_UIE | B_SET);
    assert.equal(read(REG_B), B_24H | B_SET);
  });
});

Deno.test("CmosRtc index port", async (t) => {
  const { rtc, read, write } = harness(LEAP_DAY);
  const data = new Uint8Array(1);
  await t.step("bit 7 (NMI disable) is masked off the index and remembered", () => {
    rtc.write(0, Uint8Array.of(NMI_DISABLE | REG_B));
    assert.equal(rtc.index, REG_B);
    assert.equal(rtc.nmiDisabled, true);
    rtc.read(1, data);
    assert.equal(data[0], 0x02, "Register B, not index 0x8b");
    rtc.write(0, Uint8Array.of(NMI_DISABLE | HOURS));
    rtc.read(1, data);
    assert.equal(data[0], 0x13);
    rtc.write(0, Uint8Array.of(REG_D));
    assert.equal(rtc.nmiDisabled, false);
  });
  await t.step("an NMI-disabled write reaches the same RAM byte", () => {
    rtc.write(0, Uint8Array.of(NMI_DISABLE | 0x40));
    rtc.write(1, Uint8Array.of(0x5a));
    assert.equal(read(0x40), 0x5a);
    write(0x40, 0x00);
  });
  await t.step("the index port reads 0xff", () => {
    rtc.read(0, data);
    assert.equal(data[0], 0xff);
  });
  await t.step("wide accesses use the low byte and read zeros above it", () => {
    rtc.write(0, Uint8Array.of(REG_D, 0x00));
    const wide = new Uint8Array(2).fill(0xee);
    rtc.read(1, wide);
    assert.deepEqual([...wide], [0x80, 0x00]);
  });
});

Deno.test("CmosRtc RAM keeps what the guest writes", () => {
  const { read, write } = harness(LEAP_DAY);
  const ram = [0x01, 0x03, 0x05];
  for (let index = 0x0e; index < CMOS_SIZE; index++) if (index !== CENTURY) ram.push(index);
  for (const index of ram) write(index, index ^ 0xa5);
  for (const index of ram) assert.equal(read(index), index ^ 0xa5, `0x${index.toString(16)}`);
  assert.deepEqual(
    [read(SECONDS), read(REG_D), read(CENTURY)],
    [0x56, 0x80, 0x20],
    "time and status untouched",
  );
});

Deno.test("CmosRtc memory size bytes", async (t) => {
  /** The memory size bytes as [base KiB, extended KiB, copy, 64 KiB above 16 MiB, above 4 GiB]. */
  const sizes = (options: CmosRtcOptions): number[] => {
    const { read } = harness(LEAP_DAY, options);
    const word = (index: number) => read(index) | (read(index + 1) << 8);
    return [word(0x15), word(0x17), word(0x30), word(0x34), word(0x5b) | (read(0x5d) << 16)];
  };
  await t.step("256 MiB: 640 KiB base, extended capped at 65535 KiB, 3840 x 64 KiB", () => {
    assert.deepEqual(sizes({ memSize: 256 * MiB }), [640, 0xffff, 0xffff, 3840, 0]);
  });
  await t.step("4 GiB: 3 GiB below the MMIO hole, 1 GiB above 4 GiB", () => {
    assert.deepEqual(sizes({ memSize: 4 * GiB }), [640, 0xffff, 0xffff, 0xbf00, 0x4000]);
    const { read } = harness(LEAP_DAY, { memSize: 4 * GiB });
    assert.deepEqual([0x5b, 0x5c, 0x5d].map(read), [0x00, 0x40, 0x00]);
  });
  await t.step("the split follows mmioHoleStart", () => {
    const options = { memSize: 4 * GiB, mmioHoleStart: 0xd000_0000 };
    assert.deepEqual(sizes(options), [640, 0xffff, 0xffff, 0xcf00, 0x3000]);
  });
  await t.step("small guests: base and extended memory in KiB", () => {
    assert.deepEqual(sizes({ memSize: 512 * 1024 }), [512, 0, 0, 0, 0]);
    assert.deepEqual(sizes({ memSize: 8 * MiB }), [640, 7 * 1024, 7 * 1024, 0, 0]);
  });
  await t.step("no memSize: all zero", () => {
    assert.deepEqual(sizes({}), [0, 0, 0, 0, 0]);
  });
  await t.step("the bytes are RAM: the guest may overwrite them", () => {
    const { read, write } = harness(LEAP_DAY, { memSize: 256 * MiB });
    write(0x34, 0x12);
    assert.equal(read(0x34), 0x12);
  });
  await t.step("bad sizes throw RangeError", () => {
    assert.throws(() => new CmosRtc({ memSize: -1 }), RangeError);
    assert.throws(() => new CmosRtc({ memSize: 1.5 }), RangeError);
    assert.throws(() => new CmosRtc({ mmioHoleStart: 5 * GiB }), RangeError);
  });
});
