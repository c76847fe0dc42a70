/**
 * Tests of the command line writer: NUL termination, the cmdline_size limit and its errors.
 * @module
 */

import assert from "node:assert/strict";
import { writeCmdline } from "../../../lib/arch/x86_64/boot/cmdline.ts";

Deno.test("cmdline: writing", async (t) => {
  await t.step("the text and a NUL, nothing more", () => {
    const memory = new Uint8Array(0x100).fill(0xee);
    assert.equal(writeCmdline(memory, 0x10, "ro quiet", 2047), 9);
    assert.deepEqual(
      [...memory.subarray(0x10, 0x19)],
      [..."ro quiet"].map((c) => c.charCodeAt(0)).concat(0),
    );
    assert.equal(memory[0x0f], 0xee);
    assert.equal(memory[0x19], 0xee);
  });

  await t.step("an empty line is a lone NUL", () => {
    const memory = new Uint8Array(4).fill(1);
    assert.equal(writeCmdline(memory, 0, "", 2047), 1);
    assert.deepEqual([...memory], [0, 1, 1, 1]);
  });

  await t.step("exactly cmdline_size bytes fit", () => {
    const memory = new Uint8Array(4096);
    assert.equal(writeCmdline(memory, 0, "x".repeat(2047), 2047), 2048);
    assert.equal(memory[2047], 0);
  });

  await t.step("the limit counts UTF-8 bytes", () => {
    assert.throws(() => writeCmdline(new Uint8Array(64), 0, "é".repeat(6), 11), {
      message: "kernel command line is 12 bytes, the kernel accepts at most 11",
    });
  });
});

Deno.test("cmdline: errors", async (t) => {
  await t.step("longer than cmdline_size", () => {
    assert.throws(() => writeCmdline(new Uint8Array(8192), 0, "a".repeat(3000), 2047), {
      message: "kernel command line is 3000 bytes, the kernel accepts at most 2047",
    });
  });

  await t.step("a NUL inside", () => {
    assert.throws(() => writeCmdline(new Uint8Array(64), 0, "a\0b", 2047), {
      message: "kernel command line contains a NUL character",
    });
  });

  await t.step("outside guest RAM", () => {
    assert.throws(() => writeCmdline(new Uint8Array(4096), 4090, "console=ttyS0", 2047), {
      message: "kernel command line [0xffa, 0x1008) lies outside guest RAM (4 KiB)",
    });
  });
});
