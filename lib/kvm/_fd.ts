/**
 * Shared plumbing of the fd wrappers: checked ioctls and an owned, closable fd.
 *
 * @module
 */

import { type IoctlName, IOCTLS } from "./abi.ts";
import { errno, libc } from "./ffi.ts";
import { KvmError } from "./error.ts";

/** Throws a {@link KvmError} naming `call` when a libc call returned -1. */
export function check(call: string, result: number): number {
  if (result < 0) throw new KvmError(call, errno());
  return result;
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

  /** ioctl with an integer argument; throws a KvmError naming the ioctl. */
  ioctl(name: IoctlName, arg = 0n): number {
    return check(name, libc().ioctl(this.fd, BigInt(IOCTLS[name]), arg));
  }

  /** ioctl with a pointer to `buffer`; throws a KvmError naming the ioctl. */
  ioctlBuffer(name: IoctlName, buffer: Uint8Array<ArrayBuffer>): number {
    return check(name, libc().ioctl_buf(this.fd, BigInt(IOCTLS[name]), buffer));
  }

  /** Closes the fd; safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#fd >= 0) libc().close(this.#fd);
  }
}
