/**
 * The committed flat guests in guests/ are what their sources say: every guests/NAME.S is
 * rebuilt with the rules in guests/guests.mk (the one definition of the build) into a temporary
 * directory and must equal the committed guests/NAME.bin byte for byte. The build needs
 * binutils (`as`, `ld`, `objcopy`) and `make`; when one is missing the test fails and names it.
 *
 * @module
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));
const GUESTS_DIR = `${REPO_ROOT}guests`;

/** The seed's hello guest: "Hello\n" to port 0xf1, then HLT. */
const SEED_HELLO = [
  0xb0,
  0x48,
  0xe6,
  0xf1,
  0xb0,
  0x65,
  0xe6,
  0xf1,
  0xb0,
  0x6c,
  0xe6,
  0xf1,
  0xb0,
  0x6c,
  0xe6,
  0xf1,
  0xb0,
  0x6f,
  0xe6,
  0xf1,
  0xb0,
  0x0a,
  0xe6,
  0xf1,
  0xf4,
];

/** Tools the guest build runs. */
const BUILD_TOOLS = ["make", "as", "ld", "objcopy"];

/** Names (without extension) of the files in guests/ ending in `ext`, sorted. */
function guestNames(dir: string, ext: string): string[] {
  const names: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    if (entry.isFile && entry.name.endsWith(ext)) names.push(entry.name.slice(0, -ext.length));
  }
  return names.sort();
}

/** True when `tool --version` can be started (the tool is on PATH). */
async function hasTool(tool: string): Promise<boolean> {
  try {
    await new Deno.Command(tool, { args: ["--version"], stdout: "null", stderr: "null" })
      .output();
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/** The environment minus the variables a parent make passes down (jobserver, flags). */
function cleanEnv(): Record<string, string> {
  const env = Deno.env.toObject();
  for (const name of ["MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEFILES", "GUEST_OUT"]) {
    delete env[name];
  }
  return env;
}

Deno.test("guests", async (t) => {
  await t.step("hello.bin is the seed's 25-byte hello guest", () => {
    const bytes = Deno.readFileSync(`${GUESTS_DIR}/hello.bin`);
    assert.deepEqual([...bytes], SEED_HELLO);
  });

  await t.step("every guest source has a committed binary and vice versa", () => {
    const sources = guestNames(GUESTS_DIR, ".S");
    assert.ok(sources.length > 0, "no guests/*.S found");
    assert.deepEqual(guestNames(GUESTS_DIR, ".bin"), sources);
  });

  await t.step("committed binaries equal a fresh build from guests/guests.mk", async () => {
    const missing: string[] = [];
    for (const tool of BUILD_TOOLS) {
      if (!(await hasTool(tool))) missing.push(tool);
    }
    if (missing.length > 0) {
      assert.fail(
        `cannot rebuild the guests: ${missing.join(", ")} not found on PATH ` +
          `(install make and binutils, e.g. apt-get install make binutils)`,
      );
    }

    const out = await Deno.makeTempDir({ prefix: "microvmm-guests-" });
    try {
      const result = await new Deno.Command("make", {
        args: ["-s", "-f", "guests/guests.mk", "guests", `GUEST_OUT=${out}`],
        cwd: REPO_ROOT,
        env: cleanEnv(),
        clearEnv: true,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const decoder = new TextDecoder();
      assert.equal(
        result.code,
        0,
        `make -f guests/guests.mk guests failed:\n${decoder.decode(result.stdout)}` +
          decoder.decode(result.stderr),
      );

      const sources = guestNames(GUESTS_DIR, ".S");
      assert.deepEqual(
        guestNames(out, ".bin"),
        sources,
        "the build made a different set of guests",
      );
      const stale: string[] = [];
      for (const name of sources) {
        const fresh = Deno.readFileSync(`${out}/${name}.bin`);
        const committed = Deno.readFileSync(`${GUESTS_DIR}/${name}.bin`);
        assert.ok(fresh.length > 0, `${name}.bin built empty`);
        if (!equalBytes(fresh, committed)) {
          stale.push(`${name}.bin (committed ${committed.length} bytes, built ${fresh.length})`);
        }
      }
      assert.deepEqual(stale, [], "committed guests differ from their sources; run `make guests`");
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  });
});

/** Byte-for-byte equality of two arrays. */
function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
