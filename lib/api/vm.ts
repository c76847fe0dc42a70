/**
 * Vm: the public face of microvmm — one KVM VM with one vCPU, guest RAM, the standard devices,
 * and TypeScript handlers for ports and MMIO.
 *
 * @module
 */

import { Kvm } from "../kvm/kvm.ts";
import { KvmUnsupportedError } from "../kvm/error.ts";
import type { VmFd } from "../kvm/vm_fd.ts";
import type { VcpuFd } from "../kvm/vcpu_fd.ts";
import type { Regs, Sregs } from "../kvm/regs.ts";
import { GuestMemory, pageAlign } from "../vmm/memory.ts";
import { Bus } from "../vmm/bus.ts";
import { ExitDispatcher } from "../vmm/exit_dispatch.ts";
import { ExitStats } from "../vmm/exit_stats.ts";
import { VcpuKicker } from "../vmm/kicker.ts";
import { RunControl, runLoop } from "../vmm/run_loop.ts";
import type { StopReason } from "../vmm/stop_reason.ts";
import { statusOf } from "../vmm/exit_status.ts";
import { ConsoleSink, fileWriter } from "../vmm/console_sink.ts";
import { ConfigError } from "../vmm/config_error.ts";
import { parseSize } from "../vmm/sizes.ts";
import {
  checkFlatGuest,
  CPU_MODES,
  type CpuMode,
  CR0_PG,
  setupMode,
} from "../arch/x86_64/modes.ts";
import { DEFAULT_LOAD_ADDRESS, DEFAULT_MEM_SIZE, MIN_MEM_SIZE } from "../arch/x86_64/layout.ts";
import type { BusDevice } from "../devices/device.ts";
import { addStandardDevices, type StandardDevices } from "./standard_devices.ts";
import { crashReport } from "./crash_report.ts";

/** Options for {@link Vm}. */
export interface VmOptions {
  /** Guest RAM: bytes, or a size like "2M", "64M", "1G". Default 2 MiB. */
  memory?: number | string;
  /** CPU mode the guest starts in. Default "real". */
  mode?: CpuMode;
  /** Where guest console output (ports 0xf1, 0xe9, COM1) goes. Default: the process's stdout. */
  output?: (bytes: Uint8Array) => void;
  /** Non-blocking source of bytes for COM1's receiver: a byte, or null when none is ready. */
  input?: () => number | null;
  /** KVM device path. Default "/dev/kvm". */
  kvmPath?: string;
}

/** Options for one run. */
export interface RunOptions {
  /** Stop the guest after this many seconds (status 124). Default: no limit. */
  timeout?: number;
}

/** What a run ended with. */
export interface RunResult {
  /** Why the VM stopped. */
  stop: StopReason;
  /** The exit status the CLI would return for it (see README "Exit codes"). */
  status: number;
  /** Exit counts by reason, port and MMIO address. */
  exits: ExitStats;
}

/** A port or MMIO handler: either callback may be omitted (reads then return all ones). */
export interface IoHandler {
  /** Returns the value read at `offset` (1, 2, 4 or 8 bytes wide). */
  read?(offset: number, size: number): number;
  /** Receives the value written at `offset`. */
  write?(offset: number, value: number, size: number): void;
}

function handlerDevice(handler: IoHandler): BusDevice {
  return {
    read(offset, data) {
      let value = handler.read ? handler.read(offset, data.length) : -1;
      for (let i = 0; i < data.length; i++) {
        data[i] = value & 0xff;
        value = Math.floor(value / 256);
      }
    },
    write(offset, data) {
      let value = 0;
      for (let i = data.length - 1; i >= 0; i--) value = value * 256 + data[i];
      handler.write?.(offset, value, data.length);
    },
  };
}

function memorySize(option: number | string | undefined): number {
  const size = typeof option === "string"
    ? parseSize(option, "memory")
    : option ?? DEFAULT_MEM_SIZE;
  if (!Number.isSafeInteger(size) || size < MIN_MEM_SIZE) {
    throw new ConfigError(`memory: ${size} bytes is too small (at least 64K)`);
  }
  return pageAlign(size);
}

/**
 * A virtual machine with one vCPU running a flat guest.
 *
 * @example Running the classic hello guest
 * ```ts
 * import { Vm } from "../../mod.ts";
 * const hello = [0xb0, 0x48, 0xe6, 0xf1, 0xb0, 0x69, 0xe6, 0xf1, 0xb0, 0x0a, 0xe6, 0xf1, 0xf4];
 * let text = "";
 * using vm = new Vm({ output: (bytes) => text += new TextDecoder().decode(bytes) });
 * vm.load(new Uint8Array(hello));
 * const result = vm.run();
 * console.log(text, result.stop.kind, result.status); // "Hi\n" "hlt" 0
 * ```
 */
export class Vm {
  /** Guest RAM. */
  readonly memory: GuestMemory;
  /** The CPU mode the guest starts in. */
  readonly mode: CpuMode;
  /** The port-I/O bus. */
  readonly ports: Bus = new Bus("port");
  /** The MMIO bus. */
  readonly mmio: Bus = new Bus("MMIO");
  /** Exit counters, cumulative over runs. */
  readonly exits: ExitStats = new ExitStats();
  /** The standard devices (consoles, exit port, POST port, COM1). */
  readonly devices: StandardDevices;
  /** Where execution starts: the first load address unless set. */
  entry: number | undefined;
  readonly #kvm: Kvm;
  readonly #vmFd: VmFd;
  readonly #vcpu: VcpuFd;
  readonly #control = new RunControl();
  readonly #console: ConsoleSink;
  readonly #dispatcher: ExitDispatcher;
  readonly #images: { address: number; length: number }[] = [];
  #started = false;
  #running = false;
  #disposed = false;
  #kicker: VcpuKicker | undefined;

  /** Creates the VM: opens KVM, maps RAM, creates the vCPU and the standard devices. */
  constructor(options: VmOptions = {}) {
    const mode = options.mode ?? "real";
    if (!CPU_MODES.includes(mode)) {
      throw new ConfigError(`mode: unknown CPU mode "${mode}" (use ${CPU_MODES.join(", ")})`);
    }
    this.mode = mode;
    const size = memorySize(options.memory);
    this.#kvm = Kvm.open(options.kvmPath);
    const cleanup: Disposable[] = [this.#kvm];
    try {
      this.#vmFd = this.#kvm.createVm();
      cleanup.push(this.#vmFd);
      this.memory = new GuestMemory(size);
      cleanup.push(this.memory);
      this.#vmFd.setUserMemoryRegion({
        slot: 0,
        guestPhysAddr: 0n,
        memorySize: BigInt(size),
        userspaceAddr: this.memory.hostAddress,
      });
      this.#vcpu = this.#vmFd.createVcpu(0);
    } catch (error) {
      for (const resource of cleanup.reverse()) resource[Symbol.dispose]();
      throw error;
    }
    this.#console = new ConsoleSink(options.output ?? fileWriter());
    this.devices = addStandardDevices(this.ports, this.#console, this.#control, options.input);
    this.#dispatcher = new ExitDispatcher(this.#vcpu.runBytes, this.ports, this.mmio, this.exits);
  }

  #check(action: string): void {
    if (this.#disposed) throw new Error(`Cannot ${action}: the VM was disposed`);
  }

  /** Copies `image` into guest RAM at `address` (default 0x1000); the first load sets the entry. */
  load(image: Uint8Array, address: number = DEFAULT_LOAD_ADDRESS): void {
    this.#check("load a guest");
    if (image.length === 0) throw new ConfigError("Cannot load guest: the image is empty");
    checkFlatGuest(this.mode, this.memory.size, address, image.length, this.entry ?? address);
    this.memory.write(address, image);
    this.#images.push({ address, length: image.length });
    this.entry ??= address;
  }

  /** Puts `handler` on ports `[port, port + length)`. Throws if another device is there. */
  addPortHandler(port: number, length: number, handler: IoHandler): void {
    this.#check("add a port handler");
    this.ports.insert(port, length, `port handler 0x${port.toString(16)}`, handlerDevice(handler));
  }

  /** Puts `handler` on guest-physical `[address, address + length)` (outside RAM). */
  addMmioHandler(address: number, length: number, handler: IoHandler): void {
    this.#check("add an MMIO handler");
    if (address < this.memory.size) {
      throw new ConfigError(
        `Cannot add MMIO handler at 0x${address.toString(16)}: that is guest RAM`,
      );
    }
    this.mmio.insert(
      address,
      length,
      `MMIO handler 0x${address.toString(16)}`,
      handlerDevice(handler),
    );
  }

  /** Stops the VM with `status` once the current exit is handled (for use in handlers). */
  exit(status: number): void {
    this.#control.requestStop({ kind: "exit-device", status });
  }

  /** Aborts a run: from a handler, or from a timer while {@link runAsync} is running. */
  abort(): void {
    this.#control.aborted = true;
    if (this.#running) {
      this.#vcpu.setImmediateExit(true);
      this.#kicker?.kick();
    }
  }

  #prepare(): void {
    if (this.#started) return;
    const entry = this.entry ?? DEFAULT_LOAD_ADDRESS;
    for (const image of this.#images) {
      checkFlatGuest(this.mode, this.memory.size, image.address, image.length, entry);
    }
    const sregs = this.#vcpu.getSregs();
    const regs = this.#vcpu.getRegs();
    setupMode(this.mode, this.memory.view, this.memory.size, entry, sregs, regs);
    this.#vcpu.setSregs(sregs);
    this.#vcpu.setRegs(regs);
    const loaded = this.#vcpu.getSregs();
    if ((loaded.cr0 & CR0_PG) !== (sregs.cr0 & CR0_PG)) {
      throw new KvmUnsupportedError(
        `Cannot start guest in ${this.mode} mode: this KVM dropped CR0.PG (kvm-pvm supports paging only in long mode)`,
      );
    }
    this.#started = true;
  }

  /** Runs the guest until it stops (HLT, exit port, crash, timeout or abort). */
  run(options: RunOptions = {}): RunResult {
    this.#check("run");
    if (this.#running) throw new Error("Cannot run: the VM is already running");
    this.#prepare();
    const control = this.#control;
    control.stopRequest = null;
    control.aborted = false;
    control.deadline = options.timeout === undefined
      ? Infinity
      : performance.now() + options.timeout * 1000;
    this.#kicker ??= new VcpuKicker();
    this.#running = true;
    let stop: StopReason;
    try {
      stop = runLoop(this.#vcpu, this.#dispatcher, this.exits, control, this.#kicker);
    } finally {
      this.#running = false;
      this.#console.flush();
    }
    return { stop, status: statusOf(stop), exits: this.exits };
  }

  /**
   * Runs the guest like {@link run}, but returns to the event loop every `sliceMs` so timers and
   * an AbortSignal can call {@link abort}.
   */
  async runAsync(
    options: RunOptions & { signal?: AbortSignal; sliceMs?: number } = {},
  ): Promise<RunResult> {
    const slice = options.sliceMs ?? 20;
    const deadline = options.timeout === undefined
      ? Infinity
      : performance.now() + options.timeout * 1000;
    const onAbort = () => this.abort();
    options.signal?.addEventListener("abort", onAbort);
    try {
      if (options.signal?.aborted) this.abort();
      while (true) {
        const aborted = this.#control.aborted;
        const remaining = deadline - performance.now();
        const result = this.run({ timeout: Math.max(0, Math.min(slice, remaining)) / 1000 });
        if (aborted) {
          return { ...result, stop: { kind: "aborted" }, status: statusOf({ kind: "aborted" }) };
        }
        if (result.stop.kind !== "timeout" || performance.now() >= deadline) return result;
        await new Promise((resolve) => setTimeout(resolve, 0));
        if (this.#control.aborted) {
          const stop: StopReason = { kind: "aborted" };
          return { stop, status: statusOf(stop), exits: this.exits };
        }
      }
    } finally {
      options.signal?.removeEventListener("abort", onAbort);
    }
  }

  /** The vCPU's general purpose registers (KVM_GET_REGS). */
  getRegs(): Regs {
    this.#check("read registers");
    return this.#vcpu.getRegs();
  }

  /** Sets the vCPU's general purpose registers (KVM_SET_REGS); call after the first run. */
  setRegs(regs: Regs): void {
    this.#check("write registers");
    this.#prepare();
    this.#vcpu.setRegs(regs);
  }

  /** The vCPU's special registers (KVM_GET_SREGS). */
  getSregs(): Sregs {
    this.#check("read registers");
    return this.#vcpu.getSregs();
  }

  /** A multi-line crash report: the stop reason and the registers that matter. */
  crashReport(stop: StopReason): string {
    this.#check("read registers");
    return crashReport(
      stop,
      this.#vcpu.getRegs(),
      this.#vcpu.getSregs(),
      this.devices.post.lastCode,
    );
  }

  /** Releases the vCPU, RAM, VM and KVM fds; safe to call twice. */
  [Symbol.dispose](): void {
    if (this.#disposed) return;
    if (this.#running) throw new Error("Cannot dispose the VM while it runs: abort() it first");
    this.#disposed = true;
    this.#console.flush();
    this.#kicker?.[Symbol.dispose]();
    this.#vcpu[Symbol.dispose]();
    this.#vmFd[Symbol.dispose]();
    this.memory[Symbol.dispose]();
    this.#kvm[Symbol.dispose]();
  }
}
