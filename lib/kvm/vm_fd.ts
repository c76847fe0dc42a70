/**
 * VmFd: a VM file descriptor — memory slots, TSS address, vCPU creation.
 *
 * @module
 */

import {
  KVM_IRQ_LEVEL,
  KVM_PIT_CONFIG,
  KVM_PIT_SPEAKER_DUMMY,
  KVM_USERSPACE_MEMORY_REGION as REGION,
} from "./abi.ts";
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

  /** KVM_SET_IDENTITY_MAP_ADDR: one page of guest-physical space Intel VMX needs for real mode. */
  setIdentityMapAddr(address: bigint): void {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setBigUint64(0, address, true);
    this.#fd.ioctlBuffer("KVM_SET_IDENTITY_MAP_ADDR", bytes);
  }

  /** KVM_CREATE_IRQCHIP: the in-kernel PIC pair, IOAPIC and local APICs. */
  createIrqchip(): void {
    this.#fd.ioctl("KVM_CREATE_IRQCHIP");
  }

  /** KVM_CREATE_PIT2: the in-kernel i8254 timer, with a dummy speaker port 0x61. */
  createPit2(): void {
    const config = new Uint8Array(KVM_PIT_CONFIG.size);
    new DataView(config.buffer).setUint32(KVM_PIT_CONFIG.flags, KVM_PIT_SPEAKER_DUMMY, true);
    this.#fd.ioctlBuffer("KVM_CREATE_PIT2", config);
  }

  /** KVM_IRQ_LINE: sets the level of interrupt line `irq` (a GSI) on the in-kernel irqchip. */
  irqLine(irq: number, level: boolean): void {
    const bytes = this.#irqLevel;
    const view = new DataView(bytes.buffer);
    view.setUint32(KVM_IRQ_LEVEL.irq, irq, true);
    view.setUint32(KVM_IRQ_LEVEL.level, level ? 1 : 0, true);
    this.#fd.ioctlBuffer("KVM_IRQ_LINE", bytes);
  }

  readonly #irqLevel = new Uint8Array(KVM_IRQ_LEVEL.size);

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
