/**
 * Tests of DebugConsole, the write-only byte port behind 0xf1 (seed console) and 0xe9 (debugcon).
 *
 * @module
 */

import assert from "node:assert/strict";
import { DebugConsole } from "../../lib/devices/debug_console.ts";

Deno.test("DebugConsole outputs every byte written, in order", () => {
  const seen: number[] = [];
  const port = new DebugConsole((byte) => seen.push(byte));
  for (const byte of [0x48, 0x69, 0x0a, 0x00, 0xff]) port.write(0, Uint8Array.of(byte));
  assert.deepEqual(seen, [0x48, 0x69, 0x0a, 0x00, 0xff]);
});

Deno.test("DebugConsole outputs only the low byte of a wider write", () => {
  const seen: number[] = [];
  const port = new DebugConsole((byte) => seen.push(byte));
  port.write(0, Uint8Array.of(0x41, 0x42));
  port.write(0, Uint8Array.of(0x43, 0x44, 0x45, 0x46));
  assert.deepEqual(seen, [0x41, 0x43]);
});

Deno.test("DebugConsole reads back its readback value in every byte", async (t) => {
  await t.step("default 0xff (the seed console)", () => {
    const port = new DebugConsole(() => {});
    const data = new Uint8Array(4);
    port.read(0, data);
    assert.deepEqual(data, Uint8Array.of(0xff, 0xff, 0xff, 0xff));
  });
  await t.step("0xe9 for debugcon, so guests can detect it", () => {
    const port = new DebugConsole(() => assert.fail("a read must not output"), 0xe9);
    for (const size of [1, 2, 4]) {
      const data = new Uint8Array(size);
      port.read(0, data);
      assert.deepEqual(data, new Uint8Array(size).fill(0xe9));
    }
  });
});
