/**
 * Fetches and caches the nested test host's parts from Debian packages: the L1 kernel (vmlinux
 * and the modules it needs) from `linux-image-amd64` and a static busybox from `busybox-static`.
 * @module
 */

import { aptDownload, debExtract, debField, exists, kernelPackageOf } from "./debian.ts";
import { extractVmlinux, loadOrder, moduleName, parseDepends, readModule } from "./kernel.ts";

/**
 * Modules the host loads, before their dependencies are added: KVM (the order the kernel wants:
 * irqbypass, ccp, kvm, kvm-amd), then virtio-mmio, 9p over virtio and overlayfs for the shared
 * host root.
 */
export const ROOT_MODULES: readonly string[] = [
  "irqbypass",
  "ccp",
  "kvm",
  "kvm_amd",
  "virtio_mmio",
  "9pnet_virtio",
  "9p",
  "overlay",
];

/** The cached kernel: the vmlinux to boot and the modules in load order. */
export interface KernelParts {
  /** Kernel release, e.g. `6.1.0-56-amd64`. */
  release: string;
  /** Debian version of the package, e.g. `6.1.192-2`. */
  version: string;
  /** Path of the uncompressed ELF vmlinux (PVH entry). */
  vmlinux: string;
  /** Directory holding `<name>.ko` for each module. */
  moduleDir: string;
  /** Module names in load order. */
  modules: string[];
}

/** The cached static busybox. */
export interface BusyboxParts {
  /** Debian version of busybox-static. */
  version: string;
  /** Path of the static busybox binary. */
  path: string;
}

interface KernelStamp {
  release: string;
  version: string;
  roots: string[];
  modules: string[];
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(path)) as T;
  } catch {
    return undefined;
  }
}

/**
 * Returns the cached kernel under `cache/kernel/`, or downloads `linux-image-amd64` and the
 * versioned image package it depends on, keeps its vmlinuz, extracts vmlinux and the modules, and caches them.
 * `refresh` ignores the cache and asks apt for the current version.
 */
export async function kernelParts(
  cache: string,
  log: (msg: string) => void,
  refresh = false,
): Promise<KernelParts & { cached: boolean }> {
  const dir = `${cache}/kernel`;
  const stampPath = `${dir}/stamp.json`;
  const stamp = await readJson<KernelStamp>(stampPath);
  const parts = (s: KernelStamp): KernelParts => ({
    release: s.release,
    version: s.version,
    vmlinux: `${dir}/vmlinux`,
    moduleDir: `${dir}/modules`,
    modules: s.modules,
  });
  if (
    !refresh && stamp && stamp.roots.join(",") === ROOT_MODULES.join(",") &&
    await exists(`${dir}/vmlinux`) && await exists(`${dir}/vmlinuz-${stamp.release}`)
  ) {
    return { ...parts(stamp), cached: true };
  }

  const work = `${cache}/tmp-kernel`;
  await Deno.remove(work, { recursive: true }).catch(() => {});
  try {
    const meta = await aptDownload("linux-image-amd64", `${work}/debs`, log);
    const pkg = kernelPackageOf(await debField(meta, "Depends"));
    const deb = await aptDownload(pkg, `${work}/debs`, log);
    const version = await debField(deb, "Version");
    const release = pkg.replace(/^linux-image-/, "");
    log(`unpacking ${pkg} ${version}`);
    await debExtract(deb, `${work}/root`);

    const vmlinuz = await Deno.readFile(`${work}/root/boot/vmlinuz-${release}`);
    const vmlinux = await extractVmlinux(vmlinuz);

    const files = new Map<string, string>();
    await indexModules(`${work}/root/lib/modules/${release}/kernel`, files);
    const bytes = new Map<string, Uint8Array>();
    const load = async (name: string): Promise<Uint8Array> => {
      let b = bytes.get(name);
      if (!b) {
        const file = files.get(name);
        if (!file) throw new Error(`kernel: module ${name} is not in ${pkg}`);
        b = await readModule(file);
        bytes.set(name, b);
      }
      return b;
    };
    // Read every module reachable from the roots first, so that loadOrder can stay synchronous.
    const pending = [...ROOT_MODULES];
    while (pending.length > 0) pending.push(...parseDepends(await load(pending.pop()!)));
    const modules = loadOrder([...ROOT_MODULES], (n) => parseDepends(bytes.get(n)!));

    await Deno.remove(dir, { recursive: true }).catch(() => {});
    await Deno.mkdir(`${dir}/modules`, { recursive: true });
    await Deno.writeFile(`${dir}/vmlinux`, vmlinux);
    // The bzImage too: the Linux boot tests boot it inside the host, where writes don't last.
    await Deno.writeFile(`${dir}/vmlinuz-${release}`, vmlinuz);
    for (const m of modules) await Deno.writeFile(`${dir}/modules/${m}.ko`, bytes.get(m)!);
    const s: KernelStamp = { release, version, roots: [...ROOT_MODULES], modules };
    await Deno.writeTextFile(stampPath, JSON.stringify(s, null, 2) + "\n");
    return { ...parts(s), cached: false };
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

async function indexModules(dir: string, into: Map<string, string>): Promise<void> {
  for await (const e of Deno.readDir(dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) await indexModules(path, into);
    else if (/\.ko(\.(xz|zst|gz))?$/.test(e.name)) into.set(moduleName(e.name), path);
  }
}

/** Returns the cached static busybox, or downloads and unpacks `busybox-static` into the cache. */
export async function busyboxParts(
  cache: string,
  log: (msg: string) => void,
  refresh = false,
): Promise<BusyboxParts & { cached: boolean }> {
  const dir = `${cache}/busybox`;
  const stamp = await readJson<{ version: string }>(`${dir}/stamp.json`);
  if (!refresh && stamp && await exists(`${dir}/busybox`)) {
    return { version: stamp.version, path: `${dir}/busybox`, cached: true };
  }
  const work = `${cache}/tmp-busybox`;
  await Deno.remove(work, { recursive: true }).catch(() => {});
  try {
    const deb = await aptDownload("busybox-static", `${work}/debs`, log);
    const version = await debField(deb, "Version");
    await debExtract(deb, `${work}/root`);
    const bin = (await exists(`${work}/root/bin/busybox`))
      ? `${work}/root/bin/busybox`
      : `${work}/root/usr/bin/busybox`;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    await Deno.mkdir(dir, { recursive: true });
    await Deno.copyFile(bin, `${dir}/busybox`);
    await Deno.chmod(`${dir}/busybox`, 0o755);
    await Deno.writeTextFile(`${dir}/stamp.json`, JSON.stringify({ version }) + "\n");
    return { version, path: `${dir}/busybox`, cached: false };
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}
