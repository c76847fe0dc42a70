/**
 * VcpuKicker: interrupts a vCPU thread blocked in KVM_RUN with a signal, from a timer or another
 * thread, so a runaway guest can be stopped. Uses SIGUSR2 (SIGUSR1 starts Deno's inspector).
 *
 * @module
 */

import { check } from "../kvm/_fd.ts";
import { libc } from "../kvm/ffi.ts";

/** The signal that kicks a vCPU out of KVM_RUN. */
export const KICK_SIGNAL: Deno.Signal = "SIGUSR2";
/** SIGUSR2's number on x86-64 Linux (the number behind {@link KICK_SIGNAL}). */
export const SIGUSR2 = 12;
/** `CLOCK_MONOTONIC`, the clock the kick timer runs on. */
export const CLOCK_MONOTONIC = 1;
/** `SIGEV_THREAD_ID`: the timer signals one thread (`sigev_notify_thread_id`). */
export const SIGEV_THREAD_ID = 4;
/** `struct sigevent` on x86-64: value 0, signo 8, notify 12, _tid 16; 64 bytes. */
export const SIGEVENT = { size: 64, signo: 8, notify: 12, tid: 16 } as const;
/** `struct itimerspec`: it_interval {sec, nsec} 0, it_value {sec, nsec} 16. */
export const ITIMERSPEC = {
  size: 32,
  intervalSec: 0,
  intervalNsec: 8,
  valueSec: 16,
  valueNsec: 24,
} as const;
/** While the deadline has passed and the loop has not noticed, re-kick this often. */
const REKICK_INTERVAL_MS = 20;

let handlerInstalled = false;

/**
 * Installs a handler for the kick signal once per process, so the signal interrupts KVM_RUN
 * instead of killing the process. It is never removed: a kick still in flight after a run ends
 * must not find the default action (termination). A signal listener does not keep Deno alive.
 */
export function installKickHandler(): void {
  if (handlerInstalled) return;
  Deno.addSignalListener(KICK_SIGNAL, () => {});
  handlerInstalled = true;
}

/**
 * A one-shot, re-arming timer that signals the thread that created it; the vCPU loop runs on
 * that thread, so KVM_RUN returns EINTR (KVM_EXIT_INTR) once the deadline passes.
 */
export class VcpuKicker {
  readonly #pid: number;
  readonly #tid: number;
  /** The POSIX timer once created; its id may be 0 (a null pointer), so `#hasTimer` says. */
  #timer: Deno.PointerValue = null;
  #hasTimer = false;
  #disposed = false;

  /** Binds the kicker to the calling thread and installs the signal handler. */
  constructor() {
    this.#pid = Deno.pid;
    this.#tid = libc().gettid();
    installKickHandler();
  }

  /** The thread id that kicks go to. */
  get threadId(): number {
    return this.#tid;
  }

  /** Sends the kick signal to the vCPU thread now (callable from any thread). */
  kick(): void {
    libc().tgkill(this.#pid, this.#tid, SIGUSR2);
  }

  /** Arms the timer to start kicking after `ms` milliseconds, then every 20 ms until disarmed. */
  armAfter(ms: number): void {
    if (!this.#hasTimer) {
      const event = new Uint8Array(SIGEVENT.size);
      const view = new DataView(event.buffer);
      view.setInt32(SIGEVENT.signo, SIGUSR2, true);
      view.setInt32(SIGEVENT.notify, SIGEV_THREAD_ID, true);
      view.setInt32(SIGEVENT.tid, this.#tid, true);
      const id = new BigUint64Array(1);
      check("timer_create", libc().timer_create(CLOCK_MONOTONIC, event, new Uint8Array(id.buffer)));
      this.#timer = Deno.UnsafePointer.create(id[0]);
      this.#hasTimer = true;
    }
    const delay = Math.max(ms, 1);
    this.#set(delay, REKICK_INTERVAL_MS);
  }

  /** Stops the timer (no more kicks). */
  disarm(): void {
    if (this.#hasTimer) this.#set(0, 0);
  }

  #set(valueMs: number, intervalMs: number): void {
    const spec = new Uint8Array(ITIMERSPEC.size);
    const view = new DataView(spec.buffer);
    const put = (secAt: number, nsecAt: number, ms: number) => {
      view.setBigInt64(secAt, BigInt(Math.floor(ms / 1000)), true);
      view.setBigInt64(nsecAt, BigInt(Math.min(Math.floor((ms % 1000) * 1e6), 999_999_999)), true);
    };
    put(ITIMERSPEC.valueSec, ITIMERSPEC.valueNsec, valueMs);
    put(ITIMERSPEC.intervalSec, ITIMERSPEC.intervalNsec, intervalMs);
    check("timer_settime", libc().timer_settime(this.#timer, 0, spec, null));
  }

  /** Deletes the timer; safe to call twice. */
  [Symbol.dispose](): void {
    if (this.#disposed) return;
    this.#disposed = true;
    if (this.#hasTimer) libc().timer_delete(this.#timer);
    this.#hasTimer = false;
    this.#timer = null;
  }
}
