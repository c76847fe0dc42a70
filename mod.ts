/**
 * microvmm: a KVM microVMM for Deno. Create a {@link Vm}, load a flat guest, add port or MMIO
 * handlers written in TypeScript, run it, and read its registers and memory.
 *
 * @example Host function call through a port
 * ```ts
 * import { Vm } from "./mod.ts";
 * // Real mode: mov al, 20; out 0x500, al; in al, 0x500; out 0xf4, al (exit with that status)
 * const guest = new Uint8Array([0xb0, 20, 0xe6, 0x50, 0xe4, 0x50, 0xe6, 0xf4]);
 * using vm = new Vm();
 * let last = 0;
 * vm.addPortHandler(0x50, 1, { write: (_o, value) => last = value, read: () => last * 2 + 2 });
 * vm.load(guest);
 * console.log(vm.run().status); // 42
 * ```
 *
 * @module
 */

export {
  type IoHandler,
  type RunOptions,
  type RunResult,
  Vm,
  type VmOptions,
} from "./lib/api/vm.ts";
export {
  BOOT_PROTOCOLS,
  type BootProtocol,
  DEFAULT_LINUX_CMDLINE,
  LinuxVm,
  type LinuxVmOptions,
} from "./lib/api/linux_vm.ts";
export { bytesSource, type ImageSource } from "./lib/arch/x86_64/boot/image_source.ts";
export { CPU_MODES, type CpuMode } from "./lib/arch/x86_64/modes.ts";
export { DEFAULT_LOAD_ADDRESS, DEFAULT_MEM_SIZE, PORTS } from "./lib/arch/x86_64/layout.ts";
export { describeStop, isCrash, type StopReason } from "./lib/vmm/stop_reason.ts";
export { EXIT_STATUS, statusOf } from "./lib/vmm/exit_status.ts";
export { ExitStats } from "./lib/vmm/exit_stats.ts";
export { ConfigError } from "./lib/vmm/config_error.ts";
export { KvmError, KvmUnsupportedError } from "./lib/kvm/error.ts";
export type { Regs, Segment, Sregs } from "./lib/kvm/regs.ts";
