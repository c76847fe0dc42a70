/**
 * Kernel pieces for the nested test host: the ELF vmlinux inside Debian's vmlinuz and the load
 * order of kernel modules from their `depends=` modinfo.
 * @module
 */

/** The xz stream magic: `fd 37 7a 58 5a 00`. */
export const XZ_MAGIC: Uint8Array = new Uint8Array([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
/** The ELF magic: `7f 45 4c 46`. */
export const ELF_MAGIC: Uint8Array = new Uint8Array([0x7f, 0x45, 0x4c, 0x46]);

/** Offset of the first occurrence of `needle` in `hay` at or after `from`, or -1. */
export function indexOf(hay: Uint8Array, needle: Uint8Array, from = 0): number {
  if (needle.length === 0) return from;
  const first = needle[0];
  for (let i = hay.indexOf(first, from); i !== -1; i = hay.indexOf(first, i + 1)) {
    if (i + needle.length > hay.length) return -1;
    let j = 1;
    while (j < needle.length && hay[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
  }
  return -1;
}

/** Whether `bytes` starts with `magic`. */
export function startsWith(bytes: Uint8Array, magic: Uint8Array): boolean {
  return bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);
}

/** Offset of the xz-compressed payload in a bzImage (`vmlinuz`); throws if there is none. */
export function findXzPayload(vmlinuz: Uint8Array): number {
  const at = indexOf(vmlinuz, XZ_MAGIC);
  if (at < 0) throw new Error("kernel: no xz payload (fd 37 7a 58 5a 00) in vmlinuz");
  return at;
}

/**
 * Decompresses the xz payload of a bzImage with `xz -dc --single-stream` (which ignores the
 * trailing bytes after the stream) and checks that the result is an ELF file.
 */
export async function extractVmlinux(vmlinuz: Uint8Array): Promise<Uint8Array> {
  const payload = vmlinuz.subarray(findXzPayload(vmlinuz));
  const out = await pipeThrough("xz", ["-dc", "--single-stream"], payload);
  if (!startsWith(out, ELF_MAGIC)) throw new Error("kernel: the xz payload of vmlinuz is not ELF");
  return out;
}

/** Reads a module file, decompressing `.ko.xz`, `.ko.zst` and `.ko.gz` with their tools. */
export async function readModule(path: string): Promise<Uint8Array> {
  const unpack: Record<string, string | undefined> = {
    ".ko": undefined,
    ".xz": "xz",
    ".zst": "zstd",
    ".gz": "gzip",
  };
  const ext = path.match(/\.ko(\.xz|\.zst|\.gz)?$/);
  if (!ext) throw new Error(`kernel: unknown module file type: ${path}`);
  const bytes = await Deno.readFile(path);
  const tool = unpack[ext[1] ?? ".ko"];
  return tool === undefined ? bytes : await pipeThrough(tool, ["-dc"], bytes);
}

/** Runs `cmd args` with `input` on stdin and returns its stdout; throws on a non-zero exit. */
export async function pipeThrough(
  cmd: string,
  args: string[],
  input: Uint8Array,
): Promise<Uint8Array> {
  const child = new Deno.Command(cmd, { args, stdin: "piped", stdout: "piped", stderr: "piped" })
    .spawn();
  const writer = child.stdin.getWriter();
  const written = writer.write(input).then(() => writer.close()).catch(() => {});
  const out = await child.output();
  await written;
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n")[0];
    throw new Error(`${cmd} ${args.join(" ")} failed (exit ${out.code}): ${err}`);
  }
  return out.stdout;
}

/** Module name of a module file: basename without `.ko[.xz|.zst|.gz]`, `-` turned into `_`. */
export function moduleName(path: string): string {
  const base = path.slice(path.lastIndexOf("/") + 1);
  return base.replace(/\.ko(\.(xz|zst|gz))?$/, "").replaceAll("-", "_");
}

/** The module names of the `depends=` modinfo string of an (uncompressed) module. */
export function parseDepends(ko: Uint8Array): string[] {
  const key = new TextEncoder().encode("depends=");
  for (let at = indexOf(ko, key); at >= 0; at = indexOf(ko, key, at + 1)) {
    // modinfo strings are NUL-separated: the key must start a string.
    if (at > 0 && ko[at - 1] !== 0) continue;
    const start = at + key.length;
    const end = ko.indexOf(0, start);
    const value = new TextDecoder().decode(ko.subarray(start, end < 0 ? ko.length : end));
    return value.split(",").map((s) => s.trim().replaceAll("-", "_")).filter((s) => s !== "");
  }
  return [];
}

/**
 * Load order for `roots` and their dependencies: each module after all it depends on, roots in
 * the given order. `depsOf` returns a module's dependencies; it throws for an unknown module.
 */
export function loadOrder(roots: string[], depsOf: (name: string) => string[]): string[] {
  const order: string[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (name: string, chain: string[]): void => {
    const s = state.get(name);
    if (s === "done") return;
    if (s === "visiting") {
      throw new Error(`kernel: module dependency cycle: ${[...chain, name].join(" -> ")}`);
    }
    state.set(name, "visiting");
    for (const dep of depsOf(name)) visit(dep, [...chain, name]);
    state.set(name, "done");
    order.push(name);
  };
  for (const r of roots) visit(r.replaceAll("-", "_"), []);
  return order;
}
