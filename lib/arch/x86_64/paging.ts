/**
 * Identity-mapping page tables for the flat-guest modes (SDM Vol. 3A §4.3 32-bit paging with
 * 4 MiB pages, §4.5 4-level paging with 2 MiB pages).
 *
 * @module
 */

/** Page-table entry bit: present. */
export const PTE_PRESENT = 1 << 0;
/** Page-table entry bit: writable. */
export const PTE_WRITABLE = 1 << 1;
/** Page-directory entry bit: maps a large page (PS). */
export const PTE_PAGE_SIZE = 1 << 7;

const PAGE = 4096;
const GIB = 2 ** 30;

/**
 * Writes a 32-bit page directory at `address` mapping all 4 GiB with 4 MiB pages
 * (needs CR4.PSE). Returns the value for CR3.
 */
export function writePageDirectory32(memory: DataView, address: number): number {
  for (let i = 0; i < 1024; i++) {
    const entry = (i * 0x40_0000 + (PTE_PRESENT | PTE_WRITABLE | PTE_PAGE_SIZE)) >>> 0;
    memory.setUint32(address + 4 * i, entry, true);
  }
  return address;
}

/** Bytes {@link writePageTables64} needs to identity-map `bytes` of address space. */
export function pageTables64Size(bytes: number): number {
  return (2 + Math.ceil(bytes / GIB)) * PAGE;
}

/**
 * Writes a PML4, one PDPT and one page directory per GiB at `address`, identity-mapping
 * `[0, bytes)` (rounded up to 1 GiB, at most 512 GiB) with 2 MiB pages. Returns the value for CR3.
 */
export function writePageTables64(memory: DataView, address: number, bytes: number): number {
  const gibs = Math.ceil(bytes / GIB);
  if (gibs > 512) throw new RangeError("Cannot map more than 512 GiB with one PDPT");
  const pml4 = address;
  const pdpt = address + PAGE;
  const flags = BigInt(PTE_PRESENT | PTE_WRITABLE);
  new Uint8Array(memory.buffer, memory.byteOffset + address, pageTables64Size(bytes)).fill(0);
  memory.setBigUint64(pml4, BigInt(pdpt) | flags, true);
  for (let g = 0; g < gibs; g++) {
    const pd = address + (2 + g) * PAGE;
    memory.setBigUint64(pdpt + 8 * g, BigInt(pd) | flags, true);
    for (let e = 0; e < 512; e++) {
      const physical = BigInt(g) * BigInt(GIB) + BigInt(e) * 0x20_0000n;
      memory.setBigUint64(pd + 8 * e, physical | flags | BigInt(PTE_PAGE_SIZE), true);
    }
  }
  return pml4;
}
