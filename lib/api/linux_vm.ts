/**
 * LinuxVm: boots a Linux kernel (ELF vmlinux through PVH or the 64-bit entry, or a bzImage) with
 * an initrd and a command line, on the in-kernel irqchip with the legacy devices Linux needs.
 *
 * @module
 */

import { KvmError, KvmUnsupportedError } from "../kvm/error.ts";
import { bindAllLibc } from "../kvm/ffi.ts";
import { type CAPS, MP_STATES } from "../kvm/abi.ts";
import type { Regs, Sregs } from "../kvm/regs.ts";
import { ConfigError } from "../vmm/config_error.ts";
import { Machine } from "../vmm/machine.ts";
import { pageAlign } from "../vmm/memory.ts";
import { checkByteCount, parseSize } from "../vmm/sizes.ts";
import { statusOf } from "../vmm/exit_status.ts";
import type { StopReason } from "../vmm/stop_reason.ts";
import {
  buildE820,
  type ImageSource,
  kernelLimits,
  type LoadedKernel,
  loadKernel,
  MMIO_GAP_START,
  MPTABLE_ADDRESS,
  placeInitrd,
  ramRegions,
  toSource,
  writeBootParams,
  writeCmdline,
  writeMpTable,
  writePvhStartInfo,
} from "../arch/x86_64/boot/index.ts";
import { type CpuidFeature, guestCpuid, parseCpuidMask } from "../arch/x86_64/cpuid.ts";
import { CMOS_PORT, COM1_IRQ, I8042_PORTS, LINUX_LAYOUT } from "../arch/x86_64/layout.ts";
import { setupLinux64, setupPvh } from "../arch/x86_64/linux_cpu.ts";
import {
  bootMsrs,
  FPU_CONTROL_WORD,
  MXCSR_DEFAULT,
  setLapicVirtualWire,
} from "../arch/x86_64/msrs.ts";
import { CmosRtc } from "../devices/cmos_rtc.ts";
import { I8042 } from "../devices/i8042.ts";
import type { PostPort } from "../devices/post_port.ts";
import type { Serial } from "../devices/serial.ts";
import { addStandardDevices, type StandardDevices } from "./standard_devices.ts";
import { crashReport } from "./crash_report.ts";
import { type BootProtocol, DEFAULT_LINUX_MEM_SIZE } from "./linux_options.ts";
import { checkRunOptions, type RunResult } from "./vm.ts";

export { BOOT_PROTOCOLS, type BootProtocol, DEFAULT_LINUX_MEM_SIZE } from "./linux_options.ts";

/** The command line when none is given: serial console, reboot through the i8042, no probing of absent hardware. */
export const DEFAULT_LINUX_CMDLINE =
  "console=ttyS0 reboot=k panic=1 pci=off i8042.noaux i8042.nomux i8042.nopnp 8250.nr_uarts=1";

/** RFLAGS.IF: maskable interrupts enabled (SDM Vol. 1 §3.4.3). */
const RFLAGS_IF = 1n << 9n;

/**
 * How often a Linux run leaves KVM_RUN to poll console input, notice a powered-off guest and let
 * the event loop run (signals, timers). Each slice end interrupts the guest: in the nested test
 * host a 10 ms slice made the boot ~1.6x slower (each interruption costs milliseconds under TCG),
 * 50 ms costs ~5%. Input bytes after the first come through the guest's LSR/RBR reads, not slices.
 */
export const LINUX_SLICE_MS = 50;

/**
 * The slice when input wakes the vCPU itself (the CLI on a terminal or pipe): slices then only
 * notice a powered-off guest, flush partial output lines and let timers run.
 */
export const LINUX_WOKEN_SLICE_MS = 250;

/** Options for {@link LinuxVm}. */
export interface LinuxVmOptions {
  /**
   * The kernel: an ELF vmlinux or a bzImage, as bytes or as an {@link ImageSource} (read at
   * offsets: a vmlinux's segments go straight into guest RAM).
   */
  kernel: Uint8Array | ImageSource;
  /** An initrd/initramfs image, as bytes or as an {@link ImageSource} (read straight into RAM). */
  initrd?: Uint8Array | ImageSource;
  /** The kernel command line. Default {@link DEFAULT_LINUX_CMDLINE}. */
  cmdline?: string;
  /** Guest RAM: bytes or "256M". Default 256 MiB. */
  memory?: number | string;
  /** "auto" (PVH when a vmlinux has the PVH note, else the 64-bit entry), "pvh" or "linux64". */
  boot?: BootProtocol;
  /** CPUID features to hide from the guest: names ("xsave,avx") or parsed features. */
  cpuidMask?: string | CpuidFeature[];
  /** Where console output goes. Default stdout. */
  output?: (bytes: Uint8Array) => void;
  /**
   * Write each console byte at once instead of by lines (and at each run slice's end): for an
   * interactive terminal. Default false.
   */
  eagerOutput?: boolean;
  /** Non-blocking source of console input bytes. */
  input?: () => number | null;
  /** KVM device path. */
  kvmPath?: string;
}

function wrap<T>(what: string, action: () => T): T {
  try {
    return action();
  } catch (error) {
    if (error instanceof ConfigError || error instanceof KvmError) throw error;
    throw new ConfigError(`Cannot boot Linux: ${what}: ${(error as Error).message}`);
  }
}

/**
 * A VM booting Linux with one vCPU.
 *
 * @example Booting a kernel with an initramfs
 * ```ts ignore
 * import { LinuxVm } from "../../mod.ts";
 * using vm = new LinuxVm({
 *   kernel: Deno.readFileSync("vmlinux"),
 *   initrd: Deno.readFileSync("rootfs.cpio.gz"),
 *   cmdline: "console=ttyS0 reboot=k panic=1",
 * });
 * const result = await vm.run({ timeout: 60 });
 * console.log(result.stop.kind); // "reset" after the guest's reboot/poweroff
 * ```
 */
export class LinuxVm {
  /** The boot protocol used. */
  readonly protocol: "pvh" | "linux64";
  /** The loaded kernel's facts. */
  readonly kernel: LoadedKernel;
  /** COM1, the console. */
  readonly com1: Serial;
  readonly #machine: Machine;
  readonly #post: PostPort;

  /** Creates the VM, loads kernel, initrd and command line, and sets the vCPU at the entry. */
  constructor(options: LinuxVmOptions) {
    const memSize = pageAlign(checkByteCount(
      typeof options.memory === "string"
        ? parseSize(options.memory, "memory")
        : options.memory ?? DEFAULT_LINUX_MEM_SIZE,
      "memory",
    ));
    if (memSize < 32 * 2 ** 20) {
      throw new ConfigError(`Cannot boot Linux in ${memSize} bytes of RAM: give it at least 32M`);
    }
    bindAllLibc(); // the run arms the kicker, and console input reads stdin
    const mask = typeof options.cpuidMask === "string"
      ? parseCpuidMask(options.cpuidMask)
      : options.cpuidMask ?? [];
    const machine = new Machine({
      memSize,
      slots: ramRegions(memSize),
      kvmPath: options.kvmPath,
      output: options.output,
      eagerOutput: options.eagerOutput,
      beforeVcpu: (vm, kvm) => {
        const missing = LINUX_REQUIRED_CAPS.filter((cap) => kvm.checkExtension(cap) <= 0);
        if (missing.length > 0) {
          throw new KvmUnsupportedError(`Cannot boot Linux: this KVM lacks ${missing.join(", ")}`);
        }
        vm.setTssAddr(BigInt(LINUX_LAYOUT.TSS));
        if (kvm.checkExtension("KVM_CAP_SET_IDENTITY_MAP_ADDR") > 0) {
          vm.setIdentityMapAddr(BigInt(LINUX_LAYOUT.IDENTITY_MAP));
        }
        vm.createIrqchip();
        vm.createPit2();
      },
    });
    this.#machine = machine;
    try {
      const low = machine.memory.bytes.subarray(0, Math.min(memSize, MMIO_GAP_START));
      // The Machine's RAM is freshly mapped, so all zero: the kernel's .bss needs no writing.
      this.kernel = wrap("kernel", () => loadKernel(low, options.kernel, { zeroed: true }));
      const protocol = this.#chooseProtocol(options.boot ?? "auto");
      this.protocol = protocol;
      const limits = kernelLimits(this.kernel);
      const cmdline = options.cmdline ?? DEFAULT_LINUX_CMDLINE;
      wrap(
        "command line",
        () =>
          writeCmdline(
            low,
            LINUX_LAYOUT.CMDLINE,
            cmdline,
            Math.min(limits.cmdlineSize, LINUX_LAYOUT.CMDLINE_MAX - 1),
          ),
      );
      let initrd: { address: number; size: number } | undefined;
      if (options.initrd) {
        const image = toSource(options.initrd);
        const address = wrap("initrd", () =>
          placeInitrd({
            memSize: low.length,
            initrdSize: image.length,
            initrdAddrMax: limits.initrdAddrMax,
            kernelEnd: this.kernel.loadEnd,
          }));
        image.readInto(0, low.subarray(address, address + image.length));
        initrd = { address, size: image.length };
      }
      const e820 = buildE820(memSize);
      writeMpTable(low, MPTABLE_ADDRESS, 1);
      const view = machine.memory.view;
      const vcpu = machine.vcpu;
      const sregs: Sregs = vcpu.getSregs();
      const regs: Regs = vcpu.getRegs();
      if (protocol === "pvh") {
        writePvhStartInfo(low, LINUX_LAYOUT.PVH_START_INFO, {
          cmdlineAddress: LINUX_LAYOUT.CMDLINE,
          initrd,
          memmap: e820,
        });
        setupPvh(view, this.kernel.kind === "elf" ? this.kernel.pvhEntry! : 0, sregs, regs);
      } else {
        writeBootParams(low, LINUX_LAYOUT.ZERO_PAGE, {
          setupHeader: this.kernel.kind === "bzimage" ? this.kernel.setupHeader : undefined,
          cmdlineAddress: LINUX_LAYOUT.CMDLINE,
          cmdlineSize: limits.cmdlineSize,
          initrdAddress: initrd?.address,
          initrdSize: initrd?.size,
          e820,
        });
        setupLinux64(view, this.kernel.entry64, sregs, regs);
      }
      const tscDeadline = machine.kvm.checkExtension("KVM_CAP_TSC_DEADLINE_TIMER") > 0;
      vcpu.setCpuid2(guestCpuid(machine.kvm.getSupportedCpuid(), vcpu.id, mask, { tscDeadline }));
      vcpu.setMsrs(bootMsrs());
      vcpu.setFpu(FPU_CONTROL_WORD, MXCSR_DEFAULT);
      vcpu.setSregs(sregs);
      vcpu.setRegs(regs);
      const lapic = vcpu.getLapic();
      setLapicVirtualWire(lapic);
      vcpu.setLapic(lapic);
      const devices = this.#addDevices(memSize, options.input);
      this.com1 = devices.com1;
      this.#post = devices.post;
    } catch (error) {
      machine[Symbol.dispose]();
      throw error;
    }
  }

  #chooseProtocol(boot: BootProtocol): "pvh" | "linux64" {
    const hasPvh = this.kernel.kind === "elf" && this.kernel.pvhEntry !== undefined;
    if (boot === "pvh" && !hasPvh) {
      throw new ConfigError(
        `Cannot boot through PVH: the kernel ${
          this.kernel.kind === "bzimage"
            ? "is a bzImage"
            : "has no PVH note (XEN_ELFNOTE_PHYS32_ENTRY)"
        }; use --boot linux64`,
      );
    }
    if (boot === "auto") return hasPvh ? "pvh" : "linux64";
    return boot;
  }

  /** The standard devices (COM1 on IRQ 4), the i8042 (reset, IRQ 1) and the CMOS RTC. */
  #addDevices(memSize: number, input: (() => number | null) | undefined): StandardDevices {
    const { ports, console, control, vmFd } = this.#machine;
    const devices = addStandardDevices(
      ports,
      console,
      control,
      input,
      (level) => vmFd.irqLine(COM1_IRQ, level),
    );
    const i8042 = new I8042({
      onReset: () => control.requestStop({ kind: "reset" }),
      setIrq: (level) => vmFd.irqLine(1, level),
    });
    ports.insert(I8042_PORTS.DATA, 1, "i8042 data", i8042.dataPort);
    ports.insert(I8042_PORTS.COMMAND, 1, "i8042 command", i8042.commandPort);
    ports.insert(CMOS_PORT, 2, "CMOS RTC", new CmosRtc({ memSize, mmioHoleStart: MMIO_GAP_START }));
    return devices;
  }

  /** Guest RAM. */
  get memory(): Machine["memory"] {
    return this.#machine.memory;
  }

  /**
   * Runs the guest until it stops (reset, exit port, crash, timeout, abort or `signal`), polling
   * console input every `sliceMs` (default {@link LINUX_SLICE_MS}) ms and returning to the event
   * loop between slices (signals, timers). A signal that interrupts the guest ends a slice early:
   * with an input wake-up (lib/cli/input_wake.ts) slices can be long and input still immediate.
   */
  async run(
    options: {
      timeout?: number;
      signal?: AbortSignal;
      sliceMs?: number;
      /** Called between slices, before console input is polled (host-side input work). */
      tick?: () => void;
    } = {},
  ): Promise<RunResult> {
    checkRunOptions(options.timeout, options.sliceMs);
    const onAbort = () => this.abort();
    options.signal?.addEventListener("abort", onAbort);
    try {
      const stop: StopReason = options.signal?.aborted ? { kind: "aborted" } : await this.#machine
        .runAsync({
          timeout: options.timeout,
          tick: () => {
            options.tick?.();
            this.com1.pollInput();
            if (this.#haltedForever()) this.#machine.control.requestStop({ kind: "hlt" });
          },
          tickMs: options.sliceMs ?? LINUX_SLICE_MS,
        });
      return { stop, status: statusOf(stop), exits: this.#machine.exits };
    } finally {
      options.signal?.removeEventListener("abort", onAbort);
    }
  }

  /**
   * Whether the vCPU sits in HLT with interrupts disabled: nothing but an NMI can wake it. This
   * is how Linux ends `halt` and `poweroff` on a machine without ACPI (machine_halt), so the VM
   * stops there like a powered-off one (status 0) instead of hanging.
   */
  #haltedForever(): boolean {
    const vcpu = this.#machine.vcpu;
    return vcpu.getMpState() === MP_STATES.KVM_MP_STATE_HALTED &&
      (vcpu.getRegs().rflags & RFLAGS_IF) === 0n;
  }

  /** Stops a run (from a handler, timer or signal listener). */
  abort(): void {
    this.#machine.abort();
  }

  /** The crash report for `stop`. */
  crashReport(stop: StopReason): string {
    const vcpu = this.#machine.vcpu;
    return crashReport(stop, vcpu.getRegs(), vcpu.getSregs(), this.#post.lastCode);
  }

  /** Releases everything; safe to call twice. */
  [Symbol.dispose](): void {
    this.#machine[Symbol.dispose]();
  }
}

/** The KVM capabilities a Linux boot needs. */
export const LINUX_REQUIRED_CAPS: (keyof typeof CAPS)[] = [
  "KVM_CAP_IRQCHIP",
  "KVM_CAP_PIT2",
  "KVM_CAP_SET_TSS_ADDR",
  "KVM_CAP_EXT_CPUID",
];
