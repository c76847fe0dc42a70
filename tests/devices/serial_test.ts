/**
 * Tests for the 16550A UART model: register reset values, the divisor latch, transmit and receive
 * paths, the receiver FIFO, interrupt identification, loopback and the interrupt line.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Serial, SERIAL_DEFAULT_DIVISOR, SERIAL_FIFO_DEPTH } from "../../lib/devices/serial.ts";
import type { SerialOptions } from "../../lib/devices/serial.ts";

// Register offsets and bits, named as in the PC16550D datasheet.
const RBR = 0, THR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5;
const MSR = 6, SCR = 7;
const IER_ALL = 0x0f, IER_ERBFI = 0x01, IER_ETBEI = 0x02, IER_EDSSI = 0x08;
const LCR_DLAB = 0x80;
const MCR_DTR = 0x01, MCR_RTS = 0x02, MCR_OUT1 = 0x04, MCR_OUT2 = 0x08, MCR_LOOP = 0x10;
const LSR_DR = 0x01, LSR_OE = 0x02, LSR_THRE = 0x20, LSR_TEMT = 0x40;
const FCR_ENABLE = 0x01, FCR_RCVR_RESET = 0x02, FCR_XMIT_RESET = 0x04, FCR_TRIGGER_4 = 0x40;
const IIR_NONE = 0x01, IIR_RLS = 0x06, IIR_RDA = 0x04, IIR_CTI = 0x0c, IIR_THRE = 0x02;
const IIR_MS = 0x00, IIR_FIFOS = 0xc0;

/** A UART wired to arrays that record what it transmits and every IRQ level change. */
function harness(options: Partial<SerialOptions> = {}) {
  const transmitted: number[] = [];
  const irq: boolean[] = [];
  const uart = new Serial({
    transmit: (byte) => transmitted.push(byte),
    setIrq: (level) => irq.push(level),
    ...options,
  });
  const rd = (offset: number): number => {
    const data = new Uint8Array(1);
    uart.read(offset, data);
    return data[0];
  };
  const wr = (offset: number, value: number): void => uart.write(offset, Uint8Array.of(value));
  return { uart, transmitted, irq, rd, wr };
}

Deno.test("Serial registers hold their datasheet reset values", () => {
  const { rd, wr } = harness();
  assert.equal(rd(RBR), 0, "RBR is empty");
  assert.equal(rd(IER), 0x00);
  assert.equal(rd(IIR), 0x01, "IIR: no interrupt pending, FIFOs disabled");
  assert.equal(rd(LCR), 0x00);
  assert.equal(rd(MCR), 0x00);
  assert.equal(rd(LSR), 0x60, "LSR: THRE and TEMT");
  assert.equal(rd(MSR), 0xb0, "MSR: CTS, DSR and DCD present, no deltas");
  assert.equal(rd(SCR), 0x00);
  wr(LCR, LCR_DLAB);
  assert.equal(rd(DLL) | (rd(DLM) << 8), SERIAL_DEFAULT_DIVISOR);
  assert.equal(SERIAL_DEFAULT_DIVISOR, 12, "9600 baud from 1.8432 MHz");
});

Deno.test("Serial LCR.DLAB maps offsets 0 and 1 to the divisor latch", async (t) => {
  const { rd, wr, transmitted } = harness();
  wr(IER, IER_ERBFI);
  wr(LCR, LCR_DLAB | 0x03);
  await t.step("divisor bytes are written and read back through DLL and DLM", () => {
    wr(DLL, 0x01);
    wr(DLM, 0x02);
    assert.equal(rd(DLL), 0x01);
    assert.equal(rd(DLM), 0x02);
    assert.equal(rd(LCR), LCR_DLAB | 0x03);
  });
  await t.step("a write to offset 0 with DLAB set does not transmit", () => {
    wr(THR, 0x55);
    assert.deepEqual(transmitted, []);
    assert.equal(rd(DLL), 0x55);
  });
  await t.step("clearing DLAB brings back RBR/THR and IER unchanged", () => {
    wr(LCR, 0x03);
    assert.equal(rd(IER), IER_ERBFI);
    wr(THR, 0x41);
    assert.deepEqual(transmitted, [0x41]);
    wr(LCR, LCR_DLAB);
    assert.equal(rd(DLL), 0x55, "divisor kept while DLAB was clear");
    assert.equal(rd(DLM), 0x02);
  });
});

Deno.test("Serial scratch register keeps any byte written", () => {
  const { rd, wr } = harness();
  for (let value = 0; value < 256; value++) {
    wr(SCR, value);
    assert.equal(rd(SCR), value);
  }
});

Deno.test("Serial THR writes reach transmit byte-exact and leave THRE/TEMT set", () => {
  const { rd, wr, transmitted } = harness();
  const all = Array.from({ length: 256 }, (_, i) => i);
  for (const byte of all) {
    wr(THR, byte);
    assert.equal(rd(LSR) & (LSR_THRE | LSR_TEMT), LSR_THRE | LSR_TEMT);
  }
  assert.deepEqual(transmitted, all, "LCR word length (reset: 5 bits) does not mask bytes");
});

Deno.test("Serial receiver FIFO", async (t) => {
  await t.step("hands bytes back in arrival order with LSR.DR while data remains", () => {
    const { uart, rd, wr } = harness();
    wr(FCR, FCR_ENABLE);
    uart.enqueueInput(Uint8Array.of(1, 2, 3));
    const got = [];
    while (rd(LSR) & LSR_DR) got.push(rd(RBR));
    assert.deepEqual(got, [1, 2, 3]);
  });
  await t.step("holds 16 bytes; the 17th overruns, is lost and sets LSR.OE", () => {
    const { uart, rd, wr } = harness();
    wr(FCR, FCR_ENABLE);
    const bytes = Uint8Array.from({ length: SERIAL_FIFO_DEPTH + 1 }, (_, i) => 0x30 + i);
    uart.enqueueInput(bytes);
    assert.equal(rd(LSR), LSR_DR | LSR_OE | LSR_THRE | LSR_TEMT);
    assert.equal(rd(LSR), LSR_DR | LSR_THRE | LSR_TEMT, "reading LSR cleared OE");
    const got = [];
    while (rd(LSR) & LSR_DR) got.push(rd(RBR));
    assert.deepEqual(got, [...bytes.subarray(0, SERIAL_FIFO_DEPTH)]);
  });
  await t.step("with FIFOs disabled holds one byte; a second overwrites it and sets OE", () => {
    const { uart, rd } = harness();
    uart.enqueueInput(Uint8Array.of(0x61));
    assert.equal(rd(LSR) & (LSR_DR | LSR_OE), LSR_DR);
    uart.enqueueInput(Uint8Array.of(0x62));
    assert.equal(rd(LSR) & (LSR_DR | LSR_OE), LSR_DR | LSR_OE);
    assert.equal(rd(RBR), 0x62);
    assert.equal(rd(LSR) & (LSR_DR | LSR_OE), 0);
  });
});

Deno.test("Serial LSR reports data ready once the host supplies a byte", async (t) => {
  const pending: number[] = [];
  let polls = 0;
  const receive = () => {
    polls++;
    return pending.shift() ?? null;
  };
  const { uart, rd } = harness({ receive });
  await t.step("receive() is not called until the guest looks", () => {
    assert.equal(polls, 0);
  });
  await t.step("LSR.DR is clear while the host has nothing", () => {
    assert.equal(rd(LSR) & LSR_DR, 0);
    assert.equal(polls, 1);
  });
  await t.step("LSR.DR sets on the next LSR read after the host has a byte", () => {
    pending.push(0x7a, 0x7b);
    assert.equal(rd(LSR) & LSR_DR, LSR_DR);
    assert.equal(polls, 2);
    assert.equal(rd(LSR) & LSR_DR, LSR_DR, "the byte waits in the receiver");
    assert.equal(polls, 2, "no poll while the receiver holds data");
    assert.equal(rd(RBR), 0x7a);
  });
  await t.step("an RBR read with the receiver empty polls the host itself", () => {
    assert.equal(rd(RBR), 0x7b);
    assert.equal(polls, 3);
  });
  await t.step("queued input is read before the host is polled", () => {
    pending.push(0x01);
    uart.enqueueInput(Uint8Array.of(0x02));
    assert.equal(rd(RBR), 0x02);
    assert.equal(rd(RBR), 0x01);
  });
});

Deno.test("Serial IIR identifies interrupts by priority", async (t) => {
  const { uart, rd, wr } = harness();
  wr(FCR, FCR_ENABLE);
  wr(IER, IER_ALL);
  uart.enqueueInput(new Uint8Array(SERIAL_FIFO_DEPTH + 1)); // data + overrun
  wr(MCR, MCR_LOOP); // modem lines change: MSR deltas
  wr(MCR, 0); // (loopback also drops input; leave it before reading)
  await t.step("line status first, cleared by reading LSR", () => {
    assert.equal(rd(IIR), IIR_FIFOS | IIR_RLS);
    assert.equal(rd(IIR), IIR_FIFOS | IIR_RLS, "reading IIR does not clear it");
    rd(LSR);
  });
  await t.step("then received data, cleared by draining RBR", () => {
    assert.equal(rd(IIR), IIR_FIFOS | IIR_RDA);
    for (let i = 0; i < SERIAL_FIFO_DEPTH; i++) rd(RBR);
  });
  await t.step("then THR empty, cleared by reading IIR", () => {
    assert.equal(rd(IIR), IIR_FIFOS | IIR_THRE);
  });
  await t.step("then modem status, cleared by reading MSR", () => {
    assert.equal(rd(IIR), IIR_FIFOS | IIR_MS);
    rd(MSR);
    assert.equal(rd(IIR), IIR_FIFOS | IIR_NONE);
  });
  await t.step("a THR write raises THR empty again", () => {
    wr(THR, 0x20);
    assert.equal(rd(IIR), IIR_FIFOS | IIR_THRE);
    assert.equal(rd(IIR), IIR_FIFOS | IIR_NONE);
  });
  await t.step("enabling ETBEI raises THR empty, since THR is empty", () => {
    wr(IER, 0);
    assert.equal(rd(IIR), IIR_FIFOS | IIR_NONE);
    wr(IER, IER_ETBEI);
    assert.equal(rd(IIR), IIR_FIFOS | IIR_THRE);
  });
  await t.step("below the trigger level received data reports character timeout", () => {
    wr(IER, IER_ERBFI);
    wr(FCR, FCR_ENABLE | FCR_TRIGGER_4);
    uart.enqueueInput(Uint8Array.of(1, 2));
    assert.equal(rd(IIR), IIR_FIFOS | IIR_CTI);
    uart.enqueueInput(Uint8Array.of(3, 4));
    assert.equal(rd(IIR), IIR_FIFOS | IIR_RDA);
  });
  await t.step("with FIFOs disabled IIR bits 7:6 are clear", () => {
    wr(FCR, 0);
    uart.enqueueInput(Uint8Array.of(9));
    assert.equal(rd(IIR), IIR_RDA);
  });
});

Deno.test("Serial loopback returns transmitted bytes to RBR and mirrors MCR in MSR", async (t) => {
  let polls = 0;
  const { uart, rd, wr, transmitted } = harness({ receive: () => (polls++, 0x99) });
  wr(FCR, FCR_ENABLE);
  wr(MCR, MCR_LOOP);
  await t.step("THR bytes come back through RBR, not transmit", () => {
    wr(THR, 0x11);
    wr(THR, 0x22);
    assert.deepEqual(transmitted, []);
    assert.equal(rd(LSR) & LSR_DR, LSR_DR);
    assert.equal(rd(RBR), 0x11);
    assert.equal(rd(RBR), 0x22);
  });
  await t.step("host input is disconnected: not polled, enqueued bytes dropped", () => {
    uart.enqueueInput(Uint8Array.of(0x33));
    assert.equal(rd(LSR) & LSR_DR, 0);
    assert.equal(polls, 0);
  });
  await t.step("MSR reports CTS=RTS, DSR=DTR, RI=OUT1, DCD=OUT2", () => {
    const mirror: [number, number][] = [
      [0, 0x00],
      [MCR_RTS, 0x10],
      [MCR_DTR, 0x20],
      [MCR_OUT1, 0x40],
      [MCR_OUT2, 0x80],
      [MCR_RTS | MCR_OUT2, 0x90], // the check Linux's 8250 autoconfig makes
      [MCR_DTR | MCR_RTS | MCR_OUT1 | MCR_OUT2, 0xf0],
    ];
    for (const [mcr, msr] of mirror) {
      wr(MCR, MCR_LOOP | mcr);
      assert.equal(rd(MSR) & 0xf0, msr, `MCR ${mcr.toString(16)}`);
    }
  });
  await t.step("line changes latch delta bits, cleared when MSR is read", () => {
    wr(MCR, MCR_LOOP | MCR_DTR | MCR_RTS | MCR_OUT1 | MCR_OUT2);
    rd(MSR);
    wr(MCR, MCR_LOOP);
    assert.equal(rd(MSR), 0x0f, "DCTS, DDSR, TERI (RI trailing edge), DDCD");
    assert.equal(rd(MSR), 0x00);
    wr(MCR, MCR_LOOP | MCR_OUT1);
    assert.equal(rd(MSR), 0x40, "RI rising edge sets no TERI");
  });
  await t.step("leaving loopback restores the peer lines and sends bytes to the host", () => {
    wr(MCR, 0);
    assert.equal(rd(MSR) & 0xf0, 0xb0);
    wr(THR, 0x44);
    assert.deepEqual(transmitted, [0x44]);
  });
});

Deno.test("Serial drives its IRQ line from enabled pending interrupts gated by OUT2", async (t) => {
  const { uart, rd, wr, irq } = harness();
  await t.step("a pending interrupt stays off the line without OUT2", () => {
    wr(FCR, FCR_ENABLE);
    wr(IER, IER_ERBFI);
    uart.enqueueInput(Uint8Array.of(1));
    assert.equal(rd(IIR), IIR_FIFOS | IIR_RDA);
    assert.deepEqual(irq, []);
  });
  await t.step("setting OUT2 raises the line", () => {
    wr(MCR, MCR_OUT2 | MCR_DTR | MCR_RTS);
    assert.deepEqual(irq, [true]);
    assert.equal(uart.irqLevel, true);
  });
  await t.step("disabling the interrupt lowers it; re-enabling raises it", () => {
    wr(IER, 0);
    wr(IER, IER_ERBFI);
    assert.deepEqual(irq, [true, false, true]);
  });
  await t.step("servicing the interrupt lowers it, and unchanged levels are not reported", () => {
    uart.enqueueInput(Uint8Array.of(2));
    rd(RBR);
    assert.deepEqual(irq, [true, false, true]);
    rd(RBR);
    assert.deepEqual(irq, [true, false, true, false]);
  });
  await t.step("THR empty pulses the line until IIR is read", () => {
    wr(IER, IER_ETBEI);
    assert.deepEqual(irq.slice(4), [true]);
    assert.equal(rd(IIR), IIR_FIFOS | IIR_THRE);
    wr(THR, 0x41);
    assert.equal(rd(IIR), IIR_FIFOS | IIR_THRE);
    assert.deepEqual(irq.slice(4), [true, false, true, false]);
  });
  await t.step("modem status changes raise it with EDSSI", () => {
    wr(IER, IER_EDSSI);
    wr(MCR, MCR_OUT2 | MCR_LOOP);
    assert.deepEqual(irq.slice(8), [], "loopback forces OUT2 off the IRQ line");
    wr(MCR, MCR_OUT2);
    assert.deepEqual(irq.slice(8), [true]);
    rd(MSR);
    assert.deepEqual(irq.slice(8), [true, false]);
  });
});

Deno.test("Serial FCR enables, resets and sizes the receiver FIFO", async (t) => {
  const { uart, rd, wr } = harness();
  await t.step("RCVR FIFO reset empties the receiver", () => {
    wr(FCR, FCR_ENABLE);
    uart.enqueueInput(Uint8Array.of(1, 2, 3));
    wr(FCR, FCR_ENABLE | FCR_RCVR_RESET);
    assert.equal(rd(LSR) & LSR_DR, 0);
    assert.equal(rd(IIR), IIR_FIFOS | IIR_NONE, "FIFOs stay enabled; the reset bit self-clears");
  });
  await t.step("XMIT FIFO reset leaves THRE/TEMT set and the receiver alone", () => {
    uart.enqueueInput(Uint8Array.of(4));
    wr(FCR, FCR_ENABLE | FCR_XMIT_RESET);
    assert.equal(rd(LSR), LSR_DR | LSR_THRE | LSR_TEMT);
  });
  await t.step("disabling FIFOs clears them and leaves a one-byte holding register", () => {
    wr(FCR, 0);
    assert.equal(rd(LSR) & LSR_DR, 0);
    assert.equal(rd(IIR), IIR_NONE);
    uart.enqueueInput(Uint8Array.of(5, 6));
    assert.equal(rd(LSR) & LSR_OE, LSR_OE);
  });
  await t.step("trigger level bits are ignored unless FCR0 is set in the same write", () => {
    wr(IER, IER_ERBFI);
    wr(FCR, FCR_TRIGGER_4);
    uart.enqueueInput(Uint8Array.of(7));
    assert.equal(rd(IIR), IIR_RDA, "still in 16450 mode");
  });
});

Deno.test("Serial accesses wider than a byte act on the register at the offset", () => {
  const { uart, rd } = harness();
  uart.write(SCR, Uint8Array.of(0x5a, 0xff, 0xff, 0xff));
  assert.equal(rd(SCR), 0x5a);
  const wide = new Uint8Array([0xee, 0xee, 0xee, 0xee]);
  uart.read(LSR, wide);
  assert.deepEqual([...wide], [0x60, 0, 0, 0]);
  uart.read(8, wide);
  assert.deepEqual([...wide], [0, 0, 0, 0], "offsets past the UART read as zero");
});

Deno.test("Serial.pollInput() fills the FIFO from the host and raises the receive interrupt", () => {
  const input = [...new TextEncoder().encode("0123456789abcdefXYZ")];
  const { uart, irq, rd, wr } = harness({ receive: () => input.shift() ?? null });
  wr(2, 0x01); // FCR: FIFOs on, trigger level 1
  wr(1, 0x01); // IER: received data available
  wr(4, 0x08); // MCR: OUT2 gates the IRQ line
  uart.pollInput();
  assert.deepEqual(irq, [true]);
  assert.equal(input.length, 19 - SERIAL_FIFO_DEPTH, "takes only what fits in the FIFO");
  const received = Array.from({ length: SERIAL_FIFO_DEPTH }, () => rd(0));
  assert.equal(new TextDecoder().decode(Uint8Array.from(received)), "0123456789abcdef");
  assert.equal(rd(5) & 0x02, 0, "no overrun");
});
