/**
 * The vCPU run loop: KVM_RUN, dispatch, repeat, until something says stop.
 *
 * @module
 */

import { EXIT_REASONS } from "../kvm/abi.ts";
import type { VcpuFd } from "../kvm/vcpu_fd.ts";
import type { ExitDispatcher } from "./exit_dispatch.ts";
import type { ExitStats } from "./exit_stats.ts";
import type { VcpuKicker } from "./kicker.ts";
import type { StopReason } from "./stop_reason.ts";

/** Shared between the loop and the devices/handlers that may ask it to stop. */
export class RunControl {
  /** Set by a device or handler to stop the VM after the current exit. */
  stopRequest: StopReason | null = null;
  /** Set by `abort()`. */
  aborted = false;
  /** `performance.now()` after which the run times out (Infinity: never). */
  deadline = Infinity;
  /** The reason of the last exit this loop saw (-1 before the first of each loop). */
  lastExitReason = -1;
  /**
   * An I/O or MMIO exit that completing the previous run's last access produced (-1: none):
   * its request is in `kvm_run`, and the next run handles it before entering the guest.
   */
  pendingExit = -1;
  /**
   * Whether a signal that interrupts KVM_RUN before the deadline ends the run (as a "timeout" of
   * the slice) instead of re-entering the guest: set for sliced runs, so a stop signal or an
   * input wake-up is handled at once rather than at the slice's end.
   */
  endOnSignal = false;

  /** Asks the loop to stop with `reason` once the current exit is handled. */
  requestStop(reason: StopReason): void {
    this.stopRequest ??= reason;
  }
}

/** How often (in exits) the loop looks at the clock when exits keep coming. */
const CLOCK_CHECK_EVERY = 256;

/**
 * Runs `vcpu` until a stop reason: a device's stop request, a fatal exit, the deadline, or an
 * abort. With a finite deadline, `kicker` interrupts a KVM_RUN that does not return by itself.
 */
export function runLoop(
  vcpu: VcpuFd,
  dispatcher: ExitDispatcher,
  stats: ExitStats,
  control: RunControl,
  kicker: VcpuKicker | undefined,
): StopReason {
  if (kicker && control.deadline !== Infinity) {
    kicker.armAfter(control.deadline - performance.now());
  }
  // A loop that stops before its first exit leaves no access of its own to complete.
  control.lastExitReason = -1;
  try {
    let sinceClockCheck = 0;
    while (true) {
      if (control.stopRequest) return control.stopRequest;
      if (control.aborted) return { kind: "aborted" };
      let reason = control.pendingExit;
      if (reason === -1) reason = vcpu.run();
      else control.pendingExit = -1;
      control.lastExitReason = reason;
      stats.countExit(reason);
      if (reason === EXIT_REASONS.KVM_EXIT_INTR) {
        vcpu.setImmediateExit(false);
        if (control.endOnSignal || performance.now() >= control.deadline) {
          return { kind: "timeout" };
        }
        continue;
      }
      const stop = dispatcher.dispatch(reason);
      if (stop) return stop;
      if (++sinceClockCheck === CLOCK_CHECK_EVERY) {
        sinceClockCheck = 0;
        if (performance.now() >= control.deadline) return { kind: "timeout" };
      }
    }
  } finally {
    kicker?.disarm();
  }
}
