/**
 * The loaders against Debian's real kernel: the bzImage (`vmlinuz`) and the ELF `vmlinux` inside
 * it, from the nested host's cache, /boot, or `apt-get download` (cached in .cache/boot/). If
 * none of them gives a kernel, the test fails and says why.
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
import { aptDownload, debField, exists, kernelPackageOf, runOk } from "../../host/debian.ts";
import { extractVmlinux } from "../../host/kernel.ts";

const ROOT = new URL("../../../", import.meta.url).pathname;
const NESTED = `${ROOT}.cache/nested`;
const CACHE = `${ROOT}.cache/boot`;
const MiB = 2 ** 20;
const hex = (n: number) => `0x${n.toString(16)}`;
const log = (msg: string) => console.log(`  real kernel: ${msg}`);

/** Paths of files named `vmlinuz-*` in `dir` and its subdirectories (to depth 3). */
async function findVmlinuz(dir: string, depth = 3): Promise<string[]> {
  const found: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      const path = `${dir}/${e.name}`;
      if (e.isFile && e.name.startsWith("vmlinuz-")) found.push(path);
      else if (e.isDirectory && depth > 0) found.push(...await findVmlinuz(path, depth - 1));
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound || e instanceof Deno.errors.PermissionDenied)) throw e;
  }
  return found.sort();
}

/** The release of the nested host's cached vmlinux, so that the vmlinuz fetched matches it. */
async function nestedRelease(): Promise<string | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(`${NESTED}/kernel/stamp.json`)).release;
  } catch {
    return undefined;
  }
}

/** Downloads Debian's kernel image package and keeps only its vmlinuz, in .cache/boot/. */
async function downloadVmlinuz(): Promise<string> {
  const work = await Deno.makeTempDir({ prefix: "microvmm-kernel-" });
  try {
    const release = await nestedRelease();
    let deb: string;
    try {
      if (!release) throw new Error("no nested host kernel to match");
      deb = await aptDownload(`linux-image-${release}`, work, log);
    } catch {
      const meta = await aptDownload("linux-image-amd64", work, log);
      deb = await aptDownload(kernelPackageOf(await debField(meta, "Depends")), work, log);
    }
    log(`unpacking ./boot of ${deb.slice(work.length + 1)}`);
    await runOk("sh", [
      "-c",
      'dpkg-deb --fsys-tarfile "$0" | tar -x -C "$1" ./boot',
      deb,
      work,
    ]);
    const [vmlinuz] = await findVmlinuz(`${work}/boot`, 0);
    if (!vmlinuz) throw new Error(`${deb} has no boot/vmlinuz-*`);
    await Deno.mkdir(CACHE, { recursive: true });
    const cached = `${CACHE}/${vmlinuz.slice(vmlinuz.lastIndexOf("/") + 1)}`;
    await Deno.copyFile(vmlinuz, cached);
    return cached;
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}

/** A real vmlinuz: cached, in /boot, or downloaded; throws saying why if there is none. */
async function realVmlinuz(): Promise<string> {
  const local = [
    ...await findVmlinuz(CACHE, 0),
    ...await findVmlinuz(NESTED),
    ...await findVmlinuz("/boot", 0),
  ];
  if (local.length > 0) return local[0];
  try {
    return await downloadVmlinuz();
  } catch (e) {
    throw new Error(
      `real kernel: no vmlinuz-* in .cache/boot, .cache/nested or /boot, and downloading ` +
        `Debian's linux-image-amd64 failed: ${e instanceof Error ? e.message : e}`,
    );
  }
}

/** A real ELF vmlinux: the nested host's, a cached one, or the one inside `vmlinuz`. */
async function realVmlinux(vmlinuzPath: string): Promise<string> {
  const nested = `${NESTED}/kernel/vmlinux`;
  if (await exists(nested)) return nested;
  const release = vmlinuzPath.slice(vmlinuzPath.lastIndexOf("/vmlinuz-") + 9);
  const cached = `${CACHE}/vmlinux-${release}`;
  if (await exists(cached)) return cached;
  log(`extracting vmlinux from ${vmlinuzPath}`);
  const vmlinux = await extractVmlinux(await Deno.readFile(vmlinuzPath));
  await Deno.mkdir(CACHE, { recursive: true });
  await Deno.writeFile(cached, vmlinux);
  return cached;
}

Deno.test("real kernel: Debian's bzImage and vmlinux load", async (t) => {
  const vmlinuzPath = await realVmlinuz();
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
    const path = await realVmlinux(vmlinuzPath);
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
