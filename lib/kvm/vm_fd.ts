/**
 * VmFd: a VM file descriptor — memory slots, TSS address, vCPU creation.
 *
 * @module
 */

import { KVM_USERSPACE_MEMORY_REGION as REGION } from "./abi.ts";
import { OwnedFd } from "./_fd.ts";
import { VcpuFd } from "./vcpu_fd.ts";

/** One `kvm_userspace_memory_region`. */
export interface MemoryRegion {
  slot: number;
  flags?: number;
  guestPhysAddr: bigint;
  memorySize: bigint;
  userspaceAddr: bigint;
}

/** A KVM VM fd, created by `Kvm.createVm()`. */
export class VmFd {
  readonly #fd: OwnedFd;
  readonly #vcpuMmapSize: number;

  /** Wraps a VM fd; `vcpuMmapSize` is KVM_GET_VCPU_MMAP_SIZE. */
  constructor(fd: number, vcpuMmapSize: number) {
    this.#fd = new OwnedFd(fd, "VM");
    this.#vcpuMmapSize = vcpuMmapSize;
  }

  /** The raw fd. */
  get fd(): number {
    return this.#fd.fd;
  }

  /** KVM_SET_USER_MEMORY_REGION: maps host memory into guest-physical space (size 0 deletes). */
  setUserMemoryRegion(region: MemoryRegion): void {
    const bytes = new Uint8Array(REGION.size);
    const view = new DataView(bytes.buffer);
    view.setUint32(REGION.slot, region.slot, true);
    view.setUint32(REGION.flags, region.flags ?? 0, true);
    view.setBigUint64(REGION.guest_phys_addr, region.guestPhysAddr, true);
    view.setBigUint64(REGION.memory_size, region.memorySize, true);
    view.setBigUint64(REGION.userspace_addr, region.userspaceAddr, true);
    this.#fd.ioctlBuffer("KVM_SET_USER_MEMORY_REGION", bytes);
  }

  /** KVM_SET_TSS_ADDR: three pages of guest-physical space Intel VMX needs for real mode. */
  setTssAddr(address: bigint): void {
    this.#fd.ioctl("KVM_SET_TSS_ADDR", address);
  }

  /** KVM_CREATE_VCPU, then maps its `kvm_run`. */
  createVcpu(id: number): VcpuFd {
    const fd = this.#fd.ioctl("KVM_CREATE_VCPU", BigInt(id));
    return new VcpuFd(fd, id, this.#vcpuMmapSize);
  }

  /** Closes the fd; safe to call twice. */
  [Symbol.dispose](): void {
    this.#fd.close();
  }
}
