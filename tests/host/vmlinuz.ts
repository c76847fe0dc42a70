/**
 * Debian's real kernel as a bzImage (`vmlinuz`) and an ELF vmlinux for the boot tests: from the
 * caches, /boot, or `apt-get download` of the image package (only `vmlinuz` is kept, in
 * `.cache/boot/`).
 * @module
 */

import { fileURLToPath } from "node:url";
import { aptDownload, debField, exists, kernelPackageOf, runOk } from "./debian.ts";
import { extractVmlinux } from "./kernel.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** The nested host's cache (its kernel's stamp says which release to fetch). */
export const NESTED_CACHE = `${ROOT}.cache/nested`;
/** Where a downloaded vmlinuz (and a vmlinux extracted from it) is kept. */
export const BOOT_CACHE = `${ROOT}.cache/boot`;

/** Paths of files named `vmlinuz-*` in `dir` and its subdirectories (to `depth`), sorted. */
export async function findVmlinuz(dir: string, depth = 3): Promise<string[]> {
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
    return JSON.parse(await Deno.readTextFile(`${NESTED_CACHE}/kernel/stamp.json`)).release;
  } catch {
    return undefined;
  }
}

/**
 * Downloads Debian's kernel image package (the nested host's release if known, else the one
 * `linux-image-amd64` depends on) and keeps only its vmlinuz, in `.cache/boot/`.
 */
export async function downloadVmlinuz(log: (msg: string) => void): Promise<string> {
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
    await Deno.mkdir(BOOT_CACHE, { recursive: true });
    const cached = `${BOOT_CACHE}/${vmlinuz.slice(vmlinuz.lastIndexOf("/") + 1)}`;
    await Deno.copyFile(vmlinuz, cached);
    return cached;
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}

/** A real vmlinuz: cached, in /boot, or downloaded; throws saying why if there is none. */
export async function realVmlinuz(log: (msg: string) => void): Promise<string> {
  const local = [
    ...await findVmlinuz(BOOT_CACHE, 0),
    ...await findVmlinuz(NESTED_CACHE),
    ...await findVmlinuz("/boot", 0),
  ];
  if (local.length > 0) return local[0];
  try {
    return await downloadVmlinuz(log);
  } catch (e) {
    throw new Error(
      `real kernel: no vmlinuz-* in .cache/boot, .cache/nested or /boot, and downloading ` +
        `Debian's linux-image-amd64 failed: ${e instanceof Error ? e.message : e}`,
    );
  }
}

/** A real ELF vmlinux: the nested host's, a cached one, or the one inside `vmlinuzPath`. */
export async function realVmlinux(
  vmlinuzPath: string,
  log: (msg: string) => void,
): Promise<string> {
  const nested = `${NESTED_CACHE}/kernel/vmlinux`;
  if (await exists(nested)) return nested;
  const release = vmlinuzPath.slice(vmlinuzPath.lastIndexOf("/vmlinuz-") + 9);
  const cached = `${BOOT_CACHE}/vmlinux-${release}`;
  if (await exists(cached)) return cached;
  log(`extracting vmlinux from ${vmlinuzPath}`);
  const vmlinux = await extractVmlinux(await Deno.readFile(vmlinuzPath));
  await Deno.mkdir(BOOT_CACHE, { recursive: true });
  await Deno.writeFile(cached, vmlinux);
  return cached;
}
