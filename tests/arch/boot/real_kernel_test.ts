/**
 * The loaders against Debian's real kernel: the bzImage (`vmlinuz`) and the ELF `vmlinux` inside
 * it, from the nested host's cache, /boot, or `apt-get download` (cached in .cache/boot/, see
 * `tests/host/vmlinuz.ts`). If none of them gives a kernel, the test fails and says why.
 * @module
 */

import assert from "node:assert/strict";
import {
  buildE820,
  detectKernel,
  loadKernel,
  parseSetupHeader,
  protocolText,
  writeBootParams,
  XLF_KERNEL_64,
} from "../../../lib/arch/x86_64/boot/index.ts";
import { realVmlinux, realVmlinuz } from "../../host/vmlinuz.ts";

const ROOT = new URL("../../../", import.meta.url).pathname;
const MiB = 2 ** 20;
const hex = (n: number) => `0x${n.toString(16)}`;
const log = (msg: string) => console.log(`  real kernel: ${msg}`);

Deno.test("real kernel: Debian's bzImage and vmlinux load", async (t) => {
  const vmlinuzPath = await realVmlinuz(log);
  const vmlinuz = await Deno.readFile(vmlinuzPath);

  await t.step("the bzImage: protocol ≥ 2.06, XLF_KERNEL_64, entry at load + 0x200", () => {
    assert.equal(detectKernel(vmlinuz), "bzimage");
    const h = parseSetupHeader(vmlinuz);
    assert.ok(h.version >= 0x0206, `protocol ${protocolText(h.version)}`);
    assert.ok((h.xloadflags & XLF_KERNEL_64) !== 0);
    const memory = new Uint8Array(256 * MiB);
    const k = loadKernel(memory, vmlinuz);
    assert.equal(k.kind, "bzimage");
    if (k.kind !== "bzimage") return;
    assert.equal(k.entry64, k.loadAddress + 0x200);
    const size = vmlinuz.length - h.kernelOffset;
    assert.deepEqual(
      memory.subarray(k.loadAddress, k.loadAddress + size),
      vmlinuz.subarray(h.kernelOffset),
    );
    assert.equal(k.loadEnd, k.loadAddress + Math.max(size, h.initSize));
    log(
      `${vmlinuzPath.slice(vmlinuzPath.lastIndexOf("/") + 1)}: protocol ` +
        `${protocolText(h.version)}, setup_sects ${h.setupSects}, loadflags ${hex(h.loadflags)}, ` +
        `xloadflags ${hex(h.xloadflags)}, relocatable ${h.relocatable}, kernel_alignment ` +
        `${hex(h.kernelAlignment)}, pref_address ${hex(h.prefAddress)}, init_size ` +
        `${hex(h.initSize)}, cmdline_size ${h.cmdlineSize}, initrd_addr_max ` +
        `${hex(h.initrdAddrMax)}; loaded at ${hex(k.loadAddress)}, entry64 ${hex(k.entry64)}, ` +
        `loadEnd ${hex(k.loadEnd)}`,
    );

    // Its header in a zero page: copied verbatim at 0x1f1 but for the fields a loader writes.
    writeBootParams(memory, 0x7000, {
      setupHeader: k.setupHeader,
      cmdlineAddress: 0x20000,
      e820: buildE820(memory.length),
    });
    const expected = k.setupHeader.slice();
    const v = new DataView(expected.buffer);
    const at = (offset: number) => offset - 0x1f1;
    v.setUint16(at(0x1fa), 0xffff, true); // vid_mode
    v.setUint8(at(0x210), 0xff); // type_of_loader
    v.setUint8(at(0x211), h.loadflags | 0x81); // loadflags
    v.setBigUint64(at(0x218), 0n, true); // ramdisk_image, ramdisk_size
    v.setUint16(at(0x224), 0xfe00, true); // heap_end_ptr
    v.setUint32(at(0x228), 0x20000, true); // cmd_line_ptr
    assert.deepEqual(memory.subarray(0x7000 + 0x1f1, 0x7000 + 0x1f1 + expected.length), expected);
  });

  await t.step("the vmlinux: ELF with the Xen PVH note", async () => {
    const path = await realVmlinux(vmlinuzPath, log);
    const vmlinux = await Deno.readFile(path);
    assert.equal(detectKernel(vmlinux), "elf");
    const k = loadKernel(new Uint8Array(256 * MiB), vmlinux);
    assert.equal(k.kind, "elf");
    if (k.kind !== "elf") return;
    assert.notEqual(k.pvhEntry, undefined, "XEN_ELFNOTE_PHYS32_ENTRY");
    assert.ok(k.pvhEntry! >= k.entry64 && k.pvhEntry! < k.loadEnd, "PVH entry in the kernel");
    log(
      `${path.slice(ROOT.length)}: ${vmlinux.length} bytes, entry64 (startup_64) ` +
        `${hex(k.entry64)}, PVH entry ${hex(k.pvhEntry!)}, loadEnd ${hex(k.loadEnd)}`,
    );
  });
});
