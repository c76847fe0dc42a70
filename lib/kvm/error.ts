/**
 * KvmError: a failed KVM system call, naming the call and the errno.
 *
 * @module
 */

import { describeErrno } from "./ffi.ts";

/**
 * A failed system call on a KVM file descriptor.
 *
 * @example Reading the errno of a failure
 * ```ts
 * import { KvmError } from "./error.ts";
 * const error = new KvmError("KVM_CREATE_VM", 13);
 * console.log(error.message); // "KVM_CREATE_VM failed: EACCES (Permission denied)"
 * ```
 */
export class KvmError extends Error {
  /** The ioctl or system call that failed, e.g. `KVM_CREATE_VCPU` or `open /dev/kvm`. */
  readonly call: string;
  /** The errno it failed with. */
  readonly errno: number;

  /** Builds the error for `call` failing with `errno`. */
  constructor(call: string, errno: number, options?: ErrorOptions) {
    super(`${call} failed: ${describeErrno(errno)}`, options);
    this.name = "KvmError";
    this.call = call;
    this.errno = errno;
  }
}

/**
 * This KVM cannot do what was asked (e.g. kvm-pvm refuses 32-bit paging); the CLI exits 3.
 */
export class KvmUnsupportedError extends Error {
  /** Builds the error with a one-line message saying what the host KVM refused. */
  constructor(message: string) {
    super(message);
    this.name = "KvmUnsupportedError";
  }
}
