/**
 * I8042: the PC keyboard controller (Intel 8042 / IBM PS/2 KBC) with an AT keyboard that answers
 * commands but never types, enough for Linux's i8042 probe, atkbd and `reboot=k`.
 *
 * @module
 */

import type { BusDevice } from "./device.ts";

// Status register bits (read at port 0x64), from the IBM PS/2 Technical Reference, "Keyboard/
// Auxiliary Device Controller", status register.
const STR_OBF = 0x01; // Output Buffer Full: a byte waits at port 0x60
// Bit 1 (Input Buffer Full) is never set: a write is taken at once.
const STR_SYS = 0x04; // System Flag: mirrors command byte bit 2 (set by self test / POST)
const STR_CMD = 0x08; // Command/Data: the last write was to port 0x64 (1) or port 0x60 (0)
const STR_INH = 0x10; // Inhibit Switch: 1 = keyboard not inhibited (no keylock)
const STR_AUXDATA = 0x20; // Auxiliary Output Buffer Full: the byte at port 0x60 is from the aux port
// Bits 6 (general time-out) and 7 (parity error) are never set: no transfer can fail here.

// Command byte (controller RAM byte 0) bits, same reference.
const CTR_KBDINT = 0x01; // Enable keyboard interrupt (IRQ 1)
const CTR_AUXINT = 0x02; // Enable auxiliary device interrupt (IRQ 12)
const CTR_SYS = 0x04; // System Flag
const CTR_KBDDIS = 0x10; // Disable keyboard interface
const CTR_AUXDIS = 0x20; // Disable auxiliary device interface
const CTR_XLATE = 0x40; // Translate keyboard scan codes to set 1

// Output port bits (command 0xD0 / 0xD1).
const OUTP_RESET = 0x01; // System reset line, active low: clearing it resets the CPU
const OUTP_A20 = 0x02; // Gate A20
const OUTP_KBD_OBF = 0x10; // Output buffer full with keyboard data
const OUTP_AUX_OBF = 0x20; // Output buffer full with auxiliary data
const OUTP_OBF_BITS = OUTP_KBD_OBF | OUTP_AUX_OBF;

// Controller commands written to port 0x64.
const CMD_READ_RAM = 0x20; // 0x20..0x3f: read controller RAM byte (0x20: the command byte)
const CMD_WRITE_RAM = 0x60; // 0x60..0x7f: write controller RAM byte from the next data byte
const CMD_AUX_DISABLE = 0xa7;
const CMD_AUX_ENABLE = 0xa8;
const CMD_AUX_TEST = 0xa9; // Auxiliary interface test: 0x00 = no error
const CMD_SELF_TEST = 0xaa; // Controller self test: 0x55 = passed
const CMD_KBD_TEST = 0xab; // Keyboard interface test: 0x00 = no error
const CMD_KBD_DISABLE = 0xad;
const CMD_KBD_ENABLE = 0xae;
const CMD_READ_OUTPUT_PORT = 0xd0;
const CMD_WRITE_OUTPUT_PORT = 0xd1;
const CMD_WRITE_KBD_OUTPUT = 0xd2; // Next data byte appears at port 0x60 as keyboard data
const CMD_WRITE_AUX_OUTPUT = 0xd3; // Next data byte appears at port 0x60 as aux data (loopback)
const CMD_WRITE_AUX = 0xd4; // Next data byte goes to the auxiliary device
const CMD_A20_DISABLE = 0xdd;
const CMD_A20_ENABLE = 0xdf;
const CMD_PULSE_OUTPUT = 0xf0; // 0xf0..0xff: pulse output port bits 3:0 that are 0 in the command

// Controller replies.
const SELF_TEST_PASSED = 0x55;
const INTERFACE_TEST_OK = 0x00;

// Keyboard commands written to port 0x60, and keyboard replies (IBM PS/2 keyboard reference).
const KBD_CMD_SET_LEDS = 0xed; // + one parameter byte
const KBD_CMD_ECHO = 0xee;
const KBD_CMD_SCANCODE_SET = 0xf0; // + one parameter byte: 0 = report the current set
const KBD_CMD_IDENTIFY = 0xf2;
const KBD_CMD_SET_TYPEMATIC = 0xf3; // + one parameter byte
const KBD_CMD_ENABLE = 0xf4;
const KBD_CMD_DISABLE = 0xf5; // Default disable: stop scanning, restore defaults
const KBD_CMD_SET_DEFAULT = 0xf6;
const KBD_CMD_RESEND = 0xfe;
const KBD_CMD_RESET = 0xff;
const KBD_ACK = 0xfa;
const KBD_BAT_PASSED = 0xaa; // Basic Assurance Test completed
const KBD_ECHO = 0xee;
/** Identify reply of an MF2 keyboard (untranslated). */
const KBD_ID = [0xab, 0x83];
const KBD_DEFAULT_SCANCODE_SET = 2;

/** Depth of the output queue; Linux's i8042 flush reads at most this many bytes. */
export const I8042_QUEUE_DEPTH = 16;

/**
 * Command byte at power-on: keyboard interrupt on, auxiliary interface disabled, scan code
 * translation on (as a PC BIOS leaves it). The system flag is clear until a self test (0xAA)
 * or a command byte write sets it.
 */
export const I8042_RESET_COMMAND_BYTE = CTR_KBDINT | CTR_AUXDIS | CTR_XLATE;

/** Output port at power-on: reset line high (not in reset), A20 enabled. */
export const I8042_RESET_OUTPUT_PORT = OUTP_RESET | OUTP_A20;

/** Host-side connections of an {@link I8042}. */
export interface I8042Options {
  /**
   * Called when the guest pulses or pulls the system reset line: command 0xFE (any of
   * 0xF0..0xFE with bit 0 clear), or an output port write (0xD1) with bit 0 clear. This is how
   * Linux reboots with `reboot=k`; microvmm has no warm reset, so the VMM stops the VM here.
   * Called once per such write: a guest that keeps running may try again.
   */
  onReset(): void;
  /** Called when the keyboard interrupt line (IRQ 1) changes level. */
  setIrq?(level: boolean): void;
  /** Called when the auxiliary (mouse) interrupt line (IRQ 12) changes level. */
  setAuxIrq?(level: boolean): void;
}

/** One byte in the output queue, and which port it comes from. */
interface OutputByte {
  readonly value: number;
  readonly aux: boolean;
}

/**
 * An i8042 keyboard controller with an AT keyboard attached and no auxiliary (mouse) device.
 *
 * The controller has two ports that are not adjacent: data at 0x60 and status/command at 0x64
 * (0x61 is the PC's port B, a different device). It is therefore not itself a {@link BusDevice};
 * insert its two views, each one port long:
 *
 * ```ts ignore
 * bus.insert(0x60, 1, "i8042 data", kbc.dataPort);
 * bus.insert(0x64, 1, "i8042 command", kbc.commandPort);
 * ```
 *
 * **Output buffer.** Bytes for the guest (controller replies, keyboard replies) wait in a
 * {@link I8042_QUEUE_DEPTH}-byte queue; status bit OBF is set while it holds a byte, and AUXDATA
 * when the first byte comes from the auxiliary port. Reading port 0x60 takes the first byte;
 * with the queue empty it returns the last byte read again. Bytes past the depth are dropped.
 *
 * **Interrupts.** IRQ 1 is high while the first queued byte is keyboard (or controller) data and
 * the command byte enables keyboard interrupts; IRQ 12 likewise for auxiliary data. Each read of
 * port 0x60 that takes a byte drops the line, and raises it again at once if another byte follows,
 * so an edge-triggered PIC or IOAPIC input sees one edge per byte (`setIrq(false)`,
 * `setIrq(true)`). Otherwise the callbacks never see the same level twice in a row.
 *
 * **Controller commands** (port 0x64): 0x20..0x3F read and 0x60..0x7F write controller RAM
 * (byte 0 is the command byte); 0xA7/0xA8 disable/enable the auxiliary interface and 0xAD/0xAE the
 * keyboard interface (command byte bits 5 and 4); 0xA9 and 0xAB interface tests reply 0x00; 0xAA
 * self test replies 0x55 and sets the system flag; 0xD0/0xD1 read/write the output port;
 * 0xD2/0xD3 put the next data byte in the output buffer as keyboard/auxiliary data (0xD3 is the
 * loopback Linux uses to probe the aux port); 0xD4 sends the next data byte to the auxiliary
 * device, of which there is none, so the byte is dropped and no reply comes (a mouse driver
 * times out: Linux's aux probe and psmouse cost a few hundred milliseconds, so Linux guests are
 * best booted with `i8042.noaux`, as on Firecracker); 0xDD/0xDF clear/set the A20 bit
 * of the output port, which is stored only (A20 is always enabled); 0xF0..0xFF pulse output port
 * lines, where bit 0 clear (0xFE) pulses reset. Other commands are ignored. A command that takes
 * a data byte waits for the next write to port 0x60; a new command cancels it.
 *
 * **Keyboard commands** (port 0x60 when no controller command waits for data; such a write also
 * clears command byte bit 4, re-enabling the keyboard interface, as on hardware): 0xFF reset →
 * 0xFA 0xAA; 0xF2 identify → 0xFA 0xAB 0x83; 0xEE echo → 0xEE; 0xFE resend → the last keyboard
 * byte again; 0xED (LEDs), 0xF3 (typematic) and 0xF0 (scan code set) take a parameter byte, each
 * byte acknowledged with 0xFA, and 0xF0 0x00 also replies the current set (2 at reset); every
 * other byte, including 0xF4 enable and 0xF5 disable, is acknowledged with 0xFA. The keyboard
 * never sends scan codes, and replies are not translated to set 1 (Linux accepts the ID 0xAB83
 * either way).
 *
 * Status bit 2 (SYS) mirrors command byte bit 2; IBF, time-out and parity are always clear and
 * the inhibit switch always reads "not inhibited". Accesses wider than one byte use the low byte
 * of `data` and read the register into the low byte, zero in the others.
 *
 * @example Linux's controller self test and reboot
 * ```ts
 * import { I8042 } from "./i8042.ts";
 * let resets = 0;
 * const kbc = new I8042({ onReset: () => resets++ });
 * const data = new Uint8Array(1);
 * kbc.commandPort.write(0, Uint8Array.of(0xaa)); // self test
 * kbc.commandPort.read(0, data);
 * console.log(data[0] & 0x01); // 1: OBF
 * kbc.dataPort.read(0, data);
 * console.log(data[0].toString(16)); // 55
 * kbc.commandPort.write(0, Uint8Array.of(0xfe)); // pulse reset
 * console.log(resets); // 1
 * ```
 */
export class I8042 {
  /** Port 0x60: output buffer (read), keyboard command or controller command data (write). */
  readonly dataPort: BusDevice;
  /** Port 0x64: status register (read), controller command (write). */
  readonly commandPort: BusDevice;

  readonly #onReset: () => void;
  readonly #setIrq: ((level: boolean) => void) | undefined;
  readonly #setAuxIrq: ((level: boolean) => void) | undefined;

  /** Controller RAM; byte 0 is the command byte. */
  readonly #ram = new Uint8Array(32);
  #outputPort = I8042_RESET_OUTPUT_PORT;
  #queue: OutputByte[] = [];
  /** The byte the last data port read returned, read again while the queue is empty. */
  #lastRead = 0;
  /** Whether the last write went to the command port (status bit 3). */
  #lastWriteWasCommand = false;
  /** The controller command waiting for a data byte at port 0x60, or null. */
  #pendingCommand: number | null = null;
  /** The keyboard command waiting for its parameter byte, or null. */
  #pendingKeyboardCommand: number | null = null;
  #lastKeyboardByte = KBD_ACK;
  #scancodeSet = KBD_DEFAULT_SCANCODE_SET;
  #irqLevel = false;
  #auxIrqLevel = false;

  /** Builds a controller in its power-on state, connected to the VMM through `options`. */
  constructor(options: I8042Options) {
    this.#onReset = options.onReset;
    this.#setIrq = options.setIrq;
    this.#setAuxIrq = options.setAuxIrq;
    this.#ram[0] = I8042_RESET_COMMAND_BYTE;
    this.dataPort = {
      read: (_offset, data) => this.#readByte(data, this.#readData()),
      write: (_offset, data) => {
        if (data.length > 0) this.#writeData(data[0]);
      },
    };
    this.commandPort = {
      read: (_offset, data) => this.#readByte(data, this.status),
      write: (_offset, data) => {
        if (data.length > 0) this.#writeCommand(data[0]);
      },
    };
  }

  /** The status register, as a read of port 0x64 returns it (reading it has no side effect). */
  get status(): number {
    const head = this.#queue[0];
    return (head ? STR_OBF : 0) | (head?.aux ? STR_AUXDATA : 0) |
      (this.#commandByte & CTR_SYS ? STR_SYS : 0) |
      (this.#lastWriteWasCommand ? STR_CMD : 0) | STR_INH;
  }

  /** The command byte (controller RAM byte 0). */
  get commandByte(): number {
    return this.#commandByte;
  }

  /** The keyboard interrupt line (IRQ 1) as last reported to `setIrq`. */
  get irqLevel(): boolean {
    return this.#irqLevel;
  }

  /** The auxiliary interrupt line (IRQ 12) as last reported to `setAuxIrq`. */
  get auxIrqLevel(): boolean {
    return this.#auxIrqLevel;
  }

  get #commandByte(): number {
    return this.#ram[0];
  }

  set #commandByte(value: number) {
    this.#ram[0] = value;
  }

  #readByte(data: Uint8Array, value: number): void {
    data.fill(0);
    if (data.length > 0) data[0] = value;
  }

  #readData(): number {
    const head = this.#queue.shift();
    if (head === undefined) return this.#lastRead;
    this.#lastRead = head.value;
    // Drop the lines so that a following byte raises a fresh edge.
    this.#setLevels(false, false);
    this.#updateIrq();
    return head.value;
  }

  #writeCommand(command: number): void {
    this.#lastWriteWasCommand = true;
    this.#pendingCommand = null;
    if (command >= CMD_READ_RAM && command < CMD_READ_RAM + this.#ram.length) {
      this.#queueByte(this.#ram[command - CMD_READ_RAM], false);
    } else if (command >= CMD_WRITE_RAM && command < CMD_WRITE_RAM + this.#ram.length) {
      this.#pendingCommand = command;
    } else if (command >= CMD_PULSE_OUTPUT) {
      // Pulsing a line is a short low pulse: only the reset line does anything here.
      if ((command & OUTP_RESET) === 0) this.#onReset();
    } else {
      switch (command) {
        case CMD_AUX_DISABLE:
          this.#commandByte |= CTR_AUXDIS;
          break;
        case CMD_AUX_ENABLE:
          this.#commandByte &= ~CTR_AUXDIS;
          break;
        case CMD_AUX_TEST:
        case CMD_KBD_TEST:
          this.#queueByte(INTERFACE_TEST_OK, false);
          break;
        case CMD_SELF_TEST:
          this.#commandByte |= CTR_SYS;
          this.#queueByte(SELF_TEST_PASSED, false);
          break;
        case CMD_KBD_DISABLE:
          this.#commandByte |= CTR_KBDDIS;
          break;
        case CMD_KBD_ENABLE:
          this.#commandByte &= ~CTR_KBDDIS;
          break;
        case CMD_READ_OUTPUT_PORT: {
          const head = this.#queue[0];
          const obf = head ? (head.aux ? OUTP_AUX_OBF : OUTP_KBD_OBF) : 0;
          this.#queueByte((this.#outputPort & ~OUTP_OBF_BITS) | obf, false);
          break;
        }
        case CMD_WRITE_OUTPUT_PORT:
        case CMD_WRITE_KBD_OUTPUT:
        case CMD_WRITE_AUX_OUTPUT:
        case CMD_WRITE_AUX:
          this.#pendingCommand = command;
          break;
        case CMD_A20_DISABLE:
          this.#outputPort &= ~OUTP_A20;
          break;
        case CMD_A20_ENABLE:
          this.#outputPort |= OUTP_A20;
          break;
      }
    }
    this.#updateIrq();
  }

  #writeData(value: number): void {
    this.#lastWriteWasCommand = false;
    const command = this.#pendingCommand;
    this.#pendingCommand = null;
    if (command === null) {
      this.#commandByte &= ~CTR_KBDDIS;
      this.#keyboardWrite(value);
    } else if (command >= CMD_WRITE_RAM && command < CMD_WRITE_RAM + this.#ram.length) {
      this.#ram[command - CMD_WRITE_RAM] = value;
    } else if (command === CMD_WRITE_OUTPUT_PORT) {
      // The reset line is active low; the controller comes back with it high.
      this.#outputPort = value | OUTP_RESET;
      if ((value & OUTP_RESET) === 0) this.#onReset();
    } else if (command === CMD_WRITE_KBD_OUTPUT) {
      this.#queueByte(value, false);
    } else if (command === CMD_WRITE_AUX_OUTPUT) {
      this.#queueByte(value, true);
    }
    // CMD_WRITE_AUX: no auxiliary device is attached; the byte is lost.
    this.#updateIrq();
  }

  /** A byte sent to the keyboard: a command, or the parameter of the previous one. */
  #keyboardWrite(value: number): void {
    const pending = this.#pendingKeyboardCommand;
    this.#pendingKeyboardCommand = null;
    if (pending !== null) {
      this.#keyboardReply(KBD_ACK);
      if (pending === KBD_CMD_SCANCODE_SET) {
        if (value === 0) this.#keyboardReply(this.#scancodeSet);
        else if (value <= 3) this.#scancodeSet = value;
      }
      return;
    }
    switch (value) {
      case KBD_CMD_RESET:
        this.#scancodeSet = KBD_DEFAULT_SCANCODE_SET;
        this.#keyboardReply(KBD_ACK);
        this.#keyboardReply(KBD_BAT_PASSED);
        break;
      case KBD_CMD_IDENTIFY:
        this.#keyboardReply(KBD_ACK);
        for (const byte of KBD_ID) this.#keyboardReply(byte);
        break;
      case KBD_CMD_ECHO:
        this.#keyboardReply(KBD_ECHO);
        break;
      case KBD_CMD_RESEND:
        this.#keyboardReply(this.#lastKeyboardByte);
        break;
      case KBD_CMD_SET_LEDS:
      case KBD_CMD_SCANCODE_SET:
      case KBD_CMD_SET_TYPEMATIC:
        this.#pendingKeyboardCommand = value;
        this.#keyboardReply(KBD_ACK);
        break;
      case KBD_CMD_DISABLE:
      case KBD_CMD_SET_DEFAULT:
        this.#scancodeSet = KBD_DEFAULT_SCANCODE_SET;
        this.#keyboardReply(KBD_ACK);
        break;
      case KBD_CMD_ENABLE:
      default:
        this.#keyboardReply(KBD_ACK);
        break;
    }
  }

  #keyboardReply(value: number): void {
    this.#lastKeyboardByte = value;
    this.#queueByte(value, false);
  }

  #queueByte(value: number, aux: boolean): void {
    if (this.#queue.length < I8042_QUEUE_DEPTH) this.#queue.push({ value: value & 0xff, aux });
  }

  #updateIrq(): void {
    const head = this.#queue[0];
    const kbd = head !== undefined && !head.aux && (this.#commandByte & CTR_KBDINT) !== 0;
    const aux = head !== undefined && head.aux && (this.#commandByte & CTR_AUXINT) !== 0;
    this.#setLevels(kbd, aux);
  }

  #setLevels(kbd: boolean, aux: boolean): void {
    if (kbd !== this.#irqLevel) {
      this.#irqLevel = kbd;
      this.#setIrq?.(kbd);
    }
    if (aux !== this.#auxIrqLevel) {
      this.#auxIrqLevel = aux;
      this.#setAuxIrq?.(aux);
    }
  }
}
