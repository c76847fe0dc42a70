/**
 * Tests of kernel format detection and loading dispatch, and of a whole synthetic boot layout
 * (kernel, e820, initrd, command line, boot_params) put together.
 * @module
 */

import assert from "node:assert/strict";
import {
  buildE820,
  detectKernel,
  kernelLimits,
  loadKernel,
  placeInitrd,
  writeBootParams,
  writeCmdline,
} from "../../../lib/arch/x86_64/boot/index.ts";
import { makeBzImage, sampleVmlinux } from "./_fixtures.ts";

const MiB = 1024 * 1024;

Deno.test("kernel: detection", async (t) => {
  await t.step("ELF and bzImage", () => {
    assert.equal(detectKernel(sampleVmlinux()), "elf");
    assert.equal(detectKernel(makeBzImage()), "bzimage");
  });

  await t.step("anything else is an error", () => {
    const message = "not an ELF vmlinux or a bzImage (no ELF magic, no HdrS)";
    assert.throws(() => detectKernel(new Uint8Array(0)), { message });
    assert.throws(() => detectKernel(new Uint8Array(0x1000).fill(0x41)), { message });
    assert.throws(() => loadKernel(new Uint8Array(MiB), makeBzImage().slice(0, 0x204)), {
      message,
    });
  });
});

Deno.test("kernel: loading dispatches on the format", async (t) => {
  await t.step("vmlinux", () => {
    const k = loadKernel(new Uint8Array(4 * MiB), sampleVmlinux());
    assert.equal(k.kind, "elf");
    assert.equal(k.entry64, 0x100000);
    assert.deepEqual(kernelLimits(k), { cmdlineSize: 2047, initrdAddrMax: 0x7fffffff });
  });

  await t.step("bzImage", () => {
    const k = loadKernel(new Uint8Array(32 * MiB), makeBzImage({ cmdlineSize: 511 }));
    assert.equal(k.kind, "bzimage");
    assert.equal(k.entry64, 0x1000200);
    assert.deepEqual(kernelLimits(k), { cmdlineSize: 511, initrdAddrMax: 0x7fffffff });
  });

  await t.step("truncated and oversized kernels", () => {
    const file = sampleVmlinux();
    assert.throws(() => loadKernel(new Uint8Array(4 * MiB), file.slice(0, 64 + 2 * 56 + 1)), {
      message: "truncated ELF: program header 2 lies past the end of the file",
    });
    assert.throws(() => loadKernel(new Uint8Array(MiB), file), {
      message:
        "kernel does not fit in guest RAM: ELF segment 0 needs [0x100000, 0x101000), guest RAM is 1 MiB",
    });
    // A bzImage source larger than RAM is refused before it is read whole into memory.
    const header = makeBzImage();
    let reads = 0;
    const huge = {
      length: 64 * MiB,
      readInto(offset: number, target: Uint8Array) {
        reads++;
        assert.ok(offset + target.length <= header.length, "only the header is read");
        target.set(header.subarray(offset, offset + target.length));
      },
    };
    assert.throws(() => loadKernel(new Uint8Array(32 * MiB), huge), {
      message:
        "kernel does not fit in guest RAM: the bzImage is 67108864 bytes, guest RAM is 32 MiB",
    });
    assert.equal(reads, 1);
  });
});

Deno.test("kernel: a whole boot layout in 64 MiB", () => {
  const memSize = 64 * MiB;
  const memory = new Uint8Array(memSize);
  const kernel = loadKernel(memory, makeBzImage());
  const { cmdlineSize, initrdAddrMax } = kernelLimits(kernel);
  const initrd = new Uint8Array(3 * MiB + 5).fill(0x1d);
  const initrdAddress = placeInitrd({
    memSize,
    initrdSize: initrd.length,
    initrdAddrMax,
    kernelEnd: kernel.loadEnd,
  });
  assert.equal(initrdAddress, 0x3cff000);
  memory.set(initrd, initrdAddress);
  assert.equal(writeCmdline(memory, 0x20000, "console=ttyS0 panic=-1", cmdlineSize), 23);
  const e820 = buildE820(memSize);
  const written = writeBootParams(memory, 0x7000, {
    setupHeader: kernel.kind === "bzimage" ? kernel.setupHeader : undefined,
    cmdlineAddress: 0x20000,
    initrdAddress,
    initrdSize: initrd.length,
    e820,
  });
  assert.equal(written, 3);
  const view = new DataView(memory.buffer);
  assert.equal(view.getUint32(0x7000 + 0x228, true), 0x20000);
  assert.equal(view.getUint32(0x7000 + 0x218, true), 0x3cff000);
  assert.equal(view.getUint32(0x7000 + 0x21c, true), 3 * MiB + 5);
  assert.equal(
    new TextDecoder().decode(memory.subarray(0x20000, 0x20016)),
    "console=ttyS0 panic=-1",
  );
  assert.ok(initrdAddress + initrd.length <= memSize && initrdAddress >= kernel.loadEnd);
});
