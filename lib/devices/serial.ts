/**
 * Serial: a 16550A UART (register names from the TI/National PC16550D datasheet) whose bytes go
 * to and come from the host through callbacks.
 *
 * @module
 */

import type { BusDevice } from "./device.ts";

// Register offsets from the UART base. Offsets 0 and 1 select the divisor latch when LCR.DLAB is set.
const RBR = 0; // Receiver Buffer Register (read, DLAB=0)
const THR = 0; // Transmitter Holding Register (write, DLAB=0)
const DLL = 0; // Divisor Latch, least significant byte (DLAB=1)
const IER = 1; // Interrupt Enable Register (DLAB=0)
const DLM = 1; // Divisor Latch, most significant byte (DLAB=1)
const IIR = 2; // Interrupt Identification Register (read)
const FCR = 2; // FIFO Control Register (write)
const LCR = 3; // Line Control Register
const MCR = 4; // Modem Control Register
const LSR = 5; // Line Status Register
const MSR = 6; // Modem Status Register
const SCR = 7; // Scratch Register

// IER bits.
const IER_ERBFI = 0x01; // Enable Received Data Available Interrupt (and FIFO timeout)
const IER_ETBEI = 0x02; // Enable Transmitter Holding Register Empty Interrupt
const IER_ELSI = 0x04; // Enable Receiver Line Status Interrupt
const IER_EDSSI = 0x08; // Enable Modem Status Interrupt
const IER_MASK = 0x0f; // bits 7:4 are always 0

// IIR values: bit 0 clear means "interrupt pending", bits 3:1 identify it, bits 7:6 mirror FCR0.
const IIR_NO_INT = 0x01;
const IIR_RLS = 0x06; // Receiver Line Status (priority 1)
const IIR_RDA = 0x04; // Received Data Available (priority 2)
const IIR_CTI = 0x0c; // Character Timeout Indication (priority 2)
const IIR_THRE = 0x02; // Transmitter Holding Register Empty (priority 3)
const IIR_MS = 0x00; // Modem Status (priority 4)
const IIR_FIFOS_ENABLED = 0xc0;

// FCR bits.
const FCR_FIFO_ENABLE = 0x01;
const FCR_RCVR_RESET = 0x02;
const FCR_XMIT_RESET = 0x04;
const FCR_TRIGGER_SHIFT = 6;
/** RCVR FIFO trigger levels selected by FCR bits 7:6. */
const RCVR_TRIGGER_LEVELS = [1, 4, 8, 14];

// LCR bits.
const LCR_DLAB = 0x80; // Divisor Latch Access Bit

// MCR bits.
const MCR_DTR = 0x01;
const MCR_RTS = 0x02;
const MCR_OUT1 = 0x04;
const MCR_OUT2 = 0x08;
const MCR_LOOP = 0x10;
const MCR_MASK = 0x1f; // bits 7:5 are always 0

// LSR bits.
const LSR_DR = 0x01; // Data Ready
const LSR_OE = 0x02; // Overrun Error
const LSR_THRE = 0x20; // Transmitter Holding Register Empty
const LSR_TEMT = 0x40; // Transmitter Empty

// MSR bits: deltas in 3:0, line states in 7:4.
const MSR_DCTS = 0x01;
const MSR_DDSR = 0x02;
const MSR_TERI = 0x04; // Trailing Edge Ring Indicator
const MSR_DDCD = 0x08;
const MSR_CTS = 0x10;
const MSR_DSR = 0x20;
const MSR_RI = 0x40;
const MSR_DCD = 0x80;
/** Modem inputs reported when loopback is off: a peer that is present and ready (CTS|DSR|DCD). */
const MSR_PEER_PRESENT = MSR_CTS | MSR_DSR | MSR_DCD;

/** Depth of the receiver and transmitter FIFOs of a 16550A. */
export const SERIAL_FIFO_DEPTH = 16;

/**
 * Divisor latch value at reset: 12, i.e. 9600 baud from the PC's 1.8432 MHz clock
 * (1843200 / (16 * 12)). The datasheet leaves the latch undefined at reset.
 */
export const SERIAL_DEFAULT_DIVISOR = 12;

/** Host-side connections of a {@link Serial}. */
export interface SerialOptions {
  /** Called with each byte the guest transmits (THR write with loopback off). */
  transmit(byte: number): void;
  /**
   * Non-blocking poll for one received byte from the host side; null when none is available.
   * Called only when the receiver is empty and the guest reads RBR, LSR or IIR, so a host can
   * supply bytes lazily. Not called in loopback mode, where the serial input is disconnected.
   */
  receive?(): number | null;
  /** Called when the interrupt line level changes (never twice with the same level). */
  setIrq?(level: boolean): void;
}

/**
 * A 16550A UART on an 8-port range (COM1 is 0x3f8..0x3ff on the PC).
 *
 * Transmission is instantaneous: a THR write reaches `transmit` before the write returns, so
 * LSR.THRE and LSR.TEMT are always set and the transmitter FIFO is always empty. Baud rate,
 * word length, parity, stop bits and break (LCR) are stored and read back but do not change the
 * byte stream. There is no timing model, so in FIFO mode a receiver FIFO holding fewer bytes
 * than the trigger level reports the character timeout (IIR 0x0c) at once.
 *
 * The interrupt line is `pending && MCR.OUT2 && !MCR.LOOP`: on the PC the OUT2 pin enables the
 * IRQ driver, and the datasheet forces OUT2 inactive in loopback mode.
 *
 * Accesses wider than one byte act on the single register at `offset`: writes use the low byte
 * of `data`, reads return the register in the low byte and zero in the others. Offsets past 7
 * read as zero and ignore writes.
 *
 * @example Transmitting a byte and reading one back from the host
 * ```ts
 * import { Serial } from "./serial.ts";
 * const out: number[] = [];
 * const uart = new Serial({ transmit: (byte) => out.push(byte) });
 * uart.write(0, Uint8Array.of(0x41)); // THR
 * uart.enqueueInput(Uint8Array.of(0x42));
 * const data = new Uint8Array(1);
 * uart.read(0, data); // RBR
 * console.log(out, data[0]); // [ 65 ] 66
 * ```
 */
export class Serial implements BusDevice {
  readonly #transmit: (byte: number) => void;
  readonly #receive: (() => number | null) | undefined;
  readonly #setIrq: ((level: boolean) => void) | undefined;

  #ier = 0;
  #lcr = 0;
  #mcr = 0;
  #scr = 0;
  #dll = SERIAL_DEFAULT_DIVISOR & 0xff;
  #dlm = SERIAL_DEFAULT_DIVISOR >> 8;
  #fifoEnabled = false;
  #triggerLevel = 1;
  /** LSR bits that latch until LSR is read (only OE: no parity, framing or break errors occur). */
  #lsrErrors = 0;
  /** MSR delta bits (3:0), cleared when MSR is read. */
  #msrDeltas = 0;
  /** MSR line states (7:4) as last computed, to detect changes. */
  #msrLines = MSR_PEER_PRESENT;
  /** THRE interrupt latch: set when THR empties, cleared by an IIR read that reports it or a THR write. */
  #thrEmptyPending = false;
  /** Receiver FIFO (or the single holding register when FIFOs are disabled), oldest byte first. */
  #rx: number[] = [];
  #irqLevel = false;

  /** Builds a UART in its reset state, connected to the host through `options`. */
  constructor(options: SerialOptions) {
    this.#transmit = options.transmit;
    this.#receive = options.receive;
    this.#setIrq = options.setIrq;
  }

  /** The interrupt line level as last reported to `setIrq`. */
  get irqLevel(): boolean {
    return this.#irqLevel;
  }

  /**
   * Pushes bytes received from the host into the receiver. Ignored in loopback mode (the serial
   * input is disconnected). When the receiver is full, LSR.OE is set: in FIFO mode the new byte
   * is lost, with FIFOs disabled it overwrites the unread byte in RBR. As on hardware, a guest's
   * FCR write that toggles FCR0 or resets the receiver discards queued bytes: a host with a
   * stream (stdin) should prefer the lazy `receive` callback, which nothing discards.
   */
  enqueueInput(bytes: Uint8Array): void {
    if (this.#mcr & MCR_LOOP) return;
    for (const byte of bytes) this.#receiveByte(byte);
    this.#updateIrq();
  }

  /**
   * Fills the receiver from the `receive` callback while it has room and the host has bytes, then
   * updates the IRQ line: an interrupt-driven guest learns of host input this way (call it
   * periodically; a polling guest gets input lazily through LSR/RBR reads anyway).
   */
  pollInput(): void {
    if (this.#receive === undefined || this.#mcr & MCR_LOOP) return;
    const capacity = this.#fifoEnabled ? SERIAL_FIFO_DEPTH : 1;
    while (this.#rx.length < capacity) {
      const byte = this.#receive();
      if (byte === null) break;
      this.#receiveByte(byte);
    }
    this.#updateIrq();
  }

  /** Reads the register at `offset` into the low byte of `data`; other bytes read as zero. */
  read(offset: number, data: Uint8Array): void {
    data.fill(0);
    if (data.length > 0) data[0] = this.#readRegister(offset);
  }

  /** Writes the low byte of `data` to the register at `offset`. */
  write(offset: number, data: Uint8Array): void {
    if (data.length > 0) this.#writeRegister(offset, data[0]);
  }

  #readRegister(offset: number): number {
    const dlab = (this.#lcr & LCR_DLAB) !== 0;
    if (dlab && offset === DLL) return this.#dll;
    if (dlab && offset === DLM) return this.#dlm;
    switch (offset) {
      case RBR: {
        this.#pollHost();
        const byte = this.#rx.shift() ?? 0;
        this.#updateIrq();
        return byte;
      }
      case IER:
        return this.#ier;
      case IIR: {
        this.#pollHost();
        const id = this.#pendingInterrupt();
        if (id === IIR_THRE) this.#thrEmptyPending = false;
        this.#updateIrq();
        return (this.#fifoEnabled ? IIR_FIFOS_ENABLED : 0) | (id ?? IIR_NO_INT);
      }
      case LCR:
        return this.#lcr;
      case MCR:
        return this.#mcr;
      case LSR: {
        this.#pollHost();
        const value = this.#lsr();
        this.#lsrErrors = 0;
        this.#updateIrq();
        return value;
      }
      case MSR: {
        const value = this.#msrLines | this.#msrDeltas;
        this.#msrDeltas = 0;
        this.#updateIrq();
        return value;
      }
      case SCR:
        return this.#scr;
      default:
        return 0;
    }
  }

  #writeRegister(offset: number, value: number): void {
    const dlab = (this.#lcr & LCR_DLAB) !== 0;
    if (dlab && offset === DLL) {
      this.#dll = value;
      return;
    }
    if (dlab && offset === DLM) {
      this.#dlm = value;
      return;
    }
    switch (offset) {
      case THR:
        if (this.#mcr & MCR_LOOP) this.#receiveByte(value);
        else this.#transmit(value);
        // The byte left at once, so THR is empty again: a fresh THRE interrupt.
        this.#thrEmptyPending = true;
        break;
      case IER: {
        const enabling = value & ~this.#ier;
        this.#ier = value & IER_MASK;
        // Enabling ETBEI while THR is empty (always, here) raises THRE, as on the 16550A.
        if (enabling & IER_ETBEI) this.#thrEmptyPending = true;
        break;
      }
      case FCR:
        this.#writeFcr(value);
        break;
      case LCR:
        this.#lcr = value;
        break;
      case MCR:
        this.#mcr = value & MCR_MASK;
        this.#updateModemLines();
        break;
      case LSR:
      case MSR:
        // Read-only here (writes are for factory test on the real part).
        break;
      case SCR:
        this.#scr = value;
        break;
    }
    this.#updateIrq();
  }

  #writeFcr(value: number): void {
    const enable = (value & FCR_FIFO_ENABLE) !== 0;
    // Changing FCR0 clears both FIFOs; the other bits are programmed only with FCR0 set.
    if (enable !== this.#fifoEnabled) this.#rx = [];
    this.#fifoEnabled = enable;
    if (!enable) return;
    if (value & FCR_RCVR_RESET) this.#rx = [];
    if (value & FCR_XMIT_RESET) {
      // The transmitter FIFO is always empty (transmission is immediate): nothing to clear.
    }
    this.#triggerLevel = RCVR_TRIGGER_LEVELS[value >> FCR_TRIGGER_SHIFT];
  }

  /** Puts one byte into the receiver, handling overrun; does not update the IRQ line. */
  #receiveByte(byte: number): void {
    const capacity = this.#fifoEnabled ? SERIAL_FIFO_DEPTH : 1;
    if (this.#rx.length < capacity) {
      this.#rx.push(byte & 0xff);
      return;
    }
    this.#lsrErrors |= LSR_OE;
    // 16450 mode: the new character overwrites RBR. FIFO mode: the shift register is lost.
    if (!this.#fifoEnabled) this.#rx[0] = byte & 0xff;
  }

  /** When the receiver is empty, asks the host for one byte (never in loopback mode). */
  #pollHost(): void {
    if (this.#rx.length > 0 || this.#receive === undefined || this.#mcr & MCR_LOOP) return;
    const byte = this.#receive();
    if (byte !== null) this.#receiveByte(byte);
  }

  #lsr(): number {
    return (this.#rx.length > 0 ? LSR_DR : 0) | this.#lsrErrors | LSR_THRE | LSR_TEMT;
  }

  /** The highest-priority enabled pending interrupt as an IIR identification, or null. */
  #pendingInterrupt(): number | null {
    if (this.#ier & IER_ELSI && this.#lsrErrors & LSR_OE) return IIR_RLS;
    if (this.#ier & IER_ERBFI && this.#rx.length > 0) {
      if (!this.#fifoEnabled || this.#rx.length >= this.#triggerLevel) return IIR_RDA;
      return IIR_CTI;
    }
    if (this.#ier & IER_ETBEI && this.#thrEmptyPending) return IIR_THRE;
    if (this.#ier & IER_EDSSI && this.#msrDeltas !== 0) return IIR_MS;
    return null;
  }

  /** Recomputes the modem input lines after an MCR write and latches the delta bits. */
  #updateModemLines(): void {
    let lines = MSR_PEER_PRESENT;
    if (this.#mcr & MCR_LOOP) {
      lines = (this.#mcr & MCR_RTS ? MSR_CTS : 0) | (this.#mcr & MCR_DTR ? MSR_DSR : 0) |
        (this.#mcr & MCR_OUT1 ? MSR_RI : 0) | (this.#mcr & MCR_OUT2 ? MSR_DCD : 0);
    }
    const changed = lines ^ this.#msrLines;
    if (changed & MSR_CTS) this.#msrDeltas |= MSR_DCTS;
    if (changed & MSR_DSR) this.#msrDeltas |= MSR_DDSR;
    if (changed & MSR_DCD) this.#msrDeltas |= MSR_DDCD;
    // TERI: RI went from active to inactive.
    if (changed & MSR_RI && !(lines & MSR_RI)) this.#msrDeltas |= MSR_TERI;
    this.#msrLines = lines;
  }

  #updateIrq(): void {
    const gate = (this.#mcr & (MCR_OUT2 | MCR_LOOP)) === MCR_OUT2;
    const level = gate && this.#pendingInterrupt() !== null;
    if (level === this.#irqLevel) return;
    this.#irqLevel = level;
    this.#setIrq?.(level);
  }
}
