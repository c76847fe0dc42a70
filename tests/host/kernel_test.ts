/**
 * Unit tests of the nested host's kernel pieces: finding and unpacking the xz payload of a
 * vmlinuz, and module dependencies and load order.
 * @module
 */

import {
  extractVmlinux,
  findXzPayload,
  indexOf,
  loadOrder,
  moduleName,
  parseDepends,
  pipeThrough,
  readModule,
} from "./kernel.ts";

function assertEquals<T>(actual: T, expected: T, what: string): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

function assertThrows(fn: () => unknown, includes: string): void {
  try {
    fn();
  } catch (e) {
    if (String(e).includes(includes)) return;
    throw new Error(`expected an error with "${includes}", got ${e}`);
  }
  throw new Error(`expected an error with "${includes}"`);
}

const hasXz = new Deno.Command("sh", { args: ["-c", "command -v xz"] }).outputSync().success;

Deno.test("kernel: indexOf finds byte strings, including overlapping prefixes", () => {
  const hay = new Uint8Array([1, 2, 1, 2, 1, 2, 3]);
  assertEquals(indexOf(hay, new Uint8Array([1, 2, 3])), 4, "overlap");
  assertEquals(indexOf(hay, new Uint8Array([2, 3, 4])), -1, "past the end");
  assertEquals(indexOf(hay, new Uint8Array([1, 2]), 1), 2, "from");
});

Deno.test("kernel: findXzPayload finds the xz magic or says it is missing", () => {
  const bz = new Uint8Array(64);
  bz.set([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x01], 10); // a near miss: no trailing 0
  bz.set([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], 40);
  assertEquals(findXzPayload(bz), 40, "offset");
  assertThrows(() => findXzPayload(new Uint8Array(64)), "no xz payload");
});

Deno.test({
  name: "kernel: extractVmlinux unpacks an xz ELF between a header and trailing garbage",
  ignore: !hasXz,
  async fn() {
    const elf = new Uint8Array(5000).map((_, i) => (i * 7) & 0xff);
    elf.set([0x7f, 0x45, 0x4c, 0x46], 0);
    const xz = await pipeThrough("xz", ["-c", "--check=crc32"], elf);
    const bz = new Uint8Array(300 + xz.length + 64).fill(0xaa);
    bz.set(xz, 300);
    assertEquals(Array.from(await extractVmlinux(bz)), Array.from(elf), "vmlinux");

    const notElf = await pipeThrough("xz", ["-c"], new Uint8Array(100));
    let error = "";
    await extractVmlinux(notElf).catch((e) => error = String(e));
    assertEquals(error.includes("is not ELF"), true, "non-ELF payload is rejected");
  },
});

Deno.test("kernel: module names come from file names", () => {
  assertEquals(moduleName("arch/x86/kvm/kvm-amd.ko"), "kvm_amd", "dash");
  assertEquals(moduleName("/x/irqbypass.ko.xz"), "irqbypass", "xz");
  assertEquals(moduleName("9pnet_virtio.ko.zst"), "9pnet_virtio", "zst");
});

Deno.test("kernel: parseDepends reads the modinfo depends= string", () => {
  const enc = new TextEncoder();
  const ko = enc.encode("\x7fELF junk xdepends=fake\0license=GPL\0depends=kvm,ccp\0vermagic=6.1\0");
  assertEquals(parseDepends(ko), ["kvm", "ccp"], "depends");
  assertEquals(parseDepends(enc.encode("\0depends=\0name=ccp\0")), [], "none");
  assertEquals(parseDepends(enc.encode("\0name=x\0")), [], "missing");
  assertEquals(parseDepends(enc.encode("\0depends=kvm-amd\0")), ["kvm_amd"], "dashes");
});

Deno.test("kernel: loadOrder puts dependencies first and keeps the roots' order", () => {
  const deps: Record<string, string[]> = {
    irqbypass: [],
    ccp: [],
    kvm: ["irqbypass"],
    kvm_amd: ["kvm", "ccp"],
    virtio_ring: [],
    virtio: ["virtio_ring"],
    virtio_mmio: ["virtio", "virtio_ring"],
    "9pnet": [],
    "9pnet_virtio": ["virtio", "9pnet", "virtio_ring"],
  };
  const depsOf = (n: string): string[] => {
    const d = deps[n];
    if (!d) throw new Error(`unknown module ${n}`);
    return d;
  };
  assertEquals(
    loadOrder(["irqbypass", "ccp", "kvm", "kvm-amd", "virtio_mmio", "9pnet_virtio"], depsOf),
    [
      "irqbypass",
      "ccp",
      "kvm",
      "kvm_amd",
      "virtio_ring",
      "virtio",
      "virtio_mmio",
      "9pnet",
      "9pnet_virtio",
    ],
    "order",
  );
  assertEquals(loadOrder(["kvm_amd"], depsOf), ["irqbypass", "kvm", "ccp", "kvm_amd"], "deps");
  assertThrows(() => loadOrder(["nope"], depsOf), "unknown module nope");
  assertThrows(() => loadOrder(["a"], (n) => (n === "a" ? ["b"] : ["a"])), "cycle: a -> b -> a");
});

Deno.test({
  name: "kernel: readModule unpacks .ko.xz and passes .ko through",
  ignore: !hasXz,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const ko = new TextEncoder().encode("\x7fELF\0depends=kvm\0");
      await Deno.writeFile(`${dir}/a.ko`, ko);
      await Deno.writeFile(`${dir}/b.ko.xz`, await pipeThrough("xz", ["-c"], ko));
      assertEquals(Array.from(await readModule(`${dir}/a.ko`)), Array.from(ko), "plain");
      assertEquals(Array.from(await readModule(`${dir}/b.ko.xz`)), Array.from(ko), "xz");
      let error = "";
      await readModule(`${dir}/c.bin`).catch((e) => error = String(e));
      assertEquals(error.includes("unknown module file type"), true, "other files are refused");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
