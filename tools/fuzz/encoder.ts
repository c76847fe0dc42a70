/**
 * A tiny x86 encoder for the fuzzer: the few instruction forms it emits, for 16-, 32- and 64-bit
 * code, with the operand-size, address-size and REX prefixes each needs.
 *
 * @module
 */

/** Default operand/address size of the code being encoded. */
export type Bits = 16 | 32 | 64;
/** Operand size of one instruction. */
export type Size = 8 | 16 | 32 | 64;

/** General registers by encoding (AL/AX/EAX/RAX = 0 ...). */
export const REG = { AX: 0, CX: 1, DX: 2, BX: 3, SP: 4, BP: 5, SI: 6, DI: 7 } as const;
/** Segment registers by encoding (CS = 1 is never a MOV destination). */
export const SREG = { ES: 0, CS: 1, SS: 2, DS: 3, FS: 4, GS: 5 } as const;

/** `value` as `n` little-endian bytes (bigint for 64-bit immediates). */
export function le(value: number | bigint, n: number): number[] {
  let v = BigInt.asUintN(n * 8, BigInt(value));
  const out: number[] = [];
  for (let i = 0; i < n; i++, v >>= 8n) out.push(Number(v & 0xffn));
  return out;
}

/** A ModRM byte. */
export function modrm(mod: number, reg: number, rm: number): number {
  return (mod << 6) | ((reg & 7) << 3) | (rm & 7);
}

/**
 * Encodes instructions for one code size. Memory operands are always `[BX]` (16-bit) or
 * `[EBX]`/`[RBX]`, optionally with an 8-bit displacement: load the address with {@link movAddr}.
 *
 * @example
 * ```ts
 * import { Encoder } from "./encoder.ts";
 * console.log(new Encoder(16).out(8)); // [ 238 ] (out dx, al)
 * ```
 */
export class Encoder {
  /** The code size. */
  readonly bits: Bits;

  /** An encoder for `bits`-bit code. */
  constructor(bits: Bits) {
    this.bits = bits;
  }

  /** The operand-size prefix (0x66) or REX.W (0x48) an operand of `size` needs, if any. */
  opsize(size: Size): number[] {
    if (size === 8) return [];
    if (size === 64) {
      if (this.bits !== 64) throw new RangeError("64-bit operands need 64-bit code");
      return [0x48];
    }
    return (size === 16) === (this.bits === 16) ? [] : [0x66];
  }

  /** The widest ordinary operand size: 16 in 16-bit code, else 32. */
  get word(): Size {
    return this.bits === 16 ? 16 : 32;
  }

  /** `mov reg, imm` (B0+r / B8+r; REX.W B8+r imm64). */
  movImm(reg: number, size: Size, value: number | bigint): number[] {
    if (size === 8) return [0xb0 + reg, ...le(value, 1)];
    return [...this.opsize(size), 0xb8 + reg, ...le(value, size / 8)];
  }

  /** Loads the memory-operand base register (BX, EBX or RBX) with `address`. */
  movAddr(address: number | bigint): number[] {
    if (this.bits === 16) return this.movImm(REG.BX, 16, address);
    if (this.bits === 64 && BigInt(address) > 0xffff_ffffn) return this.movImm(REG.BX, 64, address);
    return this.movImm(REG.BX, 32, address);
  }

  /** ModRM (and disp8) for `[BX]`/`[EBX]`/`[RBX]` + `disp` with `reg` in the reg field. */
  mem(reg: number, disp = 0): number[] {
    const rm = this.bits === 16 ? 7 : 3;
    return disp === 0 ? [modrm(0, reg, rm)] : [modrm(1, reg, rm), disp & 0xff];
  }

  /** `mov [base+disp], AL/AX/EAX/RAX` (88 / 89). */
  store(size: Size, disp = 0): number[] {
    return [...this.opsize(size), size === 8 ? 0x88 : 0x89, ...this.mem(REG.AX, disp)];
  }

  /** `mov AL/AX/EAX/RAX, [base+disp]` (8A / 8B). */
  load(size: Size, disp = 0): number[] {
    return [...this.opsize(size), size === 8 ? 0x8a : 0x8b, ...this.mem(REG.AX, disp)];
  }

  /** `mov size [base+disp], imm` (C6 /0 ib, C7 /0 iw/id; 64-bit: imm32 sign-extended). */
  storeImm(size: Size, value: number, disp = 0): number[] {
    const immSize = size === 8 ? 1 : size === 16 ? 2 : 4;
    const op = size === 8 ? 0xc6 : 0xc7;
    return [...this.opsize(size), op, ...this.mem(0, disp), ...le(value, immSize)];
  }

  /** `out imm8, AL/AX/EAX` (E6/E7), or `out dx, ...` (EE/EF) without a port. */
  out(size: 8 | 16 | 32, port?: number): number[] {
    const prefix = this.opsize(size);
    if (port === undefined) return [...prefix, size === 8 ? 0xee : 0xef];
    return [...prefix, size === 8 ? 0xe6 : 0xe7, port & 0xff];
  }

  /** `in AL/AX/EAX, imm8` (E4/E5), or `in ..., dx` (EC/ED) without a port. */
  in(size: 8 | 16 | 32, port?: number): number[] {
    const prefix = this.opsize(size);
    if (port === undefined) return [...prefix, size === 8 ? 0xec : 0xed];
    return [...prefix, size === 8 ? 0xe4 : 0xe5, port & 0xff];
  }

  /** `[rep] outs`/`ins` of `size` (6E/6F, 6C/6D); `addr32` flips the address size (0x67). */
  stringIo(op: "outs" | "ins", size: 8 | 16 | 32, rep: boolean, flipAddress = false): number[] {
    const base = op === "outs" ? 0x6e : 0x6c;
    return [
      ...(rep ? [0xf3] : []),
      ...(flipAddress ? [0x67] : []),
      ...this.opsize(size),
      size === 8 ? base : base + 1,
    ];
  }

  /** `mov crN, reg` (0F 22 /r). */
  movToCr(cr: number, reg: number = REG.AX): number[] {
    return [0x0f, 0x22, modrm(3, cr, reg)];
  }

  /** `mov reg, crN` (0F 20 /r). */
  movFromCr(cr: number, reg: number = REG.AX): number[] {
    return [0x0f, 0x20, modrm(3, cr, reg)];
  }

  /** `xor EAX, imm32` (35 id); in 64-bit code it zero-extends into RAX. */
  xorAccumulator(value: number): number[] {
    return [...this.opsize(32), 0x35, ...le(value, 4)];
  }

  /** `lgdt`/`lidt`/`sgdt`/`sidt [base]` (0F 01 /2, /3, /0, /1). */
  descriptorTable(op: "lgdt" | "lidt" | "sgdt" | "sidt"): number[] {
    const reg = { sgdt: 0, sidt: 1, lgdt: 2, lidt: 3 }[op];
    return [0x0f, 0x01, ...this.mem(reg)];
  }

  /** `jmp far`/`call far ptr16:16/32` (EA / 9A); invalid in 64-bit code. */
  farDirect(op: "jmp" | "call", selector: number, offset: number, size: 16 | 32): number[] {
    if (this.bits === 64) throw new RangeError("jmp/call ptr16:xx is invalid in 64-bit code");
    const opcode = op === "jmp" ? 0xea : 0x9a;
    return [...this.opsize(size), opcode, ...le(offset, size / 8), ...le(selector, 2)];
  }

  /** `jmp far`/`call far [base]` (FF /5, FF /3): a m16:16/32/64 pointer in memory. */
  farIndirect(op: "jmp" | "call", size: 16 | 32 | 64): number[] {
    return [...this.opsize(size), 0xff, ...this.mem(op === "jmp" ? 5 : 3)];
  }

  /** `mov sreg, reg` (8E /r). */
  movToSreg(sreg: number, reg: number = REG.AX): number[] {
    return [0x8e, modrm(3, sreg, reg)];
  }

  /** `int n` (CD ib). */
  int(vector: number): number[] {
    return [0xcd, vector & 0xff];
  }

  /** A short jump (EB), `loop` (E2) or `jnz` (75) to `target`, for one placed at `at`. */
  jumpShort(op: "jmp" | "loop" | "jnz", at: number, target: number): number[] {
    const rel = target - (at + 2);
    if (rel < -128 || rel > 127) throw new RangeError(`short jump of ${rel} bytes`);
    return [{ jmp: 0xeb, loop: 0xe2, jnz: 0x75 }[op], rel & 0xff];
  }

  /** `dec CX/ECX/RCX` (FF /1, never the 0x48+r form that is REX in 64-bit code). */
  decCounter(): number[] {
    return [...this.opsize(this.bits === 64 ? 64 : this.word), 0xff, modrm(3, 1, REG.CX)];
  }

  /** `iret`/`iretd`/`iretq` of the code's natural size (CF). */
  iret(): number[] {
    return [...(this.bits === 64 ? [0x48] : []), 0xcf];
  }

  /** One-byte and two-byte instructions by name. */
  static readonly SIMPLE = {
    hlt: [0xf4],
    cli: [0xfa],
    sti: [0xfb],
    cld: [0xfc],
    std: [0xfd],
    nop: [0x90],
    pushf: [0x9c],
    popf: [0x9d],
    retf: [0xcb],
    int3: [0xcc],
    int1: [0xf1],
    cpuid: [0x0f, 0xa2],
    rdtsc: [0x0f, 0x31],
    rdmsr: [0x0f, 0x32],
    wrmsr: [0x0f, 0x30],
  } as const;
}
