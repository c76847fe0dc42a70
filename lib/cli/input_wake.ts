/**
 * Input wake-up: the kernel signals the vCPU thread when the console's input fd becomes readable
 * (O_ASYNC, F_SETOWN_EX to this thread, F_SETSIG to the kick signal). KVM_RUN then returns at
 * once and the run's slice ends, so a typed key reaches the guest without waiting for the slice
 * to end, and slices can be long (fewer interruptions of a busy guest).
 *
 * @module
 */

import { libc } from "../kvm/ffi.ts";
import { installKickHandler, SIGUSR2 } from "../vmm/kicker.ts";

const F_GETFL = 3;
const F_SETFL = 4;
const F_SETOWN = 8;
const F_SETSIG = 10;
const F_SETOWN_EX = 15;
const F_OWNER_TID = 0;
const O_ASYNC = 0o20000;

/** A wake-up armed on one fd; dispose it to put the fd's flags and owner back. */
export interface InputWake extends Disposable {
  /** Whether the kernel will signal on input (false: fcntl refused; input is polled). */
  readonly active: boolean;
}

/**
 * Arms the wake-up on `fd` for the calling thread (the one that runs the vCPU). Never throws:
 * where the fd can't signal (fcntl fails), the result is inactive and changes nothing.
 */
export function wakeOnInput(fd = 0): InputWake {
  const c = libc();
  const flags = c.fcntl(fd, F_GETFL, 0n);
  const inactive: InputWake = { active: false, [Symbol.dispose]() {} };
  if (flags < 0) return inactive;
  installKickHandler(); // before the first signal can come: its default action is to terminate
  const owner = new Uint8Array(8); // struct f_owner_ex { int type; pid_t pid; }
  const view = new DataView(owner.buffer);
  view.setInt32(0, F_OWNER_TID, true);
  view.setInt32(4, c.gettid(), true);
  if (
    c.fcntl(fd, F_SETSIG, BigInt(SIGUSR2)) < 0 || c.fcntl_buf(fd, F_SETOWN_EX, owner) < 0 ||
    c.fcntl(fd, F_SETFL, BigInt(flags | O_ASYNC)) < 0
  ) {
    c.fcntl(fd, F_SETOWN, 0n);
    return inactive;
  }
  let armed = true;
  const disarm = () => {
    if (!armed) return;
    armed = false;
    globalThis.removeEventListener("unload", disarm);
    c.fcntl(fd, F_SETFL, BigInt(flags));
    c.fcntl(fd, F_SETOWN, 0n);
    c.fcntl(fd, F_SETSIG, 0n);
  };
  // The fd is usually shared with the shell: put it back even on Deno.exit (a second Ctrl-C).
  globalThis.addEventListener("unload", disarm);
  return { active: true, [Symbol.dispose]: disarm };
}
