/**
 * The files the Linux boot tests and benchmark boot: Debian's vmlinux and bzImage and a static
 * busybox, from the caches or fetched with `apt-get download` (`deno run -A tests/linux/_assets.ts`
 * fetches them ahead, e.g. before a run inside the nested host, which has no network).
 *
 * @module
 */

import { busyboxParts, kernelParts } from "../host/parts.ts";
import { NESTED_CACHE, realVmlinuz } from "../host/vmlinuz.ts";

/** Paths of the Linux test assets. */
export interface LinuxAssets {
  /** Debian's ELF vmlinux (with the PVH note), the nested host's own kernel. */
  vmlinux: string;
  /** Debian's bzImage (`vmlinuz-<release>`). */
  bzImage: string;
  /** A static busybox (`busybox-static`). */
  busybox: string;
  /** The vmlinux's kernel release, e.g. `6.1.0-56-amd64`. */
  release: string;
}

let pending: Promise<LinuxAssets> | undefined;

/** Runs `fetch`, turning a failure into one clear error naming the asset and the way out. */
async function get<T>(what: string, fetch: () => Promise<T>): Promise<T> {
  try {
    return await fetch();
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    const inside = Deno.env.get("NESTED_HOST") === "1"
      ? " (inside the nested host there is no network: run `deno run -A tests/linux/_assets.ts` " +
        "outside first)"
      : "";
    throw new Error(
      `Linux test assets: cannot get ${what}: it is not cached and fetching it failed${inside}: ` +
        why,
    );
  }
}

/**
 * Returns the paths of vmlinux, bzImage and busybox, fetching and caching what is missing
 * (`.cache/nested/kernel/`, `.cache/nested/busybox/`, `.cache/boot/`). Memoised per process;
 * throws one clear error if an asset is neither cached nor fetchable.
 */
export function linuxAssets(
  log: (msg: string) => void = (msg) => console.error(`linux assets: ${msg}`),
): Promise<LinuxAssets> {
  pending ??= (async () => {
    const kernel = await get(
      "Debian's vmlinux (linux-image-amd64)",
      () => kernelParts(NESTED_CACHE, log),
    );
    const busybox = await get("busybox (busybox-static)", () => busyboxParts(NESTED_CACHE, log));
    const bzImage = await get("Debian's bzImage (vmlinuz)", () => realVmlinuz(log));
    return { vmlinux: kernel.vmlinux, bzImage, busybox: busybox.path, release: kernel.release };
  })();
  pending.catch(() => pending = undefined);
  return pending;
}

if (import.meta.main) {
  try {
    const assets = await linuxAssets();
    for (const [name, path] of Object.entries(assets)) console.log(`${name.padEnd(8)} ${path}`);
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    Deno.exit(1);
  }
}
