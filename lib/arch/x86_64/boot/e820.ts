/**
 * The guest's physical memory map: the e820 table handed to Linux and the RAM slots behind it,
 * with the legacy hole below 1 MiB and the 32-bit MMIO gap from 3 GiB to 4 GiB.
 *
 * @module
 */

// Documentation/arch/x86/zero-page.rst (e820_table) and the ACPI "Address Range Types" that
// e820 and Xen's hvm_memmap_table_entry share.

/** E820_TYPE_RAM: usable RAM. */
export const E820_RAM = 1;
/** E820_TYPE_RESERVED: not usable. */
export const E820_RESERVED = 2;
/** E820_TYPE_ACPI: ACPI reclaimable. */
export const E820_ACPI = 3;
/** E820_TYPE_NVS: ACPI NVS. */
export const E820_NVS = 4;
/** E820_TYPE_UNUSABLE: bad memory. */
export const E820_UNUSABLE = 5;

/**
 * Start of the Extended BIOS Data Area as real PCs report it (639 KiB): conventional RAM ends
 * here; [0x9fc00, 0x100000) is the EBDA, VGA memory and the BIOS ROMs.
 */
export const EBDA_START = 0x9fc00;
/** 1 MiB: start of extended memory, where the legacy hole ends. */
export const HIGH_MEMORY_START = 0x10_0000;
/** Start of the 32-bit MMIO gap (3 GiB): no RAM from here to 4 GiB. */
export const MMIO_GAP_START = 0xc000_0000;
/** End of the 32-bit MMIO gap (4 GiB): RAM above 3 GiB continues here. */
export const MMIO_GAP_END = 0x1_0000_0000;

/** One e820 entry: [address, address + size) of `type`. */
export interface E820Entry {
  /** Start, guest-physical. */
  address: number;
  /** Length in bytes. */
  size: number;
  /** E820_RAM, E820_RESERVED, ... */
  type: number;
}

/** A KVM memory slot: `size` bytes at `guestAddress`, backed at `hostOffset` in the RAM buffer. */
export interface RamRegion {
  /** Guest-physical start. */
  guestAddress: number;
  /** Length in bytes. */
  size: number;
  /** Offset into the one host allocation of `memSize` bytes. */
  hostOffset: number;
}

function checkSize(memSize: number): void {
  if (!Number.isSafeInteger(memSize) || memSize <= 0) {
    throw new RangeError(`guest RAM size ${memSize} is not a positive integer`);
  }
}

/**
 * Guest-physical RAM slots for `memSize` bytes of RAM in one host allocation: slot 0 is
 * [0, min(memSize, 3 GiB)) at host offset 0; if memSize is larger, slot 1 holds the rest at
 * 4 GiB (host offset 3 GiB), leaving the MMIO gap unbacked.
 */
export function ramRegions(memSize: number): RamRegion[] {
  checkSize(memSize);
  const low = Math.min(memSize, MMIO_GAP_START);
  const regions: RamRegion[] = [{ guestAddress: 0, size: low, hostOffset: 0 }];
  if (memSize > low) {
    regions.push({ guestAddress: MMIO_GAP_END, size: memSize - low, hostOffset: low });
  }
  return regions;
}

/**
 * The e820 map for `memSize` bytes of RAM laid out as {@link ramRegions}: usable
 * [0, 0x9fc00), reserved [0x9fc00, 0x100000) (EBDA, VGA, BIOS), usable [0x100000,
 * min(memSize, 3 GiB)), and above 3 GiB of RAM the rest as usable from 4 GiB. RAM below 1 MiB
 * that falls in the hole is left out (it is not reported as usable).
 */
export function buildE820(memSize: number): E820Entry[] {
  checkSize(memSize);
  const map: E820Entry[] = [
    { address: 0, size: Math.min(memSize, EBDA_START), type: E820_RAM },
    { address: EBDA_START, size: HIGH_MEMORY_START - EBDA_START, type: E820_RESERVED },
  ];
  const lowEnd = Math.min(memSize, MMIO_GAP_START);
  if (lowEnd > HIGH_MEMORY_START) {
    map.push({ address: HIGH_MEMORY_START, size: lowEnd - HIGH_MEMORY_START, type: E820_RAM });
  }
  if (memSize > MMIO_GAP_START) {
    map.push({ address: MMIO_GAP_END, size: memSize - MMIO_GAP_START, type: E820_RAM });
  }
  return map;
}
