/**
 * Accept and reject tables for `parseSize` and `parseAddress`, with the exact error texts.
 *
 * @module
 */

import assert from "node:assert/strict";
import { parseAddress, parseSize } from "../../lib/vmm/sizes.ts";
import { ConfigError } from "../../lib/vmm/config_error.ts";

Deno.test("parseSize() accepts decimal sizes with K, M, G, KB, MiB... suffixes", async (t) => {
  const accepted: [string, number][] = [
    ["0", 0],
    ["65536", 65536],
    ["64K", 64 * 1024],
    ["64k", 64 * 1024],
    ["2M", 2 * 2 ** 20],
    ["2m", 2 * 2 ** 20],
    ["1G", 2 ** 30],
    ["16KB", 16 * 1024],
    ["64MiB", 64 * 2 ** 20],
    ["64mib", 64 * 2 ** 20],
    ["1GB", 2 ** 30],
    ["100B", 100],
    ["  2M  ", 2 * 2 ** 20],
    ["2 M", 2 * 2 ** 20],
    ["0064K", 64 * 1024],
    ["8388607G", 8388607 * 2 ** 30],
  ];
  for (const [text, value] of accepted) {
    await t.step(JSON.stringify(text), () => assert.equal(parseSize(text, "--mem"), value));
  }
});

Deno.test("parseSize() rejects what is not a size, naming the option", async (t) => {
  const rejected = ["", "M", "-1M", "1.5M", "0x1000", "2T", "2MM", "2Mi", "1e6", "two", "2M!"];
  for (const text of rejected) {
    await t.step(JSON.stringify(text), () => {
      assert.throws(() => parseSize(text, "--mem"), {
        name: "ConfigError",
        message: `--mem: "${text}" is not a size (use e.g. 2M, 64M, 1G)`,
      });
    });
  }
  await t.step("too large for a safe integer", () => {
    assert.throws(() => parseSize("8388608G", "memory"), {
      name: "ConfigError",
      message: 'memory: "8388608G" is too large',
    });
    assert.throws(() => parseSize("99999999999999999999", "memory"), ConfigError);
  });
});

Deno.test("parseAddress() accepts 0x hexadecimal and decimal below 2^52", async (t) => {
  const accepted: [string, number][] = [
    ["0", 0],
    ["4096", 4096],
    ["0x1000", 0x1000],
    ["0X1000", 0x1000],
    ["0xd0000000", 0xd000_0000],
    ["0xABCdef", 0xabcdef],
    [" 0x10 ", 0x10],
    ["0xfffffffffffff", 2 ** 52 - 1],
    ["4503599627370495", 2 ** 52 - 1],
  ];
  for (const [text, value] of accepted) {
    await t.step(JSON.stringify(text), () => assert.equal(parseAddress(text, "--load"), value));
  }
});

Deno.test("parseAddress() rejects what is not an address, naming the option", async (t) => {
  const rejected = ["", "0x", "x10", "-1", "1.5", "0b101", "1e3", "0x10g", "64K", "0o17"];
  for (const text of rejected) {
    await t.step(JSON.stringify(text), () => {
      assert.throws(() => parseAddress(text, "--load"), {
        name: "ConfigError",
        message: `--load: "${text}" is not an address (use e.g. 0x1000 or 4096)`,
      });
    });
  }
  for (const text of ["0x10000000000000", "4503599627370496", "99999999999999999999"]) {
    await t.step(`${text} is too large`, () => {
      assert.throws(() => parseAddress(text, "--load"), {
        name: "ConfigError",
        message: `--load: "${text}" is too large`,
      });
    });
  }
});
