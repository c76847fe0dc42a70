/**
 * Tests of initrd placement: page-aligned, as high as RAM and initrd_addr_max allow, above the
 * kernel.
 * @module
 */

import assert from "node:assert/strict";
import { placeInitrd } from "../../../lib/arch/x86_64/boot/initrd.ts";

const MiB = 2 ** 20;
const GiB = 2 ** 30;

Deno.test("initrd: placement", async (t) => {
  await t.step("at the top of RAM, page-aligned", () => {
    const at = placeInitrd({
      memSize: 256 * MiB,
      initrdSize: MiB + 123,
      initrdAddrMax: 0x7fffffff,
      kernelEnd: 0x4f98000,
    });
    assert.equal(at, 0x0feff000);
  });

  await t.step("under initrd_addr_max (inclusive) when RAM goes higher", () => {
    const at = placeInitrd({
      memSize: 3 * GiB,
      initrdSize: 2 * MiB,
      initrdAddrMax: 0x7fffffff,
      kernelEnd: 0x4f98000,
    });
    assert.equal(at, 0x7fe00000);
  });

  await t.step("under the RAM below the gap when initrd_addr_max is higher", () => {
    const at = placeInitrd({
      memSize: 3 * GiB,
      initrdSize: 4096,
      initrdAddrMax: 0xffffffff,
      kernelEnd: 0x4f98000,
    });
    assert.equal(at, 3 * GiB - 4096);
  });

  await t.step("never above 4 GiB, even if the caller passes more RAM", () => {
    const at = placeInitrd({
      memSize: 8 * GiB,
      initrdSize: 4096,
      initrdAddrMax: 2 ** 40,
      kernelEnd: 0,
    });
    assert.equal(at, 4 * GiB - 4096);
  });

  await t.step("it may start right at the kernel's (page-rounded) end", () => {
    const at = placeInitrd({
      memSize: 16 * MiB,
      initrdSize: 16 * MiB - 0x5000,
      initrdAddrMax: 0x7fffffff,
      kernelEnd: 0x4800,
    });
    assert.equal(at, 0x5000);
  });
});

Deno.test("initrd: errors", async (t) => {
  await t.step("too big to fit above the kernel", () => {
    assert.throws(
      () =>
        placeInitrd({
          memSize: 64 * MiB,
          initrdSize: 40 * MiB,
          initrdAddrMax: 0x7fffffff,
          kernelEnd: 0x4f98000,
        }),
      {
        message:
          "initrd (41943040 bytes) does not fit in RAM above the kernel (between 0x4f98000 and 0x4000000)",
      },
    );
  });

  await t.step("kernel end not page-aligned: the page after it is the lowest start", () => {
    assert.throws(
      () =>
        placeInitrd({
          memSize: 16 * MiB,
          initrdSize: 16 * MiB - 0x4000,
          initrdAddrMax: 0x7fffffff,
          kernelEnd: 0x4001,
        }),
      /initrd \(16760832 bytes\) does not fit in RAM above the kernel/,
    );
  });

  await t.step("invalid numbers", () => {
    assert.throws(
      () => placeInitrd({ memSize: -1, initrdSize: 1, initrdAddrMax: 1, kernelEnd: 0 }),
      { message: "initrd memSize -1 is invalid" },
    );
  });
});
