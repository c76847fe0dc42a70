/**
 * Synthetic kernels for the boot-protocol tests: a minimal ELF64 vmlinux and a minimal bzImage,
 * built byte by byte.
 * @module
 */

/** One program header of {@link makeElf}; `data` goes to the file at `offset` (or appended). */
export interface ElfSegmentSpec {
  type?: number;
  flags?: number;
  vaddr: bigint;
  paddr: number;
  data: Uint8Array;
  memsz?: number;
  /** Overrides p_filesz (default data.length). */
  filesz?: number;
  /** Overrides p_offset (default: where the data is appended). */
  offset?: number;
}

/** Options of {@link makeElf}. */
export interface ElfSpec {
  entry: bigint;
  segments: ElfSegmentSpec[];
  /** Put these note bytes in a SHT_NOTE section instead of a PT_NOTE segment. */
  sectionNotes?: Uint8Array;
  class?: number;
  data?: number;
  machine?: number;
  type?: number;
  phentsize?: number;
}

/** An ELF note: namesz, descsz, type, name (NUL, padded to 4), desc (padded to 4). */
export function note(name: string, type: number, desc: Uint8Array): Uint8Array {
  const nameBytes = new TextEncoder().encode(name + "\0");
  const pad = (n: number) => Math.ceil(n / 4) * 4;
  const out = new Uint8Array(12 + pad(nameBytes.length) + pad(desc.length));
  const v = new DataView(out.buffer);
  v.setUint32(0, nameBytes.length, true);
  v.setUint32(4, desc.length, true);
  v.setUint32(8, type, true);
  out.set(nameBytes, 12);
  out.set(desc, 12 + pad(nameBytes.length));
  return out;
}

/** Little-endian bytes of `value` in `size` bytes (4 or 8). */
export function le(value: number, size: 4 | 8): Uint8Array {
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  if (size === 4) v.setUint32(0, value, true);
  else v.setBigUint64(0, BigInt(value), true);
  return out;
}

/** Builds an ELF64 file: header, program headers, then each segment's data, 16-byte aligned. */
export function makeElf(spec: ElfSpec): Uint8Array {
  const phentsize = spec.phentsize ?? 56;
  const phoff = 64;
  let cursor = phoff + spec.segments.length * phentsize;
  const place = (n: number) => {
    cursor = (cursor + 15) & ~15;
    const at = cursor;
    cursor += n;
    return at;
  };
  const offsets = spec.segments.map((s) => place(s.data.length));
  const shNotesAt = spec.sectionNotes ? place(spec.sectionNotes.length) : 0;
  const shoff = spec.sectionNotes ? place(2 * 64) : 0;
  const out = new Uint8Array(cursor);
  const v = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, spec.class ?? 2, spec.data ?? 1, 1], 0);
  v.setUint16(0x10, spec.type ?? 2, true);
  v.setUint16(0x12, spec.machine ?? 62, true);
  v.setUint32(0x14, 1, true);
  v.setBigUint64(0x18, spec.entry, true);
  v.setBigUint64(0x20, BigInt(phoff), true);
  v.setBigUint64(0x28, BigInt(shoff), true);
  v.setUint16(0x34, 64, true);
  v.setUint16(0x36, phentsize, true);
  v.setUint16(0x38, spec.segments.length, true);
  v.setUint16(0x3a, 64, true);
  v.setUint16(0x3c, spec.sectionNotes ? 2 : 0, true);
  spec.segments.forEach((s, i) => {
    const at = phoff + i * phentsize;
    out.set(s.data, offsets[i]);
    v.setUint32(at, s.type ?? 1, true);
    v.setUint32(at + 4, s.flags ?? 5, true);
    v.setBigUint64(at + 8, BigInt(s.offset ?? offsets[i]), true);
    v.setBigUint64(at + 0x10, s.vaddr, true);
    v.setBigUint64(at + 0x18, BigInt(s.paddr), true);
    v.setBigUint64(at + 0x20, BigInt(s.filesz ?? s.data.length), true);
    v.setBigUint64(at + 0x28, BigInt(s.memsz ?? s.data.length), true);
    v.setBigUint64(at + 0x30, 0x1000n, true);
  });
  if (spec.sectionNotes) {
    out.set(spec.sectionNotes, shNotesAt);
    const sh = shoff + 64; // section 0 is the null section
    v.setUint32(sh + 4, 7, true); // SHT_NOTE
    v.setBigUint64(sh + 0x18, BigInt(shNotesAt), true);
    v.setBigUint64(sh + 0x20, BigInt(spec.sectionNotes.length), true);
  }
  return out;
}

/** Virtual base of the kernel in {@link sampleVmlinux}, like Linux's __START_KERNEL_map + 16 MiB. */
export const KERNEL_VBASE = 0xffff_ffff_8100_0000n;

/**
 * A small vmlinux like Linux's: text at 0x100000 (virtual 0xffffffff81000000), data at 0x102000
 * with 0x1000 bytes of bss, a physical e_entry and a Xen PHYS32_ENTRY note of `pvhSize` bytes.
 */
export function sampleVmlinux(pvhSize: 4 | 8 = 8): Uint8Array {
  const text = new Uint8Array(0x1000).map((_, i) => (i * 7 + 1) & 0xff);
  const data = new Uint8Array(0x800).fill(0xdd);
  const notes = new Uint8Array([
    ...note("Xen", 6, new TextEncoder().encode("linux\0")),
    ...note("GNU", 3, new Uint8Array(20)),
    ...note("Xen", 18, le(0x100040, pvhSize)),
  ]);
  return makeElf({
    entry: 0x100000n,
    segments: [
      { vaddr: KERNEL_VBASE, paddr: 0x100000, data: text, flags: 5 },
      { vaddr: KERNEL_VBASE + 0x2000n, paddr: 0x102000, data, memsz: 0x1800, flags: 6 },
      { type: 4, vaddr: 0n, paddr: 0, data: notes, flags: 4 },
    ],
  });
}

/** Options of {@link makeBzImage}; omitted fields are those of a modern x86-64 kernel. */
export interface BzImageSpec {
  version?: number;
  setupSects?: number;
  loadflags?: number;
  xloadflags?: number;
  relocatable?: number;
  kernelAlignment?: number;
  prefAddress?: number;
  initSize?: number;
  cmdlineSize?: number;
  initrdAddrMax?: number;
  /** The byte at 0x201 (header end = 0x202 + this). */
  jump?: number;
  bootFlag?: number;
  /** The protected-mode kernel. */
  kernel?: Uint8Array;
}

/** Builds a bzImage: setup sectors with a setup header, then the protected-mode kernel. */
export function makeBzImage(spec: BzImageSpec = {}): Uint8Array {
  const sects = spec.setupSects ?? 3;
  const kernel = spec.kernel ?? new Uint8Array(0x3000).map((_, i) => (i * 13 + 5) & 0xff);
  const setupSize = ((sects || 4) + 1) * 512;
  const out = new Uint8Array(setupSize + kernel.length);
  const v = new DataView(out.buffer);
  out[0x1f1] = sects;
  v.setUint16(0x1fe, spec.bootFlag ?? 0xaa55, true);
  out[0x200] = 0xeb;
  out[0x201] = spec.jump ?? 0x6a;
  out.set([0x48, 0x64, 0x72, 0x53], 0x202);
  v.setUint16(0x206, spec.version ?? 0x020f, true);
  out[0x211] = spec.loadflags ?? 0x01;
  v.setUint32(0x22c, spec.initrdAddrMax ?? 0x7fffffff, true);
  v.setUint32(0x230, spec.kernelAlignment ?? 0x200000, true);
  out[0x234] = spec.relocatable ?? 1;
  v.setUint16(0x236, spec.xloadflags ?? 0x7f, true);
  v.setUint32(0x238, spec.cmdlineSize ?? 2047, true);
  v.setBigUint64(0x258, BigInt(spec.prefAddress ?? 0x1000000), true);
  v.setUint32(0x260, spec.initSize ?? 0x8000, true);
  out.set(kernel, setupSize);
  return out;
}
