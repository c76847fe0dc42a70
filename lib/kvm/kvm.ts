/**
 * Kvm: the `/dev/kvm` system fd — API version, capabilities, VM creation.
 *
 * @module
 */

import { type CapName, CAPS, KVM_API_VERSION, KVM_CPUID_ENTRY2 } from "./abi.ts";
import { type CpuidEntry, decodeCpuid, encodeCpuid } from "./cpuid.ts";
import { KvmError, KvmUnsupportedError } from "./error.ts";
import { check, OwnedFd } from "./_fd.ts";
import { cString, libc, O_CLOEXEC, O_RDWR } from "./ffi.ts";
import { VmFd } from "./vm_fd.ts";

/** The default KVM device path. */
export const DEFAULT_KVM_PATH = "/dev/kvm";

/**
 * The KVM system file descriptor.
 *
 * @example Checking the API version
 * ```ts ignore
 * import { Kvm } from "./kvm.ts";
 * using kvm = Kvm.open();
 * console.log(kvm.getApiVersion()); // 12
 * ```
 */
export class Kvm {
  readonly #fd: OwnedFd;
  #vcpuMmapSize = 0;

  private constructor(fd: number) {
    this.#fd = new OwnedFd(fd, "/dev/kvm");
  }

  /**
   * Opens the KVM device and checks it speaks API version 12.
   *
   * @param path the device path (default `/dev/kvm`)
   * @throws KvmError naming `open <path>` or `KVM_GET_API_VERSION`
   */
  static open(path: string = DEFAULT_KVM_PATH): Kvm {
    const fd = check(`open ${path}`, libc().open(cString(path), O_RDWR | O_CLOEXEC));
    const kvm = new Kvm(fd);
    try {
      const version = kvm.getApiVersion();
      if (version !== KVM_API_VERSION) {
        throw new KvmUnsupportedError(
          `KVM_GET_API_VERSION: ${path} speaks API version ${version}, microvmm requires ${KVM_API_VERSION}`,
        );
      }
    } catch (error) {
      kvm[Symbol.dispose]();
      throw error;
    }
    return kvm;
  }

  /** The raw fd. */
  get fd(): number {
    return this.#fd.fd;
  }

  /** KVM_GET_API_VERSION. */
  getApiVersion(): number {
    return this.#fd.ioctl("KVM_GET_API_VERSION");
  }

  /** KVM_CHECK_EXTENSION: 0 when absent, else a capability-specific positive value. */
  checkExtension(cap: CapName): number {
    return this.#fd.ioctl("KVM_CHECK_EXTENSION", BigInt(CAPS[cap]));
  }

  /** KVM_GET_VCPU_MMAP_SIZE: bytes to mmap from a vCPU fd for its `kvm_run`. Cached. */
  getVcpuMmapSize(): number {
    this.#vcpuMmapSize ||= this.#fd.ioctl("KVM_GET_VCPU_MMAP_SIZE");
    return this.#vcpuMmapSize;
  }

  /**
   * KVM_GET_SUPPORTED_CPUID: the CPUID leaves KVM can offer a guest (starting with room for 100
   * entries and growing while the kernel answers E2BIG).
   */
  getSupportedCpuid(): CpuidEntry[] {
    const E2BIG = 7;
    for (let room = 100;; room *= 2) {
      const buffer = encodeCpuid([]);
      const sized = new Uint8Array(buffer.length + room * KVM_CPUID_ENTRY2.size);
      new DataView(sized.buffer).setUint32(0, room, true);
      try {
        this.#fd.ioctlBuffer("KVM_GET_SUPPORTED_CPUID", sized);
        return decodeCpuid(sized);
      } catch (error) {
        if (!(error instanceof KvmError && error.errno === E2BIG) || room >= 6400) throw error;
      }
    }
  }

  /** KVM_CREATE_VM: a new, empty VM. */
  createVm(): VmFd {
    // The mmap size first: once KVM_CREATE_VM succeeds nothing may throw before VmFd owns the fd.
    const vcpuMmapSize = this.getVcpuMmapSize();
    return new VmFd(this.#fd.ioctl("KVM_CREATE_VM"), vcpuMmapSize);
  }

  /** Closes the fd; safe to call twice. */
  [Symbol.dispose](): void {
    this.#fd.close();
  }
}
