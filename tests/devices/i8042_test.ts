/**
 * Tests for the i8042 keyboard controller: Linux's probe sequence, the command byte, the reset
 * line, keyboard command replies, the output buffer and the interrupt lines.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  I8042,
  I8042_QUEUE_DEPTH,
  I8042_RESET_COMMAND_BYTE,
  I8042_RESET_OUTPUT_PORT,
} from "../../lib/devices/i8042.ts";
import type { I8042Options } from "../../lib/devices/i8042.ts";

// Status bits and command byte bits, as named in the IBM PS/2 Technical Reference.
const STR_OBF = 0x01, STR_SYS = 0x04, STR_CMD = 0x08, STR_INH = 0x10, STR_AUXDATA = 0x20;
const CTR_KBDINT = 0x01, CTR_AUXINT = 0x02, CTR_SYS = 0x04, CTR_KBDDIS = 0x10;
const CTR_AUXDIS = 0x20, CTR_XLATE = 0x40;

/** A controller whose reset and IRQ callbacks are recorded, with byte-wide port helpers. */
function harness(options: Partial<I8042Options> = {}) {
  let resets = 0;
  const irq: boolean[] = [];
  const auxIrq: boolean[] = [];
  const kbc = new I8042({
    onReset: () => resets++,
    setIrq: (level) => irq.push(level),
    setAuxIrq: (level) => auxIrq.push(level),
    ...options,
  });
  const data = new Uint8Array(1);
  const status = (): number => {
    kbc.commandPort.read(0, data);
    return data[0];
  };
  const readData = (): number => {
    kbc.dataPort.read(0, data);
    return data[0];
  };
  const command = (value: number): void => kbc.commandPort.write(0, Uint8Array.of(value));
  const writeData = (value: number): void => kbc.dataPort.write(0, Uint8Array.of(value));
  /** Reads bytes while OBF is set, as Linux's i8042_flush does. */
  const drain = (): number[] => {
    const bytes: number[] = [];
    while (status() & STR_OBF) bytes.push(readData());
    return bytes;
  };
  return {
    kbc,
    irq,
    auxIrq,
    resets: () => resets,
    status,
    readData,
    command,
    writeData,
    drain,
  };
}

Deno.test("I8042 answers Linux's probe: flush, self test, CTR read/write, port tests", async (t) => {
  const { status, readData, command, writeData, drain } = harness();
  await t.step("a fresh controller has nothing to flush and the keyboard is not inhibited", () => {
    assert.equal(status() & STR_OBF, 0);
    assert.equal(status() & STR_INH, STR_INH, "Linux warns 'Keylock active' otherwise");
    assert.equal(status() & STR_SYS, 0, "system flag clear before the self test");
  });
  await t.step("self test 0xAA replies 0x55 and sets the system flag", () => {
    command(0xaa);
    assert.equal(status() & STR_OBF, STR_OBF);
    assert.equal(readData(), 0x55);
    assert.equal(status() & (STR_OBF | STR_SYS), STR_SYS);
  });
  await t.step("two CTR reads agree (Linux wants a stable read)", () => {
    command(0x20);
    const first = readData();
    command(0x20);
    assert.equal(readData(), first);
    assert.equal(first, I8042_RESET_COMMAND_BYTE | CTR_SYS);
    assert.equal(first & CTR_XLATE, CTR_XLATE, "translated mode, as a BIOS leaves it");
  });
  await t.step("Linux's CTR write (keyboard disabled, no interrupt) reads back", () => {
    command(0x20);
    const ctr = (readData() | CTR_KBDDIS) & ~CTR_KBDINT;
    command(0x60);
    writeData(ctr);
    assert.deepEqual(drain(), [], "writing the CTR queues nothing");
    command(0x20);
    assert.equal(readData(), ctr);
  });
  await t.step("AUX loopback 0xD3 echoes the byte as auxiliary data", () => {
    command(0xd3);
    writeData(0x5a);
    assert.equal(status() & (STR_OBF | STR_AUXDATA), STR_OBF | STR_AUXDATA);
    assert.equal(readData(), 0x5a);
    assert.equal(status() & (STR_OBF | STR_AUXDATA), 0);
  });
  await t.step("interface tests 0xA9 and 0xAB reply 0x00", () => {
    command(0xa9);
    assert.deepEqual(drain(), [0x00]);
    command(0xab);
    assert.deepEqual(drain(), [0x00]);
  });
  await t.step("0xA7/0xA8 set and clear CTR bit 5, as Linux's i8042_toggle_aux checks", () => {
    command(0xa7);
    command(0x20);
    assert.equal(readData() & CTR_AUXDIS, CTR_AUXDIS);
    command(0xa8);
    command(0x20);
    assert.equal(readData() & CTR_AUXDIS, 0);
  });
  await t.step("0xAD/0xAE set and clear CTR bit 4", () => {
    command(0xae);
    command(0x20);
    assert.equal(readData() & CTR_KBDDIS, 0);
    command(0xad);
    command(0x20);
    assert.equal(readData() & CTR_KBDDIS, CTR_KBDDIS);
  });
});

Deno.test("I8042 command byte", async (t) => {
  const { kbc, status, readData, command, writeData } = harness();
  await t.step("reads back what 0x60 wrote, through 0x20", () => {
    command(0x60);
    assert.equal(status() & STR_CMD, STR_CMD, "status bit 3: last write was a command");
    writeData(0x47);
    assert.equal(status() & STR_CMD, 0, "status bit 3: last write was data");
    command(0x20);
    assert.equal(readData(), 0x47);
    assert.equal(kbc.commandByte, 0x47);
  });
  await t.step("bit 2 drives the status system flag", () => {
    assert.equal(status() & STR_SYS, STR_SYS);
    command(0x60);
    writeData(0x43);
    assert.equal(status() & STR_SYS, 0);
  });
  await t.step("other controller RAM bytes read back through 0x21..0x3F / 0x61..0x7F", () => {
    command(0x7f);
    writeData(0x99);
    command(0x3f);
    assert.equal(readData(), 0x99);
    command(0x20);
    assert.equal(readData(), 0x43, "command byte untouched");
  });
  await t.step("a command waiting for data is cancelled by the next command", () => {
    command(0x60);
    command(0xaa);
    assert.equal(readData(), 0x55);
    writeData(0xf2); // now a keyboard command, not a command byte
    assert.deepEqual([readData(), readData(), readData()], [0xfa, 0xab, 0x83]);
    command(0x20);
    assert.equal(readData(), 0x47, "self test set the system flag again, nothing else");
  });
});

Deno.test("I8042 reset line", async (t) => {
  await t.step("command 0xFE (pulse reset) calls onReset once", () => {
    const { resets, command } = harness();
    command(0xfe);
    assert.equal(resets(), 1);
  });
  await t.step("each 0xFE calls onReset again (Linux retries while it still runs)", () => {
    const { resets, command } = harness();
    command(0xfe);
    command(0xfe);
    assert.equal(resets(), 2);
  });
  await t.step("0xF0..0xFF pulses reset only with bit 0 clear", () => {
    const { resets, command, drain } = harness();
    command(0xff);
    command(0xfd);
    assert.equal(resets(), 0);
    command(0xf0);
    assert.equal(resets(), 1);
    assert.deepEqual(drain(), [], "pulse commands reply nothing");
  });
  await t.step("writing the output port with bit 0 clear resets", () => {
    const { resets, command, readData, writeData } = harness();
    command(0xd0);
    assert.equal(readData(), I8042_RESET_OUTPUT_PORT);
    assert.equal(I8042_RESET_OUTPUT_PORT, 0x03, "reset line high, A20 on");
    command(0xd1);
    writeData(0x03);
    assert.equal(resets(), 0, "bit 0 set: no reset");
    command(0xd1);
    writeData(0x02);
    assert.equal(resets(), 1);
    command(0xd0);
    assert.equal(readData() & 0x01, 0x01, "the line is high again after the reset");
  });
  await t.step("0xDD/0xDF clear and set the A20 bit of the output port", () => {
    const { resets, command, readData } = harness();
    command(0xdd);
    command(0xd0);
    assert.equal(readData(), 0x01);
    command(0xdf);
    command(0xd0);
    assert.equal(readData(), 0x03);
    assert.equal(resets(), 0);
  });
  await t.step("the output port read shows a waiting keyboard byte in bit 4", () => {
    const { command, readData } = harness();
    command(0xab); // queues 0x00
    command(0xd0);
    assert.equal(readData(), 0x00);
    assert.equal(readData(), I8042_RESET_OUTPUT_PORT | 0x10);
  });
});

Deno.test("I8042 keyboard replies to commands written to port 0x60", async (t) => {
  const { kbc, writeData, drain, command, readData } = harness();
  await t.step("0xFF reset acknowledges then reports BAT passed", () => {
    writeData(0xff);
    assert.deepEqual(drain(), [0xfa, 0xaa]);
  });
  await t.step("0xF2 identify acknowledges then sends ID 0xAB 0x83", () => {
    writeData(0xf2);
    assert.deepEqual(drain(), [0xfa, 0xab, 0x83]);
  });
  await t.step("0xF5 disable and 0xF4 enable acknowledge", () => {
    writeData(0xf5);
    assert.deepEqual(drain(), [0xfa]);
    writeData(0xf4);
    assert.deepEqual(drain(), [0xfa]);
  });
  await t.step("0xED set LEDs and 0xF3 typematic acknowledge the command and its parameter", () => {
    writeData(0xed);
    assert.deepEqual(drain(), [0xfa]);
    writeData(0xff); // a parameter, not a reset
    assert.deepEqual(drain(), [0xfa]);
    writeData(0xf3);
    writeData(0xf2); // a parameter, not identify
    assert.deepEqual(drain(), [0xfa, 0xfa]);
  });
  await t.step("0xF0 0x00 reports scan code set 2; 0xF0 n selects set n", () => {
    writeData(0xf0);
    writeData(0x00);
    assert.deepEqual(drain(), [0xfa, 0xfa, 0x02]);
    writeData(0xf0);
    writeData(0x03);
    writeData(0xf0);
    writeData(0x00);
    assert.deepEqual(drain(), [0xfa, 0xfa, 0xfa, 0xfa, 0x03]);
    writeData(0xff);
    writeData(0xf0);
    writeData(0x00);
    assert.deepEqual(drain(), [0xfa, 0xaa, 0xfa, 0xfa, 0x02], "reset restores set 2");
  });
  await t.step("0xEE echo replies 0xEE; 0xFE resend repeats the last byte", () => {
    writeData(0xee);
    assert.deepEqual(drain(), [0xee]);
    writeData(0xfe);
    assert.deepEqual(drain(), [0xee]);
  });
  await t.step("unknown keyboard commands are acknowledged", () => {
    for (const value of [0x00, 0x05, 0x88, 0xf6, 0xf7, 0xfb]) {
      writeData(value);
      assert.deepEqual(drain(), [0xfa], `0x${value.toString(16)}`);
    }
  });
  await t.step("a keyboard write re-enables a disabled keyboard interface", () => {
    command(0xad);
    assert.equal(kbc.commandByte & CTR_KBDDIS, CTR_KBDDIS);
    writeData(0xf4);
    assert.equal(kbc.commandByte & CTR_KBDDIS, 0);
    assert.equal(readData(), 0xfa);
  });
  await t.step("0xD2 puts the next data byte in the output buffer as keyboard data", () => {
    command(0xd2);
    writeData(0x1c);
    assert.deepEqual(drain(), [0x1c]);
  });
  await t.step("0xD4 (to the absent mouse) swallows the byte without a reply", () => {
    command(0xd4);
    writeData(0xf2);
    assert.deepEqual(drain(), []);
  });
});

Deno.test("I8042 output buffer", async (t) => {
  const { status, readData, writeData, command, kbc } = harness();
  await t.step("OBF is set while bytes wait and clears when the last is read", () => {
    assert.equal(status() & STR_OBF, 0);
    writeData(0xff);
    assert.equal(status() & STR_OBF, STR_OBF);
    assert.equal(status() & STR_OBF, STR_OBF, "reading status does not take the byte");
    assert.equal(readData(), 0xfa);
    assert.equal(status() & STR_OBF, STR_OBF, "0xAA still waits");
    assert.equal(readData(), 0xaa);
    assert.equal(status() & STR_OBF, 0);
  });
  await t.step("a data read with nothing buffered returns the last byte again", () => {
    assert.equal(readData(), 0xaa);
    assert.equal(readData(), 0xaa);
    assert.equal(status() & STR_OBF, 0);
  });
  await t.step(`holds ${I8042_QUEUE_DEPTH} bytes; later ones are dropped`, () => {
    for (let i = 0; i < I8042_QUEUE_DEPTH + 4; i++) command(0xaa);
    let count = 0;
    while (status() & STR_OBF) {
      assert.equal(readData(), 0x55);
      count++;
    }
    assert.equal(count, I8042_QUEUE_DEPTH);
  });
  await t.step("wide accesses use the low byte and read zeros above it", () => {
    kbc.dataPort.write(0, Uint8Array.of(0xf2, 0x00));
    const wide = new Uint8Array(4).fill(0xee);
    kbc.dataPort.read(0, wide);
    assert.deepEqual([...wide], [0xfa, 0, 0, 0]);
    kbc.commandPort.read(0, wide);
    assert.deepEqual([...wide], [STR_OBF | STR_SYS | STR_INH, 0, 0, 0]);
  });
});

Deno.test("I8042 interrupt lines", async (t) => {
  await t.step("IRQ 1 rises when keyboard data arrives with CTR bit 0 set", () => {
    const { irq, kbc, writeData } = harness();
    assert.equal(kbc.commandByte & CTR_KBDINT, CTR_KBDINT);
    writeData(0xf4);
    assert.deepEqual(irq, [true]);
    assert.equal(kbc.irqLevel, true);
  });
  await t.step(
    "each read drops IRQ 1 and raises it again while bytes remain (one edge each)",
    () => {
      const { irq, kbc, writeData, readData } = harness();
      writeData(0xf2);
      assert.deepEqual(irq, [true]);
      assert.equal(readData(), 0xfa);
      assert.deepEqual(irq, [true, false, true]);
      assert.equal(readData(), 0xab);
      assert.deepEqual(irq, [true, false, true, false, true]);
      assert.equal(readData(), 0x83);
      assert.deepEqual(irq, [true, false, true, false, true, false]);
      assert.equal(kbc.irqLevel, false);
      readData();
      assert.deepEqual(irq.length, 6, "reading an empty buffer changes nothing");
    },
  );
  await t.step("with CTR bit 0 clear the line stays low; setting it raises the line", () => {
    const { irq, command, writeData, readData } = harness();
    command(0x60);
    writeData(I8042_RESET_COMMAND_BYTE & ~CTR_KBDINT);
    writeData(0xf4);
    assert.deepEqual(irq, []);
    command(0x60);
    assert.deepEqual(irq, []);
    writeData(I8042_RESET_COMMAND_BYTE);
    assert.deepEqual(irq, [true], "the 0xFA still waiting raises IRQ 1");
    assert.equal(readData(), 0xfa);
    assert.deepEqual(irq, [true, false]);
  });
  await t.step("controller replies raise IRQ 1 too (they are not auxiliary data)", () => {
    const { irq, auxIrq, command } = harness();
    command(0xaa);
    assert.deepEqual(irq, [true]);
    assert.deepEqual(auxIrq, []);
  });
  await t.step("auxiliary data raises IRQ 12 only, with CTR bit 1 set", () => {
    const { irq, auxIrq, kbc, command, writeData, readData } = harness();
    command(0xd3);
    writeData(0xa5);
    assert.deepEqual(auxIrq, [], "AUXINT is off at reset");
    assert.equal(readData(), 0xa5);
    command(0x60);
    writeData(I8042_RESET_COMMAND_BYTE | CTR_AUXINT);
    command(0xd3);
    writeData(0xa5);
    assert.deepEqual(auxIrq, [true]);
    assert.deepEqual(irq, []);
    assert.equal(kbc.auxIrqLevel, true);
    assert.equal(readData(), 0xa5);
    assert.deepEqual(auxIrq, [true, false]);
  });
  await t.step("the callbacks are optional", () => {
    const { command, readData } = harness({ setIrq: undefined, setAuxIrq: undefined });
    command(0xaa);
    assert.equal(readData(), 0x55);
  });
});
