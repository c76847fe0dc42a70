/**
 * Shared plumbing of the fd wrappers: checked ioctls and an owned, closable fd.
 *
 * @module
 */

import { type IoctlName, IOCTLS } from "./abi.ts";
import { EINTR, errno, libc } from "./ffi.ts";
import { KvmError } from "./error.ts";

/** Throws a {@link KvmError} naming `call` when a libc call returned -1. */
export function check(call: string, result: number): number {
  if (result < 0) throw new KvmError(call, errno());
  return result;
}

/** How many times a call interrupted by signals is tried before its EINTR is reported. */
const EINTR_TRIES = 100;

/**
 * Runs `call` until it does not fail with EINTR (a signal arrived before the kernel did
 * anything: a profiler's SIGPROF, a vCPU kick, a stop signal whose listener runs later); throws
 * a {@link KvmError} naming `name` for any other failure, or after {@link EINTR_TRIES} EINTRs.
 * KVM_RUN does not come here: for it EINTR is an exit.
 */
function retryOnEintr(name: string, call: () => number): number {
  for (let tries = 1;; tries++) {
    const result = call();
    if (result >= 0) return result;
    const code = errno();
    if (code !== EINTR || tries === EINTR_TRIES) throw new KvmError(name, code);
  }
}

/**
 * An owned file descriptor: closed once by dispose, unusable afterwards. Disposal is tracked
 * apart from the fd number, so an invalid fd (e.g. -1) reaches the kernel and fails with EBADF
 * naming the ioctl, instead of claiming it "was disposed".
 */
export class OwnedFd {
  readonly #fd: number;
  readonly #what: string;
  #closed = false;

  /** Takes ownership of `fd`; `what` names it in errors ("VM", "vCPU 0"). */
  constructor(fd: number, what: string) {
    this.#fd = fd;
    this.#what = what;
  }

  /** The raw fd; throws when it was closed. */
  get fd(): number {
    if (this.#closed) throw new Error(`Cannot use ${this.#what}: it was disposed`);
    return this.#fd;
  }

  /** Whether the fd was closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * ioctl with an integer argument; throws a KvmError naming the ioctl. Retried when a signal
   * interrupts it (EINTR: nothing was done), as QEMU retries KVM_CREATE_VM.
   */
  ioctl(name: IoctlName, arg = 0n): number {
    const fd = this.fd;
    const request = BigInt(IOCTLS[name]);
    return retryOnEintr(name, () => libc().ioctl(fd, request, arg));
  }

  /** ioctl with a pointer to `buffer`; throws a KvmError naming the ioctl. Retried on EINTR. */
  ioctlBuffer(name: IoctlName, buffer: Uint8Array<ArrayBuffer>): number {
    const fd = this.fd;
    const request = BigInt(IOCTLS[name]);
    return retryOnEintr(name, () => libc().ioctl_buf(fd, request, buffer));
  }

  /** Closes the fd; safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#fd >= 0) libc().close(this.#fd);
  }
}
