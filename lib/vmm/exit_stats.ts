/**
 * ExitStats: counts of vCPU exits by reason, port and MMIO address, for `--trace` and results.
 *
 * @module
 */

import { exitReasonName } from "./exit_names.ts";

/** How many distinct MMIO addresses ExitStats counts one by one, per direction. */
export const MMIO_ADDRESSES_TRACKED = 4096;

/** Counters updated by the exit loop without allocating. */
export class ExitStats {
  /** Exits by KVM exit reason number. */
  readonly byReason: Map<number, number> = new Map();
  /** Port reads (IN) by port, counting each element of string I/O. */
  readonly portReads: Map<number, number> = new Map();
  /** Port writes (OUT) by port. */
  readonly portWrites: Map<number, number> = new Map();
  /** MMIO reads by guest-physical address. */
  readonly mmioReads: Map<number, number> = new Map();
  /** MMIO writes by guest-physical address. */
  readonly mmioWrites: Map<number, number> = new Map();
  /**
   * MMIO accesses to addresses beyond the first {@link MMIO_ADDRESSES_TRACKED} distinct ones
   * (per direction): counted here, so a guest sweeping MMIO cannot grow the maps without bound.
   */
  mmioUntracked = 0;
  /** Port accesses no device claimed. */
  unclaimedPort = 0;
  /** MMIO accesses no device claimed. */
  unclaimedMmio = 0;
  /** All exits. */
  total = 0;

  /** Counts one exit. */
  countExit(reason: number): void {
    this.total++;
    this.byReason.set(reason, (this.byReason.get(reason) ?? 0) + 1);
  }

  /** Counts one MMIO access at `address`. */
  countMmio(isWrite: boolean, address: number): void {
    const counts = isWrite ? this.mmioWrites : this.mmioReads;
    const count = counts.get(address);
    if (count !== undefined) counts.set(address, count + 1);
    else if (counts.size < MMIO_ADDRESSES_TRACKED) counts.set(address, 1);
    else this.mmioUntracked++;
  }

  /** Formats the counts as the `--trace` report, one fact per line. */
  format(): string {
    const lines = [`exits: ${this.total}`];
    const sorted = (map: Map<number, number>) => [...map].sort((a, b) => a[0] - b[0]);
    for (const [reason, count] of sorted(this.byReason)) {
      lines.push(`  ${exitReasonName(reason)}: ${count}`);
    }
    const hex = (n: number, width: number) => `0x${n.toString(16).padStart(width, "0")}`;
    for (const [port, count] of sorted(this.portWrites)) {
      lines.push(`  out ${hex(port, 4)}: ${count}`);
    }
    for (const [port, count] of sorted(this.portReads)) {
      lines.push(`  in  ${hex(port, 4)}: ${count}`);
    }
    for (const [at, count] of sorted(this.mmioWrites)) {
      lines.push(`  mmio write ${hex(at, 8)}: ${count}`);
    }
    for (const [at, count] of sorted(this.mmioReads)) {
      lines.push(`  mmio read  ${hex(at, 8)}: ${count}`);
    }
    if (this.mmioUntracked) {
      lines.push(`  mmio at further addresses (not counted one by one): ${this.mmioUntracked}`);
    }
    lines.push(`  unclaimed port accesses: ${this.unclaimedPort}`);
    lines.push(`  unclaimed MMIO accesses: ${this.unclaimedMmio}`);
    return lines.join("\n");
  }
}
