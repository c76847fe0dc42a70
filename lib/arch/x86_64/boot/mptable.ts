/**
 * Writer of the Intel MultiProcessor Specification 1.4 tables that tell an ACPI-less Linux where
 * the local APICs and the IOAPIC are and how the ISA IRQs reach them.
 *
 * @module
 */

import { checkGuestRange, hex, viewOf } from "./_mem.ts";

// Intel MultiProcessor Specification, version 1.4 (May 1997), chapter 4. Layout at `address`:
//   +0   MP floating pointer structure (§4.1, Table 4-1)      16 bytes
//   +16  MP configuration table header (§4.2, Table 4-2)      44 bytes
//   +60  processor entries (§4.3.1, Table 4-4)                20 bytes each, cpu 0 first
//   ...  one bus entry: ISA (§4.3.2, Table 4-7)                8 bytes
//   ...  one I/O APIC entry (§4.3.3, Table 4-9)                8 bytes
//   ...  16 I/O interrupt entries: ISA IRQ i → INTIN i (§4.3.4, Table 4-10)  8 bytes each
//   ...  2 local interrupt entries: ExtINT → LINT0, NMI → LINT1 (§4.3.5, Table 4-12)
// 220 + 20 × cpus bytes: 240 for 1 CPU, 860 for 32, so all of it fits the last KiB of base memory.
//
// IRQ 0 goes to INTIN0, not INTIN2 as on PC chipsets: the table must describe the wiring that
// exists, and microvmm keeps KVM's default GSI routing (kvm_setup_default_irq_routing: GSI i →
// PIC pin i and IOAPIC pin i for i < 16), so the in-kernel PIT's GSI 0 reaches IOAPIC pin 0.
// Linux's check_timer() takes the timer pin from this table (find_isa_irq_pin(0, mp_INT)); a pin 2
// entry would only be right with a KVM_SET_GSI_ROUTING of GSI 0 → pin 2, as QEMU installs. The
// 8259's INTR reaches the CPUs through LINT0 (virtual wire), not through an IOAPIC pin, so there is
// no ExtINT I/O interrupt entry and IMCR stays off.

/** Where microvmm puts the table: the last KiB of base memory (639 KiB), which Linux scans. */
export const MPTABLE_ADDRESS = 0x9fc00;
/** Where that KiB ends (640 KiB, the VGA hole); the table must end at or before it. */
export const MPTABLE_LIMIT = 0xa0000;
/** Most CPUs (local APIC ids 0..31) {@link writeMpTable} describes. */
export const MP_MAX_CPUS = 32;

/** "_MP_": the floating pointer signature (§4.1, Table 4-1). */
export const MPF_SIGNATURE = "_MP_";
/** "PCMP": the configuration table signature (§4.2, Table 4-2). */
export const MPC_SIGNATURE = "PCMP";
/** Specification revision 1.4, in the floating pointer and the table header. */
export const MP_SPEC_REV = 4;
/** OEM id (8 bytes, blank-filled). */
export const MPC_OEM_ID = "MICROVMM";
/** Product id (12 bytes, blank-filled). */
export const MPC_PRODUCT_ID = "KVM GUEST";

/** sizeof the floating pointer structure; its LENGTH field counts 16-byte paragraphs: 1. */
export const MPF_SIZE = 16;
/** Floating pointer field offsets (Table 4-1). */
export const MPF = {
  /** char[4] "_MP_". */
  SIGNATURE: 0,
  /** u32 physical address of the configuration table. */
  PHYSPTR: 4,
  /** u8 length in 16-byte paragraphs (1). */
  LENGTH: 8,
  /** u8 spec revision (4). */
  SPEC_REV: 9,
  /** u8 checksum: the 16 bytes sum to 0. */
  CHECKSUM: 10,
  /** u8 feature 1: 0 = a configuration table is present (else a §5 default configuration). */
  FEATURE1: 11,
  /** u8 feature 2: bit 7 IMCRP (IMCR present, PIC mode); 0 = virtual wire mode. */
  FEATURE2: 12,
} as const;

/** sizeof the configuration table header. */
export const MPC_HEADER_SIZE = 44;
/** Configuration table header field offsets (Table 4-2). */
export const MPC = {
  /** char[4] "PCMP". */
  SIGNATURE: 0,
  /** u16 base table length: header and all entries. */
  LENGTH: 4,
  /** u8 spec revision (4). */
  SPEC_REV: 6,
  /** u8 checksum: the base table's LENGTH bytes sum to 0. */
  CHECKSUM: 7,
  /** char[8] OEM id. */
  OEM_ID: 8,
  /** char[12] product id. */
  PRODUCT_ID: 16,
  /** u32 OEM table pointer (0: none). */
  OEM_TABLE: 28,
  /** u16 OEM table size. */
  OEM_TABLE_SIZE: 32,
  /** u16 entry count. */
  ENTRY_COUNT: 34,
  /** u32 local APIC address. */
  LAPIC_ADDRESS: 36,
  /** u16 extended table length (0: none); a reserved byte follows the extended checksum. */
  EXT_LENGTH: 40,
  /** u8 extended table checksum. */
  EXT_CHECKSUM: 42,
} as const;

/** Entry type codes (§4.3, Table 4-3): processor, bus, I/O APIC, I/O and local interrupt. */
export const MP_ENTRY = { CPU: 0, BUS: 1, IOAPIC: 2, INTSRC: 3, LINTSRC: 4 } as const;
/** sizeof a processor entry; every other base entry is {@link MP_ENTRY_SIZE}. */
export const MP_CPU_SIZE = 20;
/** sizeof the bus, I/O APIC, I/O interrupt and local interrupt entries. */
export const MP_ENTRY_SIZE = 8;

/** Processor entry (Table 4-4): u8 local APIC id, version, CPU flags; u32 signature, features. */
export const MP_CPU = { APIC_ID: 1, APIC_VERSION: 2, FLAGS: 3, SIGNATURE: 4, FEATURES: 8 } as const;
/** CPU FLAGS bit 0, EN: the processor is usable. */
export const MP_CPU_EN = 0x01;
/** CPU FLAGS bit 1, BP: the bootstrap processor. */
export const MP_CPU_BP = 0x02;
/** Local APIC version: 0x14, what KVM's local APIC reports (0x1X: integrated APIC, Table 4-4). */
export const LAPIC_VERSION = 0x14;
/** CPU SIGNATURE (Table 4-5 layout: family 11:8, model 7:4, stepping 3:0): family 6. */
export const MP_CPU_SIGNATURE = 0x600;
/** FEATURE FLAGS (CPUID.1:EDX, Table 4-6): FPU (bit 0) and APIC (bit 9). */
export const MP_CPU_FEATURES = 0x201;

/** Bus entry (Table 4-7): u8 bus id at 1, char[6] bus type at 2. */
export const MP_BUS = { ID: 1, TYPE: 2 } as const;
/** The one bus, ISA, has id 0. */
export const ISA_BUS_ID = 0;
/** Bus type string of ISA (Table 4-8), blank-filled to 6 characters. */
export const BUS_TYPE_ISA = "ISA   ";

/** I/O APIC entry (Table 4-9): u8 id, version, flags; u32 address. */
export const MP_IOAPIC = { ID: 1, VERSION: 2, FLAGS: 3, ADDRESS: 4 } as const;
/** I/O APIC FLAGS bit 0, EN: usable. */
export const MP_IOAPIC_EN = 0x01;
/** I/O APIC version: 0x11, the 82093AA that KVM emulates. */
export const IOAPIC_VERSION = 0x11;
/** Where the I/O APIC's registers are. */
export const IOAPIC_ADDRESS = 0xfec00000;
/** Where each local APIC's registers are. */
export const LAPIC_ADDRESS = 0xfee00000;
/** ISA IRQs given an I/O interrupt entry: 0–15, to IOAPIC pins 0–15. */
export const ISA_IRQS = 16;

/**
 * I/O and local interrupt entries (Tables 4-10, 4-12): u8 interrupt type, u16 flags (PO bits
 * 1:0, EL bits 3:2), u8 source bus id, source bus IRQ, destination APIC id, destination pin.
 */
export const MP_IRQ = { TYPE: 1, FLAGS: 2, SRC_BUS: 4, SRC_IRQ: 5, DST_ID: 6, DST_PIN: 7 } as const;
/** Interrupt types (Table 4-11). */
export const MP_INT_TYPE = { INT: 0, NMI: 1, SMI: 2, EXTINT: 3 } as const;
/** Interrupt flags 0: polarity and trigger conform to the bus (ISA: active high, edge). */
export const MP_IRQ_CONFORMS = 0;
/** Destination local APIC id 0xff: every local APIC (Table 4-12). */
export const MP_ALL_LAPICS = 0xff;

/** The 8-byte entries after the processors: the bus, the IOAPIC, 16 IRQs, LINT0 and LINT1. */
const FIXED_ENTRIES = 1 + 1 + ISA_IRQS + 2;

/** Entries in the configuration table for `cpus` CPUs (its ENTRY COUNT). */
export function mpEntryCount(cpus: number): number {
  return cpus + FIXED_ENTRIES;
}

/** Bytes {@link writeMpTable} writes for `cpus` CPUs, floating pointer included. */
export function mpTableSize(cpus: number): number {
  return MPF_SIZE + MPC_HEADER_SIZE + cpus * MP_CPU_SIZE + FIXED_ENTRIES * MP_ENTRY_SIZE;
}

/** The byte that makes `bytes` sum to 0 mod 256 when added. */
function checksum(bytes: Uint8Array): number {
  return (256 - (bytes.reduce((sum, b) => sum + b, 0) & 0xff)) & 0xff;
}

/**
 * Writes the MP floating pointer structure at `address` in `memory` (guest RAM, index =
 * guest-physical address) and the MP configuration table right after it, for `cpus` CPUs with
 * local APIC ids 0..cpus-1 (cpu 0 the bootstrap processor), an ISA bus, and an IOAPIC with id
 * `cpus` at {@link IOAPIC_ADDRESS}. `address` must be 16-byte aligned (Linux scans in steps of 16)
 * and the table must end at or before {@link MPTABLE_LIMIT}, inside the KiB Linux scans. Returns
 * the first address past the table.
 */
export function writeMpTable(memory: Uint8Array, address: number, cpus: number): number {
  if (!Number.isInteger(cpus) || cpus < 1 || cpus > MP_MAX_CPUS) {
    throw new RangeError(`MP table: ${cpus} CPUs is not between 1 and ${MP_MAX_CPUS}`);
  }
  if (!Number.isSafeInteger(address) || address % 16 !== 0) {
    throw new RangeError(`MP table address ${address} is not 16-byte aligned`);
  }
  const size = mpTableSize(cpus);
  if (address < MPTABLE_ADDRESS || address + size > MPTABLE_LIMIT) {
    throw new RangeError(
      `MP table for ${cpus} CPUs [${hex(address)}, ${hex(address + size)}) does not fit ` +
        `[${hex(MPTABLE_ADDRESS)}, ${hex(MPTABLE_LIMIT)}), the last KiB of base memory`,
    );
  }
  checkGuestRange(memory, address, size, "MP table");
  const table = memory.subarray(address, address + size);
  table.fill(0);
  const view = viewOf(table);
  const ascii = (at: number, text: string, width: number) =>
    table.set(new TextEncoder().encode(text.padEnd(width, " ")), at);

  // Floating pointer (Table 4-1); feature bytes stay 0: config table present, no IMCR.
  ascii(MPF.SIGNATURE, MPF_SIGNATURE, 4);
  view.setUint32(MPF.PHYSPTR, address + MPF_SIZE, true);
  table[MPF.LENGTH] = MPF_SIZE / 16;
  table[MPF.SPEC_REV] = MP_SPEC_REV;
  table[MPF.CHECKSUM] = checksum(table.subarray(0, MPF_SIZE));

  // Configuration table header (Table 4-2); OEM table and extended table absent (0).
  const mpc = MPF_SIZE;
  ascii(mpc + MPC.SIGNATURE, MPC_SIGNATURE, 4);
  view.setUint16(mpc + MPC.LENGTH, size - MPF_SIZE, true);
  table[mpc + MPC.SPEC_REV] = MP_SPEC_REV;
  ascii(mpc + MPC.OEM_ID, MPC_OEM_ID, 8);
  ascii(mpc + MPC.PRODUCT_ID, MPC_PRODUCT_ID, 12);
  view.setUint16(mpc + MPC.ENTRY_COUNT, mpEntryCount(cpus), true);
  view.setUint32(mpc + MPC.LAPIC_ADDRESS, LAPIC_ADDRESS, true);

  let at = mpc + MPC_HEADER_SIZE;
  for (let cpu = 0; cpu < cpus; cpu++, at += MP_CPU_SIZE) {
    table[at] = MP_ENTRY.CPU;
    table[at + MP_CPU.APIC_ID] = cpu;
    table[at + MP_CPU.APIC_VERSION] = LAPIC_VERSION;
    table[at + MP_CPU.FLAGS] = MP_CPU_EN | (cpu === 0 ? MP_CPU_BP : 0);
    view.setUint32(at + MP_CPU.SIGNATURE, MP_CPU_SIGNATURE, true);
    view.setUint32(at + MP_CPU.FEATURES, MP_CPU_FEATURES, true);
  }

  table[at] = MP_ENTRY.BUS;
  table[at + MP_BUS.ID] = ISA_BUS_ID;
  ascii(at + MP_BUS.TYPE, BUS_TYPE_ISA, 6);
  at += MP_ENTRY_SIZE;

  const ioapicId = cpus; // unique on the APIC bus: the local APICs have 0..cpus-1
  table[at] = MP_ENTRY.IOAPIC;
  table[at + MP_IOAPIC.ID] = ioapicId;
  table[at + MP_IOAPIC.VERSION] = IOAPIC_VERSION;
  table[at + MP_IOAPIC.FLAGS] = MP_IOAPIC_EN;
  view.setUint32(at + MP_IOAPIC.ADDRESS, IOAPIC_ADDRESS, true);
  at += MP_ENTRY_SIZE;

  const interrupt = (entry: number, type: number, irq: number, dstId: number, pin: number) => {
    table[at] = entry;
    table[at + MP_IRQ.TYPE] = type;
    view.setUint16(at + MP_IRQ.FLAGS, MP_IRQ_CONFORMS, true);
    table[at + MP_IRQ.SRC_BUS] = ISA_BUS_ID;
    table[at + MP_IRQ.SRC_IRQ] = irq;
    table[at + MP_IRQ.DST_ID] = dstId;
    table[at + MP_IRQ.DST_PIN] = pin;
    at += MP_ENTRY_SIZE;
  };
  for (let irq = 0; irq < ISA_IRQS; irq++) {
    interrupt(MP_ENTRY.INTSRC, MP_INT_TYPE.INT, irq, ioapicId, irq);
  }
  interrupt(MP_ENTRY.LINTSRC, MP_INT_TYPE.EXTINT, 0, MP_ALL_LAPICS, 0);
  interrupt(MP_ENTRY.LINTSRC, MP_INT_TYPE.NMI, 0, MP_ALL_LAPICS, 1);

  table[mpc + MPC.CHECKSUM] = checksum(table.subarray(mpc));
  return address + size;
}
