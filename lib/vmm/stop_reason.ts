/**
 * StopReason: why a VM stopped running, as a tagged union.
 *
 * @module
 */

/** Why the run loop stopped. `kind` names the case. */
export type StopReason =
  /** The guest executed HLT (with nothing to wake it): status 0. */
  | { kind: "hlt" }
  /** A device (the exit port, or an API handler) asked the VM to stop with `status`. */
  | { kind: "exit-device"; status: number }
  /** The guest asked the platform to reset (i8042 reset line: Linux `reboot`, or `poweroff` then panic=N). */
  | { kind: "reset" }
  /** KVM_EXIT_SHUTDOWN: a triple fault. */
  | { kind: "shutdown" }
  /** KVM_EXIT_INTERNAL_ERROR, with the instruction bytes when KVM gave them. */
  | {
    kind: "internal-error";
    suberror: number;
    suberrorName: string;
    data: bigint[];
    instruction?: Uint8Array;
  }
  /** KVM_EXIT_FAIL_ENTRY: the hardware refused the guest state. */
  | { kind: "fail-entry"; hardwareReason: bigint; cpu: number }
  /** KVM_EXIT_SYSTEM_EVENT (shutdown, reset, crash...). */
  | { kind: "system-event"; type: number; typeName: string }
  /** The run's timeout passed. */
  | { kind: "timeout" }
  /** `abort()` was called. */
  | { kind: "aborted" }
  /** An exit reason microvmm does not handle. */
  | { kind: "unhandled-exit"; exitReason: number; exitName: string };

/** The stop reasons that mean the guest crashed (exit status 1 in the CLI). */
export function isCrash(stop: StopReason): boolean {
  switch (stop.kind) {
    case "shutdown":
    case "internal-error":
    case "fail-entry":
    case "unhandled-exit":
      return true;
    case "system-event":
      return stop.typeName === "KVM_SYSTEM_EVENT_CRASH";
    case "hlt":
    case "exit-device":
    case "reset":
    case "timeout":
    case "aborted":
      return false;
  }
}

/** One line describing `stop`, e.g. "guest triple-faulted (KVM_EXIT_SHUTDOWN)". */
export function describeStop(stop: StopReason): string {
  const hex = (n: number | bigint) => `0x${n.toString(16)}`;
  switch (stop.kind) {
    case "hlt":
      return "guest halted (KVM_EXIT_HLT)";
    case "exit-device":
      return `guest exited with status ${stop.status}`;
    case "reset":
      return "guest requested a reset (i8042 reset line)";
    case "shutdown":
      return "guest triple-faulted (KVM_EXIT_SHUTDOWN)";
    case "internal-error": {
      const bytes = stop.instruction
        ? `; instruction bytes: ${
          [...stop.instruction].map((b) => b.toString(16).padStart(2, "0")).join(" ")
        }`
        : "";
      return `KVM internal error (KVM_EXIT_INTERNAL_ERROR, suberror ${stop.suberror} ${stop.suberrorName})${bytes}`;
    }
    case "fail-entry":
      return `KVM could not enter the guest (KVM_EXIT_FAIL_ENTRY, hardware reason ${
        hex(stop.hardwareReason)
      }, cpu ${stop.cpu})`;
    case "system-event":
      return `guest system event (KVM_EXIT_SYSTEM_EVENT, ${stop.typeName})`;
    case "timeout":
      return "guest timed out";
    case "aborted":
      return "run aborted";
    case "unhandled-exit":
      return `unhandled exit (${stop.exitName}, reason ${stop.exitReason})`;
  }
}
