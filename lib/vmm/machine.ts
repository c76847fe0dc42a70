/**
 * Machine: the parts every VM has — KVM fds, guest RAM, one vCPU, the buses, the console sink,
 * and the run loop with timeouts, aborts and periodic ticks.
 *
 * @module
 */

import { Kvm } from "../kvm/kvm.ts";
import type { VmFd } from "../kvm/vm_fd.ts";
import type { VcpuFd } from "../kvm/vcpu_fd.ts";
import { Bus } from "./bus.ts";
import { ConsoleSink, fileWriter } from "./console_sink.ts";
import { eventLoopTurn } from "./event_loop_turn.ts";
import { ExitDispatcher } from "./exit_dispatch.ts";
import { ExitStats } from "./exit_stats.ts";
import { VcpuKicker } from "./kicker.ts";
import { GuestMemory } from "./memory.ts";
import { RunControl, runLoop } from "./run_loop.ts";
import type { StopReason } from "./stop_reason.ts";
import { EXIT_REASONS } from "../kvm/abi.ts";

/** A guest-physical RAM slot backed by part of the one host mapping. */
export interface RamSlot {
  /** Guest-physical start. */
  guestAddress: number;
  /** Bytes. */
  size: number;
  /** Offset into the host mapping. */
  hostOffset: number;
}

/** How to build a {@link Machine}. */
export interface MachineOptions {
  /** Bytes of guest RAM (a multiple of 4 KiB). */
  memSize: number;
  /** Guest-physical slots of RAM; default one slot [0, memSize). */
  slots?: RamSlot[];
  /** KVM device path. */
  kvmPath?: string;
  /** Where console output goes; default stdout. */
  output?: (bytes: Uint8Array) => void;
  /** Write each console byte at once instead of by lines (an interactive terminal). */
  eagerOutput?: boolean;
  /** VM-wide setup before the vCPU is created (irqchip, PIT, TSS address). */
  beforeVcpu?: (vm: VmFd, kvm: Kvm) => void;
}

/** Options of one {@link Machine.run}. */
export interface MachineRunOptions {
  /** Seconds until the run stops with "timeout". */
  timeout?: number;
  /** Called every `tickMs` while running (polling host input); the vCPU is kicked to run it. */
  tick?: () => void;
  /** Tick period in milliseconds (default 10). */
  tickMs?: number;
}

/** The KVM VM with its memory, vCPU 0, buses and run loop. */
export class Machine {
  /** The /dev/kvm fd. */
  readonly kvm: Kvm;
  /** The VM fd. */
  readonly vmFd: VmFd;
  /** vCPU 0. */
  readonly vcpu: VcpuFd;
  /** Guest RAM (one host mapping). */
  readonly memory: GuestMemory;
  /** The port-I/O bus. */
  readonly ports: Bus = new Bus("port");
  /** The MMIO bus. */
  readonly mmio: Bus = new Bus("MMIO");
  /** Exit counters, cumulative over runs. */
  readonly exits: ExitStats = new ExitStats();
  /** Stop requests from devices and handlers. */
  readonly control: RunControl = new RunControl();
  /** The guest console (all output devices write here). */
  readonly console: ConsoleSink;
  readonly #dispatcher: ExitDispatcher;
  #kicker: VcpuKicker | undefined;
  #running = false;
  #disposed = false;

  /** Opens KVM, creates the VM, maps and registers RAM, creates vCPU 0. */
  constructor(options: MachineOptions) {
    this.kvm = Kvm.open(options.kvmPath);
    const cleanup: Disposable[] = [this.kvm];
    try {
      this.vmFd = this.kvm.createVm();
      cleanup.push(this.vmFd);
      this.memory = new GuestMemory(options.memSize);
      cleanup.push(this.memory);
      const slots = options.slots ?? [{ guestAddress: 0, size: options.memSize, hostOffset: 0 }];
      slots.forEach((slot, index) =>
        this.vmFd.setUserMemoryRegion({
          slot: index,
          guestPhysAddr: BigInt(slot.guestAddress),
          memorySize: BigInt(slot.size),
          userspaceAddr: this.memory.hostAddress + BigInt(slot.hostOffset),
        })
      );
      options.beforeVcpu?.(this.vmFd, this.kvm);
      this.vcpu = this.vmFd.createVcpu(0);
    } catch (error) {
      for (const resource of cleanup.reverse()) resource[Symbol.dispose]();
      throw error;
    }
    this.console = new ConsoleSink(options.output ?? fileWriter(), options.eagerOutput);
    this.#dispatcher = new ExitDispatcher(this.vcpu.runBytes, this.ports, this.mmio, this.exits);
  }

  /** Whether {@link run} is in progress. */
  get running(): boolean {
    return this.#running;
  }

  /** Whether the machine was disposed. */
  get disposed(): boolean {
    return this.#disposed;
  }

  /** Throws "Cannot <action>: the VM was disposed" after dispose. */
  check(action: string): void {
    if (this.#disposed) throw new Error(`Cannot ${action}: the VM was disposed`);
  }

  /** Runs vCPU 0 until a stop reason; flushes the console whatever happens. */
  run(options: MachineRunOptions = {}): StopReason {
    const deadline = this.#begin(options.timeout);
    try {
      if (!options.tick) return this.#slice(deadline);
      const tickMs = options.tickMs ?? 10;
      while (true) {
        const stop = this.#slice(Math.min(deadline, performance.now() + tickMs));
        if (stop.kind !== "timeout" || performance.now() >= deadline) return stop;
        options.tick();
      }
    } finally {
      this.#end();
    }
  }

  /**
   * Runs like {@link run}, but in slices of `tickMs` (default 20) with a return to the event loop
   * between them, so timers, signal listeners and AbortSignals can call {@link abort}. A signal
   * that interrupts the guest (a stop signal, an input wake-up) ends the slice at once.
   */
  async runAsync(options: MachineRunOptions = {}): Promise<StopReason> {
    const deadline = this.#begin(options.timeout);
    this.control.endOnSignal = true;
    try {
      const tickMs = options.tickMs ?? 20;
      while (true) {
        const sliceEnd = Math.min(deadline, performance.now() + tickMs);
        const stop = this.#slice(sliceEnd);
        const now = performance.now();
        if (stop.kind !== "timeout" || now >= deadline) return stop;
        options.tick?.();
        // A slice that ended before its time was cut short by a signal: let its listener run.
        await eventLoopTurn(tickMs, now < sliceEnd);
        if (this.control.aborted) return { kind: "aborted" };
      }
    } finally {
      this.#end();
    }
  }

  /** Marks the machine running and resets the stop state; returns the absolute deadline. */
  #begin(timeout: number | undefined): number {
    this.check("run");
    if (this.#running) throw new Error("Cannot run: the VM is already running");
    this.control.stopRequest = null;
    this.control.aborted = false;
    this.control.endOnSignal = false;
    this.#running = true;
    return timeout === undefined ? Infinity : performance.now() + timeout * 1000;
  }

  /**
   * Marks the machine stopped. An abort() between slices (from a timer or a tick) set
   * `immediate_exit` that no KVM_RUN consumed: cleared, or the next run would begin with a
   * spurious KVM_EXIT_INTR.
   */
  #end(): void {
    this.#running = false;
    this.vcpu.setImmediateExit(false);
  }

  /**
   * One run of the loop until `deadline` (reported as "timeout") or a stop. When the VM stops
   * right after an exit that KVM completes on re-entry (a port or MMIO access), the access is
   * completed, so registers read afterwards show the guest after that instruction on every kind
   * of KVM (unless the instruction needs a further access: see RunControl.pendingExit). Only
   * then: an extra KVM_RUN after other exits is useless, and inside the nested test host one
   * after every HLT froze the whole host within ~30 VMs.
   */
  #slice(deadline: number): StopReason {
    this.control.deadline = deadline;
    // Only a finite deadline needs the kicker (a timer, a signal handler, libc symbols): without
    // a timeout or ticks nothing interrupts the run, and abort() can only come from a handler on
    // this thread, which the immediate-exit flag covers.
    if (deadline !== Infinity) this.#kicker ??= new VcpuKicker();
    try {
      const stop = runLoop(this.vcpu, this.#dispatcher, this.exits, this.control, this.#kicker);
      if (isIoExit(this.control.lastExitReason)) {
        const next = this.vcpu.completePendingIo();
        // The instruction wants another access: handled first thing in the next run, not now
        // (the VM has stopped), and not lost (KVM would complete it with stale data).
        if (isIoExit(next)) this.control.pendingExit = next;
      }
      return stop;
    } finally {
      this.console.flush();
    }
  }

  /** Stops a run: from a handler, a tick, or (with runAsync) a timer. */
  abort(): void {
    this.control.aborted = true;
    if (this.#running) {
      this.vcpu.setImmediateExit(true);
      this.#kicker?.kick();
    }
  }

  /** Releases the vCPU, RAM, VM and KVM fds; safe to call twice. */
  [Symbol.dispose](): void {
    if (this.#disposed) return;
    if (this.#running) throw new Error("Cannot dispose the VM while it runs: abort() it first");
    this.#disposed = true;
    this.console.flush();
    this.#kicker?.[Symbol.dispose]();
    this.vcpu[Symbol.dispose]();
    this.vmFd[Symbol.dispose]();
    this.memory[Symbol.dispose]();
    this.kvm[Symbol.dispose]();
  }
}

/** Whether `reason` is a port or MMIO exit, which KVM completes on the next KVM_RUN. */
function isIoExit(reason: number): boolean {
  return reason === EXIT_REASONS.KVM_EXIT_IO || reason === EXIT_REASONS.KVM_EXIT_MMIO;
}
