/**
 * ExitDispatcher: turns one KVM exit (as `kvm_run` holds it) into bus accesses or a stop reason.
 * It only reads and writes the `kvm_run` bytes it is given, so tests drive it without /dev/kvm.
 *
 * @module
 */

import {
  EXIT_REASONS as EXIT,
  INTERNAL_ERRORS,
  KVM_EXIT_IO_OUT,
  KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES,
  KVM_RUN,
} from "../kvm/abi.ts";
import type { Bus } from "./bus.ts";
import { exitReasonName, internalErrorName, systemEventName } from "./exit_names.ts";
import type { ExitStats } from "./exit_stats.ts";
import type { StopReason } from "./stop_reason.ts";

/** Value an unclaimed read returns in every byte, like a floating PC bus. */
export const UNCLAIMED_READ_BYTE = 0xff;

/** Dispatches exits from one vCPU's `kvm_run` to the port and MMIO buses. */
export class ExitDispatcher {
  readonly #view: DataView;
  readonly #bytes: Uint8Array;
  readonly #ports: Bus;
  readonly #mmio: Bus;
  readonly #stats: ExitStats;
  /** One reusable access buffer per size 1, 2, 4 and 8: no allocation per exit. */
  readonly #scratch: Uint8Array[] = [];

  /** Reads exits from `run` (the mapped `kvm_run` bytes). */
  constructor(run: Uint8Array, ports: Bus, mmio: Bus, stats: ExitStats) {
    this.#bytes = run;
    this.#view = new DataView(run.buffer, run.byteOffset, run.byteLength);
    this.#ports = ports;
    this.#mmio = mmio;
    this.#stats = stats;
    for (let size = 0; size <= 8; size++) this.#scratch.push(new Uint8Array(size));
  }

  /**
   * Handles exit `reason`: performs the I/O it asks for and returns null to keep running, or
   * returns why the VM must stop. KVM_EXIT_INTR is the run loop's business, not handled here.
   */
  dispatch(reason: number): StopReason | null {
    switch (reason) {
      case EXIT.KVM_EXIT_IO:
        this.#portIo();
        return null;
      case EXIT.KVM_EXIT_MMIO:
        this.#mmioAccess();
        return null;
      case EXIT.KVM_EXIT_HLT:
        return { kind: "hlt" };
      case EXIT.KVM_EXIT_SHUTDOWN:
        return { kind: "shutdown" };
      case EXIT.KVM_EXIT_FAIL_ENTRY:
        return {
          kind: "fail-entry",
          hardwareReason: this.#view.getBigUint64(
            KVM_RUN.fail_entry_hardware_entry_failure_reason,
            true,
          ),
          cpu: this.#view.getUint32(KVM_RUN.fail_entry_cpu, true),
        };
      case EXIT.KVM_EXIT_INTERNAL_ERROR:
        return this.#internalError();
      case EXIT.KVM_EXIT_SYSTEM_EVENT: {
        const type = this.#view.getUint32(KVM_RUN.system_event_type, true);
        return { kind: "system-event", type, typeName: systemEventName(type) };
      }
      default:
        return { kind: "unhandled-exit", exitReason: reason, exitName: exitReasonName(reason) };
    }
  }

  #portIo(): void {
    const view = this.#view;
    const size = view.getUint8(KVM_RUN.io_size);
    const port = view.getUint16(KVM_RUN.io_port, true);
    const count = view.getUint32(KVM_RUN.io_count, true);
    const dataOffset = view.getUint32(KVM_RUN.io_data_offset, true);
    const isOut = view.getUint8(KVM_RUN.io_direction) === KVM_EXIT_IO_OUT;
    const data = this.#scratch[size];
    const bytes = this.#bytes;
    const counts = isOut ? this.#stats.portWrites : this.#stats.portReads;
    counts.set(port, (counts.get(port) ?? 0) + count);
    for (let i = 0, at = dataOffset; i < count; i++, at += size) {
      if (isOut) {
        for (let b = 0; b < size; b++) data[b] = bytes[at + b];
        if (!this.#ports.write(port, data)) this.#stats.unclaimedPort++;
      } else {
        if (!this.#ports.read(port, data)) {
          data.fill(UNCLAIMED_READ_BYTE);
          this.#stats.unclaimedPort++;
        }
        for (let b = 0; b < size; b++) bytes[at + b] = data[b];
      }
    }
  }

  #mmioAccess(): void {
    const view = this.#view;
    const address = Number(view.getBigUint64(KVM_RUN.mmio_phys_addr, true));
    const length = Math.min(view.getUint32(KVM_RUN.mmio_len, true), 8);
    const isWrite = view.getUint8(KVM_RUN.mmio_is_write) !== 0;
    const data = this.#scratch[length];
    const bytes = this.#bytes;
    this.#stats.countMmio(isWrite, address);
    if (isWrite) {
      for (let b = 0; b < length; b++) data[b] = bytes[KVM_RUN.mmio_data + b];
      if (!this.#mmio.write(address, data)) this.#stats.unclaimedMmio++;
    } else {
      if (!this.#mmio.read(address, data)) {
        data.fill(UNCLAIMED_READ_BYTE);
        this.#stats.unclaimedMmio++;
      }
      for (let b = 0; b < length; b++) bytes[KVM_RUN.mmio_data + b] = data[b];
    }
  }

  #internalError(): StopReason {
    const view = this.#view;
    const suberror = view.getUint32(KVM_RUN.internal_suberror, true);
    const ndata = Math.min(view.getUint32(KVM_RUN.internal_ndata, true), 16);
    const data: bigint[] = [];
    for (let i = 0; i < ndata; i++) {
      data.push(view.getBigUint64(KVM_RUN.internal_data + 8 * i, true));
    }
    let instruction: Uint8Array | undefined;
    if (
      suberror === INTERNAL_ERRORS.KVM_INTERNAL_ERROR_EMULATION && ndata >= 2 &&
      (data[0] & BigInt(KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES)) !== 0n
    ) {
      const size = Math.min(view.getUint8(KVM_RUN.emulation_failure_insn_size), 15);
      const at = KVM_RUN.emulation_failure_insn_bytes;
      instruction = this.#bytes.slice(at, at + size);
    }
    return {
      kind: "internal-error",
      suberror,
      suberrorName: internalErrorName(suberror),
      data,
      instruction,
    };
  }
}
