/**
 * Tests of boot_params: the exact bytes of the zero page for a bzImage and for a vmlinux, the
 * 64-bit splits, the e820 table and its 128-entry limit, and the errors.
 * @module
 */

import assert from "node:assert/strict";
import { buildE820, type E820Entry } from "../../../lib/arch/x86_64/boot/e820.ts";
import { writeBootParams } from "../../../lib/arch/x86_64/boot/zero_page.ts";
import { parseSetupHeader } from "../../../lib/arch/x86_64/boot/bzimage.ts";
import { makeBzImage } from "./_fixtures.ts";

const MiB = 2 ** 20;
const AT = 0x7000;

/** Guest RAM filled with 0xee, so the zeroing and the page's bounds show. */
function ram(): Uint8Array {
  return new Uint8Array(0x10000).fill(0xee);
}

/** The expected page: `fill` writes into a zeroed page through a DataView. */
function expectedPage(fill: (v: DataView, p: Uint8Array) => void): Uint8Array {
  const p = new Uint8Array(4096);
  fill(new DataView(p.buffer), p);
  return p;
}

/** The e820 table bytes of `map` written the way zero-page.rst lays them out. */
function e820Bytes(v: DataView, map: E820Entry[]): void {
  v.setUint8(0x1e8, map.length);
  map.forEach((e, i) => {
    v.setBigUint64(0x2d0 + 20 * i, BigInt(e.address), true);
    v.setBigUint64(0x2d0 + 20 * i + 8, BigInt(e.size), true);
    v.setUint32(0x2d0 + 20 * i + 16, e.type, true);
  });
}

Deno.test("zero page: exact bytes", async (t) => {
  await t.step("bzImage: its header, then the loader's fields", () => {
    const header = parseSetupHeader(makeBzImage()).bytes;
    const memory = ram();
    const e820 = buildE820(256 * MiB);
    const n = writeBootParams(memory, AT, {
      setupHeader: header,
      cmdlineAddress: 0x20000,
      initrdAddress: 0x0f000000,
      initrdSize: 0x123456,
      e820,
    });
    assert.equal(n, 3);
    const want = expectedPage((v, p) => {
      p.set(header, 0x1f1);
      v.setUint16(0x1fa, 0xffff, true); // vid_mode
      v.setUint8(0x210, 0xff); // type_of_loader
      v.setUint8(0x211, 0x81); // loadflags: LOADED_HIGH | CAN_USE_HEAP
      v.setUint32(0x218, 0x0f000000, true); // ramdisk_image
      v.setUint32(0x21c, 0x123456, true); // ramdisk_size
      v.setUint16(0x224, 0xfe00, true); // heap_end_ptr
      v.setUint32(0x228, 0x20000, true); // cmd_line_ptr
      e820Bytes(v, e820);
    });
    assert.deepEqual(memory.subarray(AT, AT + 4096), want);
    assert.equal(memory[AT - 1], 0xee);
    assert.equal(memory[AT + 4096], 0xee);
    // A few of the bytes spelled out, against the documents rather than the helper above.
    assert.deepEqual([...memory.subarray(AT + 0x2d0 + 40, AT + 0x2d0 + 60)], [
      ...[0x00, 0x00, 0x10, 0, 0, 0, 0, 0], // addr 0x100000
      ...[0x00, 0x00, 0xf0, 0x0f, 0, 0, 0, 0], // size 0x0ff00000
      ...[1, 0, 0, 0], // E820_RAM
    ]);
    assert.equal(memory[AT + 0x1ef], 0, "sentinel stays 0");
  });

  await t.step("vmlinux: a minimal header", () => {
    const memory = ram();
    const e820 = buildE820(2 * MiB);
    writeBootParams(memory, AT, { cmdlineAddress: 0x20000, e820 });
    const want = expectedPage((v) => {
      v.setUint16(0x1fa, 0xffff, true);
      v.setUint16(0x1fe, 0xaa55, true); // boot_flag
      v.setUint32(0x202, 0x53726448, true); // "HdrS"
      v.setUint16(0x206, 0x020f, true); // version 2.15
      v.setUint8(0x210, 0xff);
      v.setUint8(0x211, 0x81);
      v.setUint16(0x224, 0xfe00, true);
      v.setUint32(0x228, 0x20000, true);
      v.setUint32(0x22c, 0x7fffffff, true); // initrd_addr_max
      v.setUint32(0x230, 0x1000000, true); // kernel_alignment
      v.setUint32(0x238, 2047, true); // cmdline_size
      e820Bytes(v, e820);
    });
    assert.deepEqual(memory.subarray(AT, AT + 4096), want);
    assert.equal(new TextDecoder().decode(memory.subarray(AT + 0x202, AT + 0x206)), "HdrS");
  });

  await t.step("the vmlinux header takes a given cmdline_size", () => {
    const memory = ram();
    writeBootParams(memory, AT, { cmdlineAddress: 0, cmdlineSize: 4095, e820: [] });
    assert.equal(new DataView(memory.buffer).getUint32(AT + 0x238, true), 4095);
  });
});

Deno.test("zero page: 64-bit addresses and limits", async (t) => {
  await t.step("addresses above 4 GiB go to the ext_ fields", () => {
    const memory = ram();
    writeBootParams(memory, AT, {
      cmdlineAddress: 0x1_2345_6000,
      initrdAddress: 0x2_0000_1000,
      initrdSize: 0x1_0000_0010,
      e820: [],
    });
    const v = new DataView(memory.buffer, AT, 4096);
    assert.equal(v.getUint32(0x228, true), 0x2345_6000);
    assert.equal(v.getUint32(0x0c8, true), 1, "ext_cmd_line_ptr");
    assert.equal(v.getUint32(0x218, true), 0x1000);
    assert.equal(v.getUint32(0x0c0, true), 2, "ext_ramdisk_image");
    assert.equal(v.getUint32(0x21c, true), 0x10);
    assert.equal(v.getUint32(0x0c4, true), 1, "ext_ramdisk_size");
  });

  await t.step("without an initrd the ramdisk fields stay 0", () => {
    const memory = ram();
    writeBootParams(memory, AT, { cmdlineAddress: 0x20000, e820: [] });
    const v = new DataView(memory.buffer, AT, 4096);
    assert.equal(v.getUint32(0x218, true) + v.getUint32(0x21c, true), 0);
  });

  await t.step("the e820 table is clamped to 128 entries", () => {
    const memory = ram();
    const map = Array.from({ length: 130 }, (_, i) => ({
      address: i * 0x10000,
      size: 0x8000,
      type: 1 + (i % 2),
    }));
    assert.equal(writeBootParams(memory, AT, { cmdlineAddress: 0, e820: map }), 128);
    assert.equal(memory[AT + 0x1e8], 128);
    const v = new DataView(memory.buffer, AT, 4096);
    assert.equal(v.getBigUint64(0x2d0 + 127 * 20, true), 127n * 0x10000n);
    assert.equal(v.getUint32(0x2d0 + 127 * 20 + 16, true), 2);
    assert.equal(0x2d0 + 128 * 20, 0xcd0, "the table ends before eddbuf at 0xd00");
    assert.ok(memory.subarray(AT + 0xcd0, AT + 4096).every((b) => b === 0));
  });
});

Deno.test("zero page: errors", async (t) => {
  await t.step("outside guest RAM", () => {
    assert.throws(() => writeBootParams(ram(), 0xf800, { cmdlineAddress: 0, e820: [] }), {
      message: "boot_params [0xf800, 0x10800) lies outside guest RAM (64 KiB)",
    });
  });

  await t.step("a setup header that would overrun boot_params' header space", () => {
    assert.throws(
      () =>
        writeBootParams(ram(), AT, {
          setupHeader: new Uint8Array(160),
          cmdlineAddress: 0,
          e820: [],
        }),
      { message: "setup header is 160 bytes, boot_params has room for 159" },
    );
  });
});
