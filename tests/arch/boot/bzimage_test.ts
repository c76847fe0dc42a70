/**
 * Tests of the bzImage loader on synthetic setup headers: fields read, load address chosen,
 * kernel copied, header bytes returned, and every error.
 * @module
 */

import assert from "node:assert/strict";
import {
  chooseLoadAddress,
  loadBzImage,
  parseSetupHeader,
  protocolText,
} from "../../../lib/arch/x86_64/boot/bzimage.ts";
import { makeBzImage } from "./_fixtures.ts";

const MiB = 1024 * 1024;

Deno.test("bzimage: setup header", async (t) => {
  await t.step("reads the fields of a modern header", () => {
    const file = makeBzImage({ initrdAddrMax: 0x37ffffff, cmdlineSize: 4095 });
    const h = parseSetupHeader(file);
    assert.deepEqual({ ...h, bytes: undefined }, {
      version: 0x020f,
      setupSects: 3,
      kernelOffset: 0x800,
      loadflags: 0x01,
      xloadflags: 0x7f,
      kernelAlignment: 0x200000,
      relocatable: true,
      prefAddress: 0x1000000,
      initSize: 0x8000,
      cmdlineSize: 4095,
      initrdAddrMax: 0x37ffffff,
      bytes: undefined,
    });
    // 0x1f1 up to 0x202 + 0x6a = 0x26c.
    assert.deepEqual(h.bytes, file.slice(0x1f1, 0x26c));
  });

  await t.step("setup_sects 0 means 4", () => {
    assert.equal(parseSetupHeader(makeBzImage({ setupSects: 0 })).kernelOffset, 5 * 512);
  });

  await t.step("the header is cut at 0x290, where boot_params' next field starts", () => {
    assert.equal(parseSetupHeader(makeBzImage({ jump: 0xff })).bytes.length, 0x290 - 0x1f1);
  });

  await t.step("protocol versions print like boot.rst", () => {
    assert.equal(protocolText(0x020f), "2.15");
    assert.equal(protocolText(0x0206), "2.06");
    assert.equal(protocolText(0x020a), "2.10");
  });
});

Deno.test("bzimage: loading", async (t) => {
  await t.step("at pref_address, entry at +0x200, loadEnd covers init_size", () => {
    const file = makeBzImage();
    const memory = new Uint8Array(32 * MiB);
    const k = loadBzImage(memory, file);
    assert.equal(k.kind, "bzimage");
    assert.equal(k.loadAddress, 0x1000000);
    assert.equal(k.entry64, 0x1000200);
    assert.equal(k.loadEnd, 0x1000000 + 0x8000);
    assert.equal(k.cmdlineSize, 2047);
    assert.equal(k.initrdAddrMax, 0x7fffffff);
    assert.deepEqual(k.setupHeader, file.slice(0x1f1, 0x26c));
    assert.deepEqual(memory.subarray(0x1000000, 0x1003000), file.subarray(0x800));
    assert.ok(memory.subarray(0x1003000).every((b) => b === 0), "nothing written past it");
    assert.ok(memory.subarray(0, 0x1000000).every((b) => b === 0), "nothing written below");
  });

  await t.step("loadEnd is the kernel's end when init_size is smaller", () => {
    const k = loadBzImage(new Uint8Array(32 * MiB), makeBzImage({ initSize: 0x1000 }));
    assert.equal(k.loadEnd, 0x1003000);
  });

  await t.step("a non-relocatable kernel also loads at pref_address (where it runs)", () => {
    const k = loadBzImage(new Uint8Array(32 * MiB), makeBzImage({ relocatable: 0 }));
    assert.equal(k.loadAddress, 0x1000000);
  });

  await t.step("without a pref_address at or above 1 MiB: 0x100000", () => {
    const header = parseSetupHeader(makeBzImage({ prefAddress: 0 }));
    assert.equal(chooseLoadAddress(header), 0x100000);
    const k = loadBzImage(new Uint8Array(2 * MiB), makeBzImage({ prefAddress: 0x8000 }));
    assert.equal(k.entry64, 0x100200);
  });
});

Deno.test("bzimage: errors", async (t) => {
  const fails = (file: Uint8Array, message: string, memory = new Uint8Array(32 * MiB)) =>
    assert.throws(() => loadBzImage(memory, file), { message });

  await t.step("protocol too old", () => {
    fails(makeBzImage({ version: 0x0205 }), "boot protocol 2.05 is too old (need 2.06)");
    fails(makeBzImage({ version: 0x0201 }), "boot protocol 2.01 is too old (need 2.06)");
  });

  await t.step("no 64-bit entry", () => {
    fails(
      makeBzImage({ version: 0x020a }),
      "boot protocol 2.10 has no xloadflags, so no known 64-bit entry (need 2.12 for XLF_KERNEL_64)",
    );
    fails(
      makeBzImage({ xloadflags: 0x02 }),
      "bzImage has no 64-bit entry (xloadflags 0x2 lack XLF_KERNEL_64)",
    );
  });

  await t.step("header checks", () => {
    fails(new Uint8Array(0x1000), 'not a bzImage (no "HdrS" at 0x202)');
    fails(
      makeBzImage({ loadflags: 0 }),
      "bzImage loadflags 0x0 lack LOADED_HIGH: not a bzImage kernel",
    );
    fails(makeBzImage({ bootFlag: 0x1234 }), "bzImage boot_flag is 0x1234, not 0xaa55");
    fails(
      makeBzImage({ jump: 0x30 }),
      "bzImage setup header ends at 0x232 (0x202 + byte at 0x201), before cmdline_size",
    );
    // Protocol 2.12+ headers hold pref_address and init_size: reading them from past a shorter
    // header's end would take setup code for them, and the kernel would see other values.
    fails(
      makeBzImage({ jump: 0x3a }),
      "bzImage setup header ends at 0x23c (0x202 + byte at 0x201), before init_size (0x260), " +
        "which protocol 2.15 has",
    );
  });

  await t.step("truncated files", () => {
    const file = makeBzImage();
    fails(
      file.slice(0, 0x207),
      "truncated bzImage: the file is 519 bytes, it ends in its header",
    );
    fails(
      file.slice(0, 0x240),
      "truncated bzImage: the file is 576 bytes, shorter than its header",
    );
    fails(
      file.slice(0, 0x800),
      "truncated bzImage: the kernel starts at 0x800 (setup_sects 3), the file is 2048 bytes",
    );
  });

  await t.step("kernel larger than RAM", () => {
    fails(
      makeBzImage({ initSize: 0x3f98000 }),
      "kernel does not fit in guest RAM: it needs [0x1000000, 0x4f98000) (12288 bytes, init_size 0x3f98000), guest RAM is 32 MiB",
    );
  });
});
