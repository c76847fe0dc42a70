/**
 * Tests of ExitPort, the isa-debug-exit style device: a write stops the VM with status v & 0xff.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ExitPort } from "../../lib/devices/exit_port.ts";

/** An exit port that records the statuses it reports. */
function harness() {
  const statuses: number[] = [];
  return { port: new ExitPort((status) => statuses.push(status)), statuses };
}

Deno.test("ExitPort reports the written byte as the status, unchanged", () => {
  const { port, statuses } = harness();
  for (const value of [0, 1, 42, 0x7f, 0xff]) port.write(0, Uint8Array.of(value));
  assert.deepEqual(statuses, [0, 1, 42, 0x7f, 0xff]);
});

Deno.test("ExitPort keeps the low 8 bits of a 2- or 4-byte write", async (t) => {
  const cases: [number[], number][] = [
    [[0x2a, 0x01], 0x2a], // 0x012a
    [[0x00, 0x01], 0x00], // 0x0100: status 0, not 256
    [[0xff, 0xff, 0xff, 0xff], 0xff],
    [[0x07, 0x00, 0x00, 0x80], 0x07],
  ];
  for (const [bytes, status] of cases) {
    await t.step(`[${bytes.map((b) => b.toString(16)).join(" ")}] -> ${status}`, () => {
      const { port, statuses } = harness();
      port.write(0, Uint8Array.from(bytes));
      assert.deepEqual(statuses, [status]);
    });
  }
});

Deno.test("ExitPort reads as zero and a read does not exit", () => {
  const { port, statuses } = harness();
  const data = Uint8Array.of(0xaa, 0xaa, 0xaa, 0xaa);
  port.read(0, data);
  assert.deepEqual(data, new Uint8Array(4));
  assert.deepEqual(statuses, []);
});
