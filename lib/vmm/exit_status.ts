/**
 * The process exit statuses microvmm uses, and the mapping from a stop reason to one.
 *
 * @module
 */

import { isCrash, type StopReason } from "./stop_reason.ts";

/** Exit statuses (documented in README "Exit codes"). */
export const EXIT_STATUS = {
  /** The guest halted, or exited through the exit port with 0. */
  OK: 0,
  /** The guest crashed: triple fault, KVM internal error, failed entry, unhandled exit. */
  GUEST_CRASH: 1,
  /** Bad command line or bad input (guest file, sizes, addresses, modes). */
  USAGE: 2,
  /** /dev/kvm is missing, not accessible, or not usable. */
  KVM_UNAVAILABLE: 3,
  /** The `--timeout` passed. */
  TIMEOUT: 124,
  /** The run was aborted (API `abort()`). */
  ABORTED: 130,
} as const;

/** The exit status for a VM that stopped with `stop`. */
export function statusOf(stop: StopReason): number {
  if (stop.kind === "exit-device") return stop.status;
  if (stop.kind === "timeout") return EXIT_STATUS.TIMEOUT;
  if (stop.kind === "aborted") return EXIT_STATUS.ABORTED;
  return isCrash(stop) ? EXIT_STATUS.GUEST_CRASH : EXIT_STATUS.OK;
}
