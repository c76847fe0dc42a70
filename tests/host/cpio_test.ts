/**
 * Unit tests of the newc cpio writer: byte layout, padding, entry kinds and gzip round trip.
 * @module
 */

import { gunzipSync } from "node:zlib";
import { CpioWriter, gzip, normalizeName, S_IFCHR, S_IFDIR, S_IFLNK, S_IFREG } from "./cpio.ts";

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

function assertEquals<T>(actual: T, expected: T, what: string): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

interface Parsed {
  name: string;
  mode: number;
  nlink: number;
  rmaj: number;
  rmin: number;
  data: string;
  offset: number;
}

/** A minimal independent newc reader, to check what the writer wrote. */
function parse(bytes: Uint8Array): Parsed[] {
  const text = new TextDecoder("latin1");
  const out: Parsed[] = [];
  let at = 0;
  for (;;) {
    assert(at % 4 === 0, `entry at ${at} is not 4-aligned`);
    const head = text.decode(bytes.subarray(at, at + 110));
    assertEquals(head.slice(0, 6), "070701", "magic");
    const field = (i: number) => parseInt(head.slice(6 + 8 * i, 14 + 8 * i), 16);
    const nameSize = field(11);
    const fileSize = field(6);
    const name = text.decode(bytes.subarray(at + 110, at + 110 + nameSize - 1));
    assertEquals(bytes[at + 110 + nameSize - 1], 0, "name NUL");
    const dataAt = Math.ceil((at + 110 + nameSize) / 4) * 4;
    const data = text.decode(bytes.subarray(dataAt, dataAt + fileSize));
    out.push({
      name,
      mode: field(1),
      nlink: field(4),
      rmaj: field(9),
      rmin: field(10),
      data,
      offset: at,
    });
    at = Math.ceil((dataAt + fileSize) / 4) * 4;
    if (name === "TRAILER!!!") break;
  }
  assertEquals(at, bytes.length, "archive length");
  return out;
}

Deno.test("cpio: entries of every kind round-trip through an independent reader", () => {
  const w = new CpioWriter();
  w.chardev("dev/console", 5, 1);
  w.file("bin/busybox", "abcde", 0o755);
  w.symlink("bin/sh", "busybox");
  w.file("/init", "#!/bin/sh\n", 0o755);
  const entries = parse(w.finish());
  assertEquals(entries.map((e) => e.name), [
    "dev",
    "dev/console",
    "bin",
    "bin/busybox",
    "bin/sh",
    "init",
    "TRAILER!!!",
  ], "names");
  const byName = new Map(entries.map((e) => [e.name, e]));
  assertEquals(byName.get("dev")!.mode, S_IFDIR | 0o755, "dir mode");
  assertEquals(byName.get("dev")!.nlink, 2, "dir nlink");
  const con = byName.get("dev/console")!;
  assertEquals([con.mode, con.rmaj, con.rmin], [S_IFCHR | 0o600, 5, 1], "console");
  assertEquals(byName.get("bin/busybox")!.mode, S_IFREG | 0o755, "file mode");
  assertEquals(byName.get("bin/busybox")!.data, "abcde", "file data");
  assertEquals(byName.get("bin/sh")!.mode, S_IFLNK | 0o777, "link mode");
  assertEquals(byName.get("bin/sh")!.data, "busybox", "link target");
});

Deno.test("cpio: names and data of every length mod 4 stay aligned", () => {
  const w = new CpioWriter();
  for (let n = 1; n <= 8; n++) w.file("f".repeat(n), "x".repeat(n));
  const entries = parse(w.finish());
  for (let n = 1; n <= 8; n++) assertEquals(entries[n - 1].data, "x".repeat(n), `data ${n}`);
});

Deno.test("cpio: the first header is byte-exact", () => {
  const w = new CpioWriter();
  w.add({ name: "a", mode: S_IFREG | 0o644, data: new TextEncoder().encode("hi"), mtime: 16 });
  const head = new TextDecoder().decode(w.finish().subarray(0, 116));
  assertEquals(
    head,
    "070701" + "00000001" + "000081a4" + "00000000" + "00000000" + "00000001" + "00000010" +
      "00000002" + "00000000" + "00000000" + "00000000" + "00000000" + "00000002" + "00000000" +
      "a\0" + "hi\0\0",
    "header",
  );
});

Deno.test("cpio: duplicates, empty and escaping paths are rejected", () => {
  const w = new CpioWriter();
  w.file("a", "1");
  let threw = false;
  try {
    w.file("./a", "2");
  } catch (e) {
    threw = String(e).includes("duplicate");
  }
  assert(threw, "duplicate path must throw");
  for (const bad of ["", "/", "../x", "a/../../b"]) {
    let ok = false;
    try {
      normalizeName(bad);
    } catch {
      ok = true;
    }
    assert(ok, `path "${bad}" must be rejected`);
  }
  assertEquals(normalizeName("/./x//y/"), "x/y", "normalised");
});

Deno.test("cpio: dir() is idempotent and dirs() creates parents once", () => {
  const w = new CpioWriter();
  w.dirs("a/b/c").dirs("a/b/d").dir("a");
  const names = parse(w.finish()).map((e) => e.name);
  assertEquals(names, ["a", "a/b", "a/b/c", "a/b/d", "TRAILER!!!"], "names");
});

Deno.test("cpio: gzip output is a gzip stream of the archive", () => {
  const w = new CpioWriter();
  w.file("x", "y".repeat(1000));
  const raw = w.finish();
  const gz = gzip(raw);
  assertEquals([gz[0], gz[1]], [0x1f, 0x8b], "gzip magic");
  assert(gz.length < raw.length, "compressed");
  assertEquals(new Uint8Array(gunzipSync(gz)).join(","), raw.join(","), "round trip");
});
