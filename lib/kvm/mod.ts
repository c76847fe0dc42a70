/**
 * The KVM ABI layer: libc bindings, ioctl numbers, struct layouts and the fd wrappers.
 *
 * @module
 */

export * from "./abi.ts";
export { KvmError } from "./error.ts";
export { DEFAULT_KVM_PATH, Kvm } from "./kvm.ts";
export { type MemoryRegion, VmFd } from "./vm_fd.ts";
export { VcpuFd } from "./vcpu_fd.ts";
export type { DescriptorTable, Regs, Segment, Sregs } from "./regs.ts";
