/**
 * CmosRtc: the PC's CMOS real-time clock and RAM (Motorola MC146818A) at ports 0x70/0x71,
 * reading the host's clock, with the memory size bytes a PC BIOS leaves for the OS.
 *
 * @module
 */

import type { BusDevice } from "./device.ts";

// Port offsets from the base (0x70 on the PC).
const INDEX_PORT = 0; // write: register index in bits 6:0, NMI disable in bit 7
const DATA_PORT = 1; // read/write: the register the index selects

const INDEX_MASK = 0x7f;
const NMI_DISABLE = 0x80;

// Register indexes, from the MC146818A datasheet ("Address Map"); 0x32 is IBM's century byte.
const REG_SECONDS = 0x00;
const REG_MINUTES = 0x02;
const REG_HOURS = 0x04;
const REG_DAY_OF_WEEK = 0x06;
const REG_DAY_OF_MONTH = 0x07;
const REG_MONTH = 0x08;
const REG_YEAR = 0x09;
const REG_A = 0x0a;
const REG_B = 0x0b;
const REG_C = 0x0c;
const REG_D = 0x0d;
const REG_CENTURY = 0x32;
// 0x01, 0x03 and 0x05 are the alarm seconds, minutes and hours: plain RAM here.

// Register A bits.
const A_UIP = 0x80; // Update In Progress: always read as 0
const A_RS_MASK = 0x0f; // Rate Selection for the periodic flag
/** Register A at reset: DV2..0 = 010 (32.768 kHz time base), RS = 0110 (1024 Hz). */
const A_DEFAULT = 0x26;

// Register B bits.
const B_SET = 0x80; // SET: updates inhibited while the time is being set
const B_PIE = 0x40; // Periodic Interrupt Enable
// Bit 5 (AIE, Alarm Interrupt Enable) is stored only.
const B_UIE = 0x10; // Update-ended Interrupt Enable
const B_DM = 0x04; // Data Mode: 1 = binary, 0 = BCD
const B_24H = 0x02; // 1 = 24-hour mode, 0 = 12-hour mode (hours bit 7 = PM)
/** Register B at reset as a PC BIOS leaves it: 24-hour mode, BCD, no interrupts. */
const B_DEFAULT = B_24H;

// Register C bits: latched flags, all cleared by reading C.
const C_IRQF = 0x80; // Interrupt Request Flag: some enabled flag below is set
const C_PF = 0x40; // Periodic Flag
// Bit 5 (AF, Alarm Flag) is never set: there is no alarm.
const C_UF = 0x10; // Update-ended Flag

// Register D bits.
const D_VRT = 0x80; // Valid RAM and Time: the battery is good

const HOURS_PM = 0x80; // hours register bit 7 in 12-hour mode

/** Frequency of the time base the periodic rate divides, in Hz. */
const TIME_BASE_HZ = 32768;

// Memory size bytes, as IBM's BIOS (and SeaBIOS on QEMU) sets them; 16-bit ones little-endian.
const REG_BASE_MEM = 0x15; // 0x15/0x16: base memory in KiB (640)
const REG_EXT_MEM = 0x17; // 0x17/0x18: memory from 1 MiB, in KiB, at most 65535
const REG_EXT_MEM2 = 0x30; // 0x30/0x31: a copy of 0x17/0x18
const REG_HIGH_MEM = 0x34; // 0x34/0x35: memory from 16 MiB to the MMIO hole, 64 KiB units
const REG_ABOVE_4G = 0x5b; // 0x5b..0x5d: memory above 4 GiB in 64 KiB units, 24 bits

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** Size of the CMOS (registers and RAM): 128 bytes, indexes 0x00..0x7f. */
export const CMOS_SIZE = 128;

/**
 * Default start of the 32-bit MMIO hole: 3 GiB. Guest RAM above it is counted as memory above
 * 4 GiB (QEMU's PC machine makes the same split for large guests).
 */
export const CMOS_DEFAULT_MMIO_HOLE_START = 3 * GiB;

/** Options of a {@link CmosRtc}. */
export interface CmosRtcOptions {
  /** The host clock; read as UTC. Default: `() => new Date()`. */
  now?: () => Date;
  /**
   * Guest RAM size in bytes, for the memory size bytes of the CMOS (see {@link CmosRtc}).
   * Default 0: those bytes read as 0.
   */
  memSize?: number;
  /**
   * Guest-physical address where RAM below 4 GiB stops (the 32-bit MMIO hole starts): the rest
   * of `memSize` is mapped from 4 GiB up. Must match the VMM's memory map. Default
   * {@link CMOS_DEFAULT_MMIO_HOLE_START}.
   */
  mmioHoleStart?: number;
}

/** A broken-down time as the clock registers hold it (year in full, month 1..12). */
interface Fields {
  second: number;
  minute: number;
  hour: number;
  dayOfWeek: number; // 1 = Sunday
  day: number;
  month: number;
  year: number;
}

/**
 * An MC146818A RTC with 128 bytes of CMOS, on two ports: index at offset 0 (0x70), data at
 * offset 1 (0x71). Insert it with `bus.insert(0x70, 2, "CMOS RTC", rtc)`.
 *
 * **Index port.** A write selects the register in bits 6:0; bit 7 is the PC's NMI disable
 * gate, kept in {@link CmosRtc.nmiDisabled} but otherwise ignored (KVM injects no NMI from it).
 * The index port is write-only on the PC: reads return 0xff.
 *
 * **Clock.** The time registers (0x00 seconds, 0x02 minutes, 0x04 hours, 0x06 day of week with
 * Sunday = 1, 0x07 day of month, 0x08 month, 0x09 year of century, 0x32 century) are computed
 * on every read from `now()` in UTC plus an offset, in BCD or, with Register B's DM bit,
 * binary; in 24-hour mode, or with Register B bit 1 clear in 12-hour mode (1..12, bit 7 = PM).
 * Changing DM or 24/12 takes effect on the next read. Daylight saving (B bit 0) is ignored.
 *
 * **Setting the clock.** Writes to the time registers set the guest's clock, as QEMU's RTC
 * does: the guest time is kept as an offset from the host clock, so it keeps running with it.
 * With Register B's SET bit, the registers freeze (reads return the values being set), writes
 * change the frozen copy, and clearing SET starts the clock from it; without SET each write
 * starts the clock at once from the current time with that one field changed. Either way the
 * clock starts at the start of the set second. The day of week always follows from the date
 * (writes to it are kept only while SET is set). Out-of-range values roll over as in
 * `Date.UTC` (month 13 is January of the next year). Setting SET clears UIE, as on the chip.
 *
 * **Status registers.** Register A reads UIP as 0 at all times, so a guest never waits for
 * an update to end (code waiting for UIP to rise sees no edge: use Register C's UF instead);
 * bits 6:0 (divider, rate; default 0x26) are stored and only the rate is used. Register B
 * (default 0x02: 24-hour, BCD) is read/write. Register C is read-only and cleared by reading:
 * UF is set when a second boundary of the guest clock passed since the last read of C (not
 * while SET is set), PF when a period of the rate in Register A passed, IRQF when one of them
 * is set with its enable bit (UIE, PIE) in Register B. AF is never set: the alarm registers
 * (0x01, 0x03, 0x05) are plain RAM. No IRQ 8 is ever raised: the flags are for polling.
 * Register D reads 0x80 (VRT: RAM and time valid).
 *
 * **RAM.** Every other index (the alarm bytes, 0x0e..0x7f except 0x32) is plain RAM: writes are
 * stored and read back. At reset it is zero except for the memory size bytes a PC BIOS sets,
 * from `memSize` split at `mmioHoleStart` into RAM below 4 GiB ("low") and above:
 *
 * | Bytes       | Value                                                               |
 * | ----------- | ------------------------------------------------------------------- |
 * | 0x15, 0x16  | base memory in KiB: 640, or low RAM if smaller                      |
 * | 0x17, 0x18  | extended memory: low RAM past 1 MiB, in KiB, at most 65535          |
 * | 0x30, 0x31  | the same as 0x17, 0x18                                              |
 * | 0x34, 0x35  | low RAM past 16 MiB, in 64 KiB units, at most 65535                 |
 * | 0x5b..0x5d  | RAM above 4 GiB, in 64 KiB units (24 bits)                          |
 *
 * All little-endian. The standard checksum at 0x2e/0x2f is not maintained (SeaBIOS and Linux
 * do not check it). Accesses wider than one byte use the low byte of `data`; reads fill the
 * low byte and zero the others.
 *
 * @example Reading the hours of a fixed clock
 * ```ts
 * import { CmosRtc } from "./cmos_rtc.ts";
 * const rtc = new CmosRtc({ now: () => new Date("2024-02-29T13:45:56Z") });
 * const data = new Uint8Array(1);
 * rtc.write(0, Uint8Array.of(0x04)); // index: hours
 * rtc.read(1, data);
 * console.log(data[0].toString(16)); // 13 (BCD)
 * ```
 */
export class CmosRtc implements BusDevice {
  readonly #now: () => Date;
  readonly #ram = new Uint8Array(CMOS_SIZE);
  #index = 0;
  #nmiDisabled = false;
  #registerA = A_DEFAULT;
  #registerB = B_DEFAULT;
  /** Guest time minus host time, in milliseconds. */
  #offsetMs = 0;
  /** The registers frozen while Register B's SET bit is set, or null. */
  #frozen: Fields | null = null;
  /** Host and guest times (ms) of the last read of Register C, for its flags. */
  #flagsHostMs: number;
  #flagsGuestMs: number;

  /** Builds an RTC in its reset state; throws RangeError for bad sizes. */
  constructor(options: CmosRtcOptions = {}) {
    this.#now = options.now ?? (() => new Date());
    const memSize = options.memSize ?? 0;
    const holeStart = options.mmioHoleStart ?? CMOS_DEFAULT_MMIO_HOLE_START;
    if (!Number.isSafeInteger(memSize) || memSize < 0) {
      throw new RangeError(`CMOS: memSize ${memSize} is not a size in bytes`);
    }
    if (!Number.isSafeInteger(holeStart) || holeStart < 0 || holeStart > 4 * GiB) {
      throw new RangeError(`CMOS: mmioHoleStart ${holeStart} is not an address below 4 GiB`);
    }
    this.#setMemorySize(Math.min(memSize, holeStart), memSize - Math.min(memSize, holeStart));
    this.#flagsHostMs = this.#hostMs();
    this.#flagsGuestMs = this.#flagsHostMs;
  }

  /** The selected register index (bits 6:0 of the last index write). */
  get index(): number {
    return this.#index;
  }

  /** Whether the last index write set bit 7, the PC's NMI disable gate. */
  get nmiDisabled(): boolean {
    return this.#nmiDisabled;
  }

  /** Reads the data port (offset 1) or the index port (offset 0, always 0xff). */
  read(offset: number, data: Uint8Array): void {
    data.fill(0);
    if (data.length === 0) return;
    data[0] = offset === DATA_PORT ? this.#readRegister(this.#index) : 0xff;
  }

  /** Writes the index (offset 0) or the selected register (offset 1) with the low byte. */
  write(offset: number, data: Uint8Array): void {
    if (data.length === 0) return;
    const value = data[0];
    if (offset === INDEX_PORT) {
      this.#index = value & INDEX_MASK;
      this.#nmiDisabled = (value & NMI_DISABLE) !== 0;
    } else if (offset === DATA_PORT) {
      this.#writeRegister(this.#index, value);
    }
  }

  #readRegister(index: number): number {
    switch (index) {
      case REG_SECONDS:
      case REG_MINUTES:
      case REG_HOURS:
      case REG_DAY_OF_WEEK:
      case REG_DAY_OF_MONTH:
      case REG_MONTH:
      case REG_YEAR:
      case REG_CENTURY:
        return this.#encodeField(index, this.#frozen ?? this.#guestFields());
      case REG_A:
        return this.#registerA & ~A_UIP;
      case REG_B:
        return this.#registerB;
      case REG_C:
        return this.#readRegisterC();
      case REG_D:
        return D_VRT;
      default:
        return this.#ram[index];
    }
  }

  #writeRegister(index: number, value: number): void {
    switch (index) {
      case REG_SECONDS:
      case REG_MINUTES:
      case REG_HOURS:
      case REG_DAY_OF_WEEK:
      case REG_DAY_OF_MONTH:
      case REG_MONTH:
      case REG_YEAR:
      case REG_CENTURY: {
        const fields = this.#frozen ?? this.#guestFields();
        this.#decodeField(index, value, fields);
        if (this.#frozen === null) this.#startClock(fields);
        break;
      }
      case REG_A:
        this.#registerA = value & ~A_UIP;
        break;
      case REG_B:
        this.#writeRegisterB(value);
        break;
      case REG_C:
      case REG_D:
        break; // read-only
      default:
        this.#ram[index] = value;
    }
  }

  #writeRegisterB(value: number): void {
    const setting = (value & B_SET) !== 0;
    const wasSetting = this.#frozen !== null;
    if (setting && !wasSetting) {
      this.#frozen = this.#guestFields();
      value &= ~B_UIE;
    } else if (!setting && wasSetting) {
      const fields = this.#frozen!;
      this.#frozen = null;
      this.#startClock(fields);
    }
    this.#registerB = value;
  }

  /** Register C: the flags latched since the last read of it; reading clears them. */
  #readRegisterC(): number {
    const hostMs = this.#hostMs();
    const guestMs = hostMs + this.#offsetMs;
    let flags = 0;
    if (this.#frozen === null && crossed(this.#flagsGuestMs, guestMs, 1000)) flags |= C_UF;
    const rate = this.#registerA & A_RS_MASK;
    if (rate !== 0) {
      // RS 1 and 2 give 256 and 128 Hz; RS n >= 3 gives 32768 / 2^(n-1) Hz.
      const ticks = rate <= 2 ? 2 ** (rate + 6) : 2 ** (rate - 1);
      if (crossed(this.#flagsHostMs, hostMs, (ticks * 1000) / TIME_BASE_HZ)) flags |= C_PF;
    }
    const enabled = (flags & C_PF && this.#registerB & B_PIE) ||
      (flags & C_UF && this.#registerB & B_UIE);
    if (enabled) flags |= C_IRQF;
    this.#flagsHostMs = hostMs;
    this.#flagsGuestMs = guestMs;
    return flags;
  }

  #hostMs(): number {
    return this.#now().getTime();
  }

  #guestFields(): Fields {
    const date = new Date(this.#hostMs() + this.#offsetMs);
    return {
      second: date.getUTCSeconds(),
      minute: date.getUTCMinutes(),
      hour: date.getUTCHours(),
      dayOfWeek: date.getUTCDay() + 1,
      day: date.getUTCDate(),
      month: date.getUTCMonth() + 1,
      year: date.getUTCFullYear(),
    };
  }

  /** Makes the guest clock read `fields` now, at the start of that second. */
  #startClock(fields: Fields): void {
    const date = new Date(0);
    date.setUTCFullYear(fields.year, fields.month - 1, fields.day);
    date.setUTCHours(fields.hour, fields.minute, fields.second, 0);
    const hostMs = this.#hostMs();
    this.#offsetMs = date.getTime() - hostMs;
    this.#flagsHostMs = hostMs;
    this.#flagsGuestMs = date.getTime();
  }

  #encodeField(index: number, fields: Fields): number {
    switch (index) {
      case REG_SECONDS:
        return this.#encode(fields.second);
      case REG_MINUTES:
        return this.#encode(fields.minute);
      case REG_HOURS: {
        if (this.#registerB & B_24H) return this.#encode(fields.hour);
        const pm = fields.hour >= 12 ? HOURS_PM : 0;
        return this.#encode(fields.hour % 12 || 12) | pm;
      }
      case REG_DAY_OF_WEEK:
        return this.#encode(fields.dayOfWeek);
      case REG_DAY_OF_MONTH:
        return this.#encode(fields.day);
      case REG_MONTH:
        return this.#encode(fields.month);
      case REG_YEAR:
        return this.#encode(mod(fields.year, 100));
      default: // REG_CENTURY
        return this.#encode(Math.floor(fields.year / 100) & 0xff);
    }
  }

  #decodeField(index: number, value: number, fields: Fields): void {
    switch (index) {
      case REG_SECONDS:
        fields.second = this.#decode(value);
        break;
      case REG_MINUTES:
        fields.minute = this.#decode(value);
        break;
      case REG_HOURS:
        if (this.#registerB & B_24H) {
          fields.hour = this.#decode(value);
        } else {
          const pm = (value & HOURS_PM) !== 0;
          fields.hour = (this.#decode(value & ~HOURS_PM) % 12) + (pm ? 12 : 0);
        }
        break;
      case REG_DAY_OF_WEEK:
        fields.dayOfWeek = this.#decode(value);
        break;
      case REG_DAY_OF_MONTH:
        fields.day = this.#decode(value);
        break;
      case REG_MONTH:
        fields.month = this.#decode(value);
        break;
      case REG_YEAR:
        fields.year = Math.floor(fields.year / 100) * 100 + this.#decode(value);
        break;
      default: // REG_CENTURY
        fields.year = this.#decode(value) * 100 + mod(fields.year, 100);
    }
  }

  /** A register value from a number, in BCD unless Register B selects binary. */
  #encode(n: number): number {
    if (this.#registerB & B_DM) return n & 0xff;
    return ((Math.floor(n / 10) % 10) << 4) | (n % 10);
  }

  /** A number from a register value, BCD unless Register B selects binary. */
  #decode(value: number): number {
    if (this.#registerB & B_DM) return value;
    return (value >> 4) * 10 + (value & 0x0f);
  }

  /** Stores the memory size bytes for `low` bytes of RAM below 4 GiB and `high` above. */
  #setMemorySize(low: number, high: number): void {
    const put = (index: number, bytes: number, value: number) => {
      for (let i = 0; i < bytes; i++) this.#ram[index + i] = (value >> (8 * i)) & 0xff;
    };
    const units = (bytes: number, unit: number, max: number) =>
      Math.min(Math.floor(Math.max(bytes, 0) / unit), max);
    put(REG_BASE_MEM, 2, units(low, KiB, 640));
    put(REG_EXT_MEM, 2, units(low - MiB, KiB, 0xffff));
    put(REG_EXT_MEM2, 2, units(low - MiB, KiB, 0xffff));
    put(REG_HIGH_MEM, 2, units(low - 16 * MiB, 64 * KiB, 0xffff));
    put(REG_ABOVE_4G, 3, units(high, 64 * KiB, 0xff_ffff));
  }
}

/** Whether a multiple of `period` lies in (from, to]. */
function crossed(from: number, to: number, period: number): boolean {
  return Math.floor(to / period) > Math.floor(from / period);
}

/** `n` modulo `m`, non-negative. */
function mod(n: number, m: number): number {
  return ((n % m) + m) % m;
}
