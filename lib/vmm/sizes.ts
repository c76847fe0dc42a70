/**
 * Parsing of sizes ("64M", "1G") and addresses ("0x1000") given by users.
 *
 * @module
 */

import { ConfigError } from "./config_error.ts";

const UNITS: Record<string, number> = { "": 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30 };

/**
 * Parses a byte size: a decimal number with an optional K, M or G suffix (binary units, an
 * optional trailing "B" or "iB"), e.g. `2M`, `64MiB`, `1G`, `65536`.
 *
 * @example
 * ```ts
 * import { parseSize } from "./sizes.ts";
 * console.log(parseSize("2M", "--mem")); // 2097152
 * ```
 */
export function parseSize(text: string, what: string): number {
  const match = /^(\d+)\s*([KMG]?)(i?B)?$/i.exec(text.trim());
  if (!match) throw new ConfigError(`${what}: "${text}" is not a size (use e.g. 2M, 64M, 1G)`);
  const value = Number(match[1]) * UNITS[match[2].toUpperCase()];
  if (!Number.isSafeInteger(value)) throw new ConfigError(`${what}: "${text}" is too large`);
  return value;
}

/**
 * Parses a guest address: hexadecimal with 0x, or decimal, non-negative and below 2^52.
 *
 * @example
 * ```ts
 * import { parseAddress } from "./sizes.ts";
 * console.log(parseAddress("0x1000", "--load")); // 4096
 * ```
 */
export function parseAddress(text: string, what: string): number {
  const trimmed = text.trim();
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(trimmed)) {
    throw new ConfigError(`${what}: "${text}" is not an address (use e.g. 0x1000 or 4096)`);
  }
  const value = Number(trimmed);
  if (!Number.isSafeInteger(value) || value >= 2 ** 52) {
    throw new ConfigError(`${what}: "${text}" is too large`);
  }
  return value;
}

/**
 * Checks a byte count given as a number through the API (e.g. `memory`): a whole number of
 * bytes, at most 2^53 - 1, so that no NaN, fraction or rounded-off value reaches the VMM.
 *
 * @example
 * ```ts
 * import { checkByteCount } from "./sizes.ts";
 * console.log(checkByteCount(65536, "memory")); // 65536
 * ```
 */
export function checkByteCount(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new ConfigError(`${what}: ${value} is not a number of bytes (a whole number below 2^53)`);
  }
  return value;
}
