/**
 * The fuzz image generator: from a seed and an index, a reproducible guest image for one CPU mode —
 * random bytes, a sequence of valid port/MMIO/system instructions, or such a sequence mutated.
 *
 * @module
 */

import type { CpuMode } from "../../mod.ts";
import { type Bits, Encoder, REG, type Size, SREG } from "./encoder.ts";
import { Prng } from "./prng.ts";

/** Where images are loaded and entered (microvmm's default). */
export const LOAD_ADDRESS = 0x1000;
/** Size of the VMM area at the top of RAM (GDT, page tables, stack). */
const VMM_AREA = 0x1_0000;
/** Device ports worth hitting often (0xf4, the exit port, only rarely: it ends the run). */
export const DEVICE_PORTS = [0xf1, 0xe9, 0x80, 0x60, 0x64, 0x70, 0x71, ...range(0x3f8, 8)];
/** Unbacked guest-physical addresses (besides "just above RAM"). */
const UNBACKED = [0xd000_0000, 0xfec0_0000, 0xfee0_0000, 0xffff_f000, 0xa_0000, 0xf_0000];

/** What an image is made of. */
export type ImageKind = "random" | "valid" | "mutated";

/** One instruction group the generator emitted, at `offset` in the image. */
export interface Insn {
  /** Offset in the image. */
  offset: number;
  /** Its bytes. */
  bytes: number[];
  /** The generator operation that emitted it ("port-out", "mmio-store", ...). */
  op: string;
}

/** A generated guest image and how to run it. */
export interface FuzzImage {
  /** The run's seed. */
  seed: number;
  /** The image's index within the run. */
  index: number;
  /** CPU mode. */
  mode: CpuMode;
  /** Guest RAM in bytes. */
  memSize: number;
  /** How it was made. */
  kind: ImageKind;
  /** The image, loaded at {@link LOAD_ADDRESS}. */
  bytes: Uint8Array;
  /** The instructions, for "valid" images (before mutation for "mutated" ones). */
  insns: Insn[];
}

function range(start: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => start + i);
}

/** The code size a mode starts in. */
export function bitsOf(mode: CpuMode): Bits {
  return mode === "real" ? 16 : mode === "long" ? 64 : 32;
}

/** Operation weights for valid sequences: port I/O and MMIO dominate, HLT is rare. */
const OPS = {
  "port-out": 14,
  "port-in": 8,
  "string-io": 8,
  "mmio-store": 8,
  "mmio-load": 8,
  "vmm-area": 4,
  "control-reg": 4,
  "descriptor": 4,
  "far": 4,
  "int": 2,
  "segment": 3,
  "self-modify": 4,
  "loop": 2,
  "cli-sti": 3,
  "misc": 4,
  "hlt": 0.05,
  "exit-port": 0.05,
} as const;
type Op = keyof typeof OPS;

/** Builds one valid instruction sequence. */
class Sequence {
  readonly insns: Insn[] = [];
  size = 0;
  readonly e: Encoder;

  constructor(readonly rng: Prng, readonly mode: CpuMode, readonly memSize: number) {
    this.e = new Encoder(bitsOf(mode));
  }

  /** Appends instructions (one encoder result each) emitted by operation `op`. */
  emit(op: string, ...parts: (readonly number[])[]): void {
    for (const bytes of parts) {
      this.insns.push({ offset: this.size, bytes: [...bytes], op });
      this.size += bytes.length;
    }
  }

  /** Guest-physical address of the next byte. */
  get here(): number {
    return LOAD_ADDRESS + this.size;
  }

  /** A port access size, bytes twice as often. */
  ioSize(): 8 | 16 | 32 {
    return this.rng.pick([8, 8, 16, 32] as const);
  }

  /** A memory access size (64 bits only in 64-bit code). */
  dataSize(): Size {
    return this.rng.pick(this.e.bits === 64 ? [8, 16, 32, 64] : [8, 16, 32]);
  }

  /** A device port 60% of the time, else any port; the exit port very rarely. */
  port(): number {
    const r = this.rng;
    if (r.chance(0.003)) return 0xf4;
    return r.chance(0.6) ? r.pick(DEVICE_PORTS) : r.below(0x1_0000);
  }

  /** A value to write: 0, all ones, 'A', a byte or any 32 bits. */
  value(): number {
    return this.rng.pick([0, 0xff, 0x41, this.rng.u32(), this.rng.below(256)]);
  }

  /** Loads the address register with `address`; in real mode through DS = segment. */
  address(op: string, address: number): void {
    if (this.mode !== "real") return this.emit(op, this.e.movAddr(address));
    const segment = address >= 0xf_fff0 ? 0xffff : (address >>> 4) & 0xf000;
    this.emit(op, this.e.movImm(REG.AX, 16, segment), this.e.movToSreg(SREG.DS));
    this.emit(op, this.e.movAddr(address - segment * 16));
  }

  /** An address nobody backs: above RAM, or a fixed hole; within 1 MiB + 64 KiB in real mode. */
  unbacked(): number {
    const r = this.rng;
    const limit = this.mode === "real" ? 0x10_fff0 : this.mode === "long" ? Infinity : 0xffff_fff0;
    const address = this.mode === "long" && r.chance(0.05)
      ? 0x1_0000_0000 + r.below(0x1000) // unmapped: a page fault, then a triple fault
      : r.pick([this.memSize, r.pick(UNBACKED)]) + r.below(0x1000);
    return address > limit || address < this.memSize ? this.memSize + r.below(0x1000) : address;
  }

  /** An address in RAM (below 1 MiB, so real mode reaches it too). */
  ramAddress(): number {
    return this.rng.below(Math.min(this.memSize, 0x10_0000) - 16);
  }

  /** Emits the instructions of one operation. */
  generate(op: Op): void {
    const { e, rng: r } = this;
    switch (op) {
      case "port-out": {
        const size = this.ioSize();
        const port = this.port();
        this.emit(op, e.movImm(REG.AX, size, this.value()));
        if (port < 0x100 && r.chance(0.5)) return this.emit(op, e.out(size, port));
        return this.emit(op, e.movImm(REG.DX, 16, port), e.out(size));
      }
      case "port-in": {
        const size = this.ioSize();
        const port = this.port();
        if (port < 0x100 && r.chance(0.5)) return this.emit(op, e.in(size, port));
        return this.emit(op, e.movImm(REG.DX, 16, port), e.in(size));
      }
      case "string-io": {
        const count = r.pick([0, 1, r.below(16), r.below(4096), 0xffff, 0xffff_ffff, r.u32()]);
        const inward = r.chance(0.4);
        this.emit(op, r.chance(0.8) ? Encoder.SIMPLE.cld : Encoder.SIMPLE.std);
        this.emit(op, e.movImm(REG.CX, e.word, count), e.movImm(REG.DX, 16, this.port()));
        const buffer = r.chance(0.5) ? this.ramAddress() : LOAD_ADDRESS + r.below(0x100);
        const reg = inward ? REG.DI : REG.SI;
        this.emit(op, e.movImm(reg, e.word, this.mode === "real" ? buffer & 0xffff : buffer));
        const direction = inward ? "ins" : "outs";
        return this.emit(op, e.stringIo(direction, this.ioSize(), r.chance(0.85), r.chance(0.1)));
      }
      case "mmio-store":
      case "mmio-load":
      case "vmm-area": {
        const address = op === "vmm-area"
          ? Math.min(this.memSize, 0x1_0000_0000) - VMM_AREA + r.below(VMM_AREA - 8)
          : this.unbacked();
        const size = this.dataSize();
        this.address(op, address);
        if (op === "mmio-load" || (op === "vmm-area" && r.chance(0.3))) {
          return this.emit(op, e.load(size));
        }
        if (r.chance(0.5)) return this.emit(op, e.storeImm(size, this.value()));
        return this.emit(op, e.movImm(REG.AX, e.word, this.value()), e.store(size));
      }
      case "control-reg": {
        const cr = r.pick([0, 0, 3, 4, 4, 2]);
        this.emit(op, e.movFromCr(cr));
        if (cr === 2) return;
        const flip = r.chance(0.7) ? 1 << r.below(32) : r.u32();
        return this.emit(op, e.xorAccumulator(flip), e.movToCr(cr));
      }
      case "descriptor": {
        const table = r.pick(["lgdt", "lidt", "lgdt", "lidt", "sgdt", "sidt"] as const);
        this.address(op, r.chance(0.7) ? this.ramAddress() : this.unbacked());
        if (r.chance(0.7)) {
          this.emit(op, e.storeImm(16, r.pick([0, 7, 0x17, 0xff, r.below(0x1_0000)])));
          this.emit(op, e.storeImm(32, r.pick([0, LOAD_ADDRESS, r.u32()]), 2));
        }
        return this.emit(op, e.descriptorTable(table));
      }
      case "far": {
        // Half of them go on to the next instruction through the current code segment.
        const sane = r.chance(0.5);
        const selector = sane ? this.mode === "real" ? 0 : 0x08 : r.pick([0, 0x10, r.u32()]);
        const jmp = r.chance(0.6) ? "jmp" : "call";
        if (e.bits !== 64 && r.chance(0.6)) {
          const size = sane ? e.word as 16 | 32 : r.pick([16, 32] as const);
          const next = this.here + e.farDirect(jmp, 0, 0, size).length;
          const target = (sane ? next : r.u32()) % (size === 16 ? 0x1_0000 : 2 ** 32);
          return this.emit(op, e.farDirect(jmp, selector & 0xffff, target, size));
        }
        const size = e.bits === 64 ? r.pick([32, 64] as const) : e.word as 16 | 32;
        this.address(op, this.ramAddress());
        // The pointer's offset, then the selector after it (the jump's own length is <= 3).
        const store = e.storeImm(32, 0);
        const selectorStore = e.storeImm(16, 0, size / 8);
        const next = this.here + store.length + selectorStore.length + 3;
        this.emit(op, e.storeImm(32, sane ? next : r.u32()), e.storeImm(16, selector, size / 8));
        return this.emit(op, e.farIndirect(jmp, size));
      }
      case "int": {
        if (r.chance(0.1)) return this.emit(op, r.pick([Encoder.SIMPLE.int1, e.iret()]));
        return this.emit(op, e.int(r.pick([0, 3, 6, 8, 13, 14, 0x10, 0x21, 0x80, r.below(256)])));
      }
      case "segment": {
        const sreg = r.pick([SREG.DS, SREG.ES, SREG.SS, SREG.FS, SREG.GS]);
        const usual = this.mode === "real" ? r.below(0x1_0000) : 0x10;
        const selector = r.chance(0.6) ? usual : r.pick([0, 0x08, 0x18, r.below(0x1_0000)]);
        return this.emit(op, e.movImm(REG.AX, 16, selector), e.movToSreg(sreg));
      }
      case "self-modify": {
        this.address(op, LOAD_ADDRESS + this.size + r.range(-16, 64));
        const value = r.pick([0xf4, 0x90, 0xcc, 0xeb, 0xfe, r.below(256)]);
        return this.emit(op, r.chance(0.7) ? e.storeImm(8, value) : e.storeImm(16, r.u32()));
      }
      case "loop": {
        const targets = this.insns.filter((i) => i.offset >= this.size - 100);
        const target = targets.length > 0 ? r.pick(targets).offset : this.size;
        const kind = r.pick(["loop", "loop", "jnz", "jmp"] as const);
        if (kind === "jnz") this.emit(op, e.decCounter());
        if (r.chance(0.5)) this.emit(op, e.movImm(REG.CX, e.word, r.below(64)));
        return this.emit(op, e.jumpShort(kind, this.here, LOAD_ADDRESS + target));
      }
      case "cli-sti":
        return this.emit(op, r.chance(0.5) ? Encoder.SIMPLE.cli : Encoder.SIMPLE.sti);
      case "misc": {
        const name = r.pick(["cpuid", "rdtsc", "rdmsr", "wrmsr", "pushf", "popf", "nop"] as const);
        if (name === "rdmsr" || name === "wrmsr") {
          const msr = r.pick([0x10, 0x1b, 0x174, 0xc000_0080, 0xc000_0100, r.u32()]);
          this.emit(op, e.movImm(REG.CX, 32, msr));
        }
        return this.emit(op, Encoder.SIMPLE[name]);
      }
      case "hlt":
        return this.emit(op, Encoder.SIMPLE.hlt);
      case "exit-port":
        return this.emit(op, e.movImm(REG.AX, 8, r.below(256)), e.out(8, 0xf4));
    }
  }

  /** Ends the sequence: fall through into zeroed RAM, spin, halt or exit. */
  finish(): void {
    const r = this.rng;
    const end = r.weighted({ fall: 6, spin: 1, hlt: 1, exit: 1 });
    if (end === "spin") this.emit("end", this.e.jumpShort("jmp", this.here, this.here));
    if (end === "hlt") this.emit("end", Encoder.SIMPLE.hlt);
    if (end === "exit") this.emit("end", this.e.movImm(REG.AX, 8, 0), this.e.out(8, 0xf4));
  }
}

/** A valid instruction sequence of about `target` bytes for `mode`. */
export function validSequence(rng: Prng, mode: CpuMode, memSize: number, target: number): Insn[] {
  const sequence = new Sequence(rng, mode, memSize);
  while (sequence.size < target) sequence.generate(rng.weighted(OPS));
  sequence.finish();
  return sequence.insns;
}

/** The RAM sizes images run with: small, so VMs are cheap and unbacked addresses are near. */
const MEM_SIZES = { real: [0x1_0000, 0x2_0000, 0x10_0000], other: [0x2_0000, 0x4_0000, 0x20_0000] };

/** Image `index` of run `seed` in `mode`: the same arguments always give the same image. */
export function generateImage(seed: number, index: number, mode: CpuMode): FuzzImage {
  const rng = Prng.forImage(seed, index);
  const memSize = rng.pick(mode === "real" ? MEM_SIZES.real : MEM_SIZES.other);
  const kind = rng.weighted<ImageKind>({ random: 25, valid: 55, mutated: 20 });
  const length = rng.range(8, 768);
  if (kind === "random") {
    return { seed, index, mode, memSize, kind, bytes: rng.bytes(length), insns: [] };
  }
  const insns = validSequence(rng, mode, memSize, length);
  const bytes = new Uint8Array(insns.flatMap((insn) => insn.bytes));
  if (kind === "mutated") {
    for (let flips = rng.range(1, 8); flips > 0; flips--) {
      const at = rng.below(bytes.length);
      bytes[at] = rng.chance(0.5) ? rng.u32() & 0xff : bytes[at] ^ (1 << rng.below(8));
    }
  }
  return { seed, index, mode, memSize, kind, bytes, insns };
}
