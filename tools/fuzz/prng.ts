/**
 * A small seeded PRNG (xoshiro128** seeded through splitmix32) so every fuzz image is reproducible
 * from its seed and index alone.
 *
 * @module
 */

/** One step of splitmix32: advances `state` and returns a well-mixed 32-bit value. */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * xoshiro128** (Blackman and Vigna): 128 bits of state, 32-bit outputs. Never uses Math.random.
 *
 * @example The same seed and index give the same numbers
 * ```ts
 * import { Prng } from "./prng.ts";
 * console.log(Prng.forImage(7, 3).u32() === Prng.forImage(7, 3).u32()); // true
 * ```
 */
export class Prng {
  #s0: number;
  #s1: number;
  #s2: number;
  #s3: number;

  /** Seeds the generator from 32-bit `seed` and an optional `stream` (e.g. the image index). */
  constructor(seed: number, stream = 0) {
    const state = { s: (seed ^ Math.imul(stream + 1, 0x6a09e667)) | 0 };
    splitmix32(state);
    state.s = (state.s + Math.imul(stream, 0x3c6ef372)) | 0;
    this.#s0 = splitmix32(state) | 0;
    this.#s1 = splitmix32(state) | 0;
    this.#s2 = splitmix32(state) | 0;
    this.#s3 = splitmix32(state) | 0;
    if ((this.#s0 | this.#s1 | this.#s2 | this.#s3) === 0) this.#s0 = 1;
  }

  /** The generator for image `index` of run `seed`: independent of every other image. */
  static forImage(seed: number, index: number): Prng {
    return new Prng(seed >>> 0, index >>> 0);
  }

  /** The next unsigned 32-bit value. */
  u32(): number {
    const s1 = this.#s1;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9);
    const t = s1 << 9;
    this.#s2 ^= this.#s0;
    this.#s3 ^= this.#s1;
    this.#s1 ^= this.#s2;
    this.#s0 ^= this.#s3;
    this.#s2 ^= t;
    this.#s3 = rotl(this.#s3, 11);
    return result >>> 0;
  }

  /** An integer in `[0, n)` (n ≤ 2^32). */
  below(n: number): number {
    return Math.floor((this.u32() / 0x1_0000_0000) * n);
  }

  /** An integer in `[low, high]`. */
  range(low: number, high: number): number {
    return low + this.below(high - low + 1);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.u32() / 0x1_0000_0000 < p;
  }

  /** One element of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)];
  }

  /** One key of `weights`, chosen with probability proportional to its weight. */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    const keys = Object.keys(weights) as K[];
    let total = 0;
    for (const key of keys) total += weights[key];
    let x = this.u32() / 0x1_0000_0000 * total;
    for (const key of keys) {
      x -= weights[key];
      if (x < 0) return key;
    }
    return keys[keys.length - 1];
  }

  /** `n` random bytes. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
