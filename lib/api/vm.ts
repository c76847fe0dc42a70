/**
 * Vm: the public face of microvmm — one KVM VM with one vCPU, guest RAM, the standard devices,
 * and TypeScript handlers for ports and MMIO.
 *
 * @module
 */

import { KvmUnsupportedError } from "../kvm/error.ts";
import type { Regs, Sregs } from "../kvm/regs.ts";
import { type GuestMemory, pageAlign } from "../vmm/memory.ts";
import type { Bus } from "../vmm/bus.ts";
import type { ExitStats } from "../vmm/exit_stats.ts";
import { Machine } from "../vmm/machine.ts";
import type { StopReason } from "../vmm/stop_reason.ts";
import { statusOf } from "../vmm/exit_status.ts";
import { ConfigError } from "../vmm/config_error.ts";
import { checkByteCount, parseSize } from "../vmm/sizes.ts";
import {
  checkFlatGuest,
  CPU_MODES,
  type CpuMode,
  CR0_PG,
  setupMode,
} from "../arch/x86_64/modes.ts";
import { DEFAULT_LOAD_ADDRESS, DEFAULT_MEM_SIZE, MIN_MEM_SIZE } from "../arch/x86_64/layout.ts";
import { bigintToData, type BusDevice, dataToNumber, numberToData } from "../devices/device.ts";
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
  /**
   * Returns the value read at `offset` (1, 2, 4 or 8 bytes wide), truncated to `size` bytes;
   * a bigint gives 8-byte reads their exact value above 2^53.
   */
  read?(offset: number, size: number): number | bigint;
  /**
   * Receives the value written at `offset`. `value` is exact up to 2^53 (an 8-byte write above
   * that is rounded); `bytes` holds the access's exact little-endian bytes, valid only during
   * the call (the buffer is reused).
   */
  write?(offset: number, value: number, size: number, bytes: Uint8Array): void;
}

function handlerDevice(handler: IoHandler): BusDevice {
  return {
    read(offset, data) {
      // No read callback: all ones, like an unclaimed port (-1 fills every byte with 0xff).
      const value = handler.read ? handler.read(offset, data.length) : -1;
      if (typeof value === "bigint") bigintToData(value, data);
      else numberToData(value, data);
    },
    write(offset, data) {
      handler.write?.(offset, dataToNumber(data), data.length, data);
    },
  };
}

/**
 * Throws a ConfigError unless `timeout` (seconds) is ≥ 0 (Infinity: no limit) and `sliceMs` is
 * finite and > 0.
 */
export function checkRunOptions(timeout: number | undefined, sliceMs?: number): void {
  if (timeout !== undefined && !(timeout >= 0)) {
    throw new ConfigError(`timeout: ${timeout} is not a number of seconds (0 or more)`);
  }
  if (sliceMs !== undefined && !(Number.isFinite(sliceMs) && sliceMs > 0)) {
    throw new ConfigError(`sliceMs: ${sliceMs} is not a number of milliseconds (more than 0)`);
  }
}

/** The x86 I/O port space: ports 0x0-0xffff. */
const PORT_SPACE = 0x10000;

function memorySize(option: number | string | undefined): number {
  const size = typeof option === "string"
    ? parseSize(option, "memory")
    : option ?? DEFAULT_MEM_SIZE;
  if (checkByteCount(size, "memory") < MIN_MEM_SIZE) {
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
  /** The CPU mode the guest starts in. */
  readonly mode: CpuMode;
  /** The standard devices (consoles, exit port, POST port, COM1). */
  readonly devices: StandardDevices;
  /** Where execution starts: the first load address unless set. */
  entry: number | undefined;
  readonly #machine: Machine;
  readonly #images: { address: number; length: number }[] = [];
  #started = false;

  /** Creates the VM: opens KVM, maps RAM, creates the vCPU and the standard devices. */
  constructor(options: VmOptions = {}) {
    const mode = options.mode ?? "real";
    if (!CPU_MODES.includes(mode)) {
      throw new ConfigError(`mode: unknown CPU mode "${mode}" (use ${CPU_MODES.join(", ")})`);
    }
    this.mode = mode;
    this.#machine = new Machine({
      memSize: memorySize(options.memory),
      kvmPath: options.kvmPath,
      output: options.output,
    });
    const machine = this.#machine;
    this.devices = addStandardDevices(
      machine.ports,
      machine.console,
      machine.control,
      options.input,
    );
  }

  /** Guest RAM. */
  get memory(): GuestMemory {
    return this.#machine.memory;
  }

  /** The port-I/O bus. */
  get ports(): Bus {
    return this.#machine.ports;
  }

  /** The MMIO bus. */
  get mmio(): Bus {
    return this.#machine.mmio;
  }

  /** Exit counters, cumulative over runs. */
  get exits(): ExitStats {
    return this.#machine.exits;
  }

  /** Copies `image` into guest RAM at `address` (default 0x1000); the first load sets the entry. */
  load(image: Uint8Array, address: number = DEFAULT_LOAD_ADDRESS): void {
    this.#machine.check("load a guest");
    if (image.length === 0) throw new ConfigError("Cannot load guest: the image is empty");
    checkFlatGuest(this.mode, this.memory.size, address, image.length, this.entry ?? address);
    this.memory.write(address, image);
    this.#images.push({ address, length: image.length });
    this.entry ??= address;
  }

  /** Puts `handler` on ports `[port, port + length)`. Throws if another device is there. */
  addPortHandler(port: number, length: number, handler: IoHandler): void {
    this.#machine.check("add a port handler");
    if (port + length > PORT_SPACE) {
      throw new ConfigError(
        `Cannot add port handler at 0x${port.toString(16)}+${length}: ports end at 0xffff`,
      );
    }
    this.ports.insert(port, length, `port handler 0x${port.toString(16)}`, handlerDevice(handler));
  }

  /** Puts `handler` on guest-physical `[address, address + length)` (outside RAM). */
  addMmioHandler(address: number, length: number, handler: IoHandler): void {
    this.#machine.check("add an MMIO handler");
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

  /** Stops the VM with `status & 0xff` (like the exit port) once the current exit is handled. */
  exit(status: number): void {
    this.#machine.control.requestStop({ kind: "exit-device", status: status & 0xff });
  }

  /** Aborts a run: from a handler, or from a timer while {@link runAsync} is running. */
  abort(): void {
    this.#machine.abort();
  }

  #prepare(): void {
    if (this.#started) return;
    const entry = this.entry ?? DEFAULT_LOAD_ADDRESS;
    for (const image of this.#images) {
      checkFlatGuest(this.mode, this.memory.size, image.address, image.length, entry);
    }
    const vcpu = this.#machine.vcpu;
    const sregs = vcpu.getSregs();
    const regs = vcpu.getRegs();
    setupMode(this.mode, this.memory.view, this.memory.size, entry, sregs, regs, this.#images[0]);
    vcpu.setSregs(sregs);
    vcpu.setRegs(regs);
    // kvm-pvm keeps CR0.PG only in long mode: only 32-bit paging needs the read-back (one ioctl
    // less on every other start).
    if (this.mode === "paged" && (vcpu.getSregs().cr0 & CR0_PG) === 0n) {
      throw new KvmUnsupportedError(
        `Cannot start guest in ${this.mode} mode: this KVM dropped CR0.PG (kvm-pvm supports paging only in long mode)`,
      );
    }
    this.#started = true;
  }

  /** Runs the guest until it stops (HLT, exit port, crash, timeout or abort). */
  run(options: RunOptions = {}): RunResult {
    this.#machine.check("run");
    checkRunOptions(options.timeout);
    this.#prepare();
    const stop = this.#machine.run({ timeout: options.timeout });
    return { stop, status: statusOf(stop), exits: this.exits };
  }

  /**
   * Runs the guest like {@link run}, but returns to the event loop every `sliceMs` (default 20)
   * so timers and an AbortSignal can call {@link abort}.
   */
  async runAsync(
    options: RunOptions & { signal?: AbortSignal; sliceMs?: number } = {},
  ): Promise<RunResult> {
    this.#machine.check("run");
    checkRunOptions(options.timeout, options.sliceMs);
    this.#prepare();
    const onAbort = () => this.abort();
    options.signal?.addEventListener("abort", onAbort);
    try {
      const stop: StopReason = options.signal?.aborted
        ? { kind: "aborted" }
        : await this.#machine.runAsync({ timeout: options.timeout, tickMs: options.sliceMs });
      return { stop, status: statusOf(stop), exits: this.exits };
    } finally {
      options.signal?.removeEventListener("abort", onAbort);
    }
  }

  /**
   * The vCPU's general purpose registers (KVM_GET_REGS). Before the first run the mode is set
   * up first, as for {@link setRegs}: they are the registers the guest will start with.
   */
  getRegs(): Regs {
    this.#machine.check("read registers");
    this.#prepare();
    return this.#machine.vcpu.getRegs();
  }

  /** Sets the vCPU's general purpose registers (KVM_SET_REGS); the mode is set up first. */
  setRegs(regs: Regs): void {
    this.#machine.check("write registers");
    this.#prepare();
    this.#machine.vcpu.setRegs(regs);
  }

  /** The vCPU's special registers (KVM_GET_SREGS); before the first run, as for getRegs. */
  getSregs(): Sregs {
    this.#machine.check("read registers");
    this.#prepare();
    return this.#machine.vcpu.getSregs();
  }

  /** A multi-line crash report: the stop reason and the registers that matter. */
  crashReport(stop: StopReason): string {
    this.#machine.check("read registers");
    const vcpu = this.#machine.vcpu;
    return crashReport(stop, vcpu.getRegs(), vcpu.getSregs(), this.devices.post.lastCode);
  }

  /** Releases the vCPU, RAM, VM and KVM fds; safe to call twice. */
  [Symbol.dispose](): void {
    this.#machine[Symbol.dispose]();
  }
}
