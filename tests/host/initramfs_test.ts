/**
 * Unit tests of the nested host's per-run pieces: shell quoting of the command and environment,
 * the per-run archive, the command line parser and the QEMU command line.
 * @module
 */

import { gunzipSync } from "node:zlib";
import { kernelCmdline, qemuArgs } from "./boot.ts";
import { commandScript, envScript, runArchive, shellQuote } from "./initramfs.ts";
import { parseCli } from "./nested.ts";

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

/** Runs a script with /bin/sh and returns its stdout. */
function sh(script: string): string {
  const out = new Deno.Command("sh", { args: ["-c", script], stdout: "piped" }).outputSync();
  return new TextDecoder().decode(out.stdout);
}

const tricky = ["plain", "with space", "it's", `"dq" $HOME \`x\` \\ !`, "", "a\nb", "*"];

Deno.test("initramfs: shellQuote survives a real shell", () => {
  for (const s of tricky) {
    assertEquals(sh(`printf %s ${shellQuote(s)}`), s, JSON.stringify(s));
  }
  assertEquals(shellQuote("tests/host/x.ts"), "tests/host/x.ts", "safe words stay bare");
});

Deno.test("initramfs: envScript exports values a shell reads back exactly", () => {
  const env = Object.fromEntries(tricky.map((v, i) => [`V${i}`, v]));
  const script = envScript(env) + tricky.map((_, i) => `printf '%s|' "$V${i}"\n`).join("");
  assertEquals(sh(script), tricky.map((v) => v + "|").join(""), "values");
  assertThrows(() => envScript({ "BAD-NAME": "x" }), "bad variable name");
});

Deno.test("initramfs: one argument is a script, several are a quoted command", () => {
  assertEquals(
    commandScript(["grep svm /proc/cpuinfo | head -1"]),
    "grep svm /proc/cpuinfo | head -1\n",
    "1",
  );
  assertEquals(commandScript(["printf", "%s\n", "a b"]), "printf '%s\n' 'a b'\n", "many");
  assertEquals(sh(commandScript(["printf", "[%s]", "a b", "it's"])), "[a b][it's]", "runs");
  assertThrows(() => commandScript([]), "no command");
});

Deno.test("initramfs: the per-run archive holds the command, environment and nonce", () => {
  const gz = runArchive({ script: "echo hi\n", env: { A: "1 2" }, nonce: "abc123" });
  const text = new TextDecoder().decode(gunzipSync(gz));
  for (const part of ["nested/cmd\0", "echo hi\n", "nested/env\0", "export A='1 2'\n"]) {
    assertEquals(text.includes(part), true, `contains ${JSON.stringify(part)}`);
  }
  assertEquals(text.includes("nested/nonce\0"), true, "nonce file");
  assertEquals(text.includes("TRAILER!!!"), true, "trailer");
  assertThrows(() => runArchive({ script: "x", env: {}, nonce: "a b" }), "alphanumeric");
});

Deno.test("nested: the command line parser", () => {
  const t = parseCli(["test"]);
  assertEquals([t.action, t.timeoutSeconds, t.memMiB, t.cpus], ["test", 1800, 2048, 1], "defaults");
  const r = parseCli(["run", "--timeout=30", "--mem=4096", "--quiet", "--", "ls", "--timeout=1"]);
  assertEquals([r.command, r.timeoutSeconds, r.memMiB, r.quiet], [
    ["ls", "--timeout=1"],
    30,
    4096,
    true,
  ], "run");
  assertEquals(parseCli(["run", "--", "--", "ls"]).command, ["ls"], "deno task's extra --");
  assertThrows(() => parseCli([]), "usage");
  assertThrows(() => parseCli(["run"]), "run needs -- CMD");
  assertThrows(() => parseCli(["test", "--", "ls"]), "only run takes");
  assertThrows(() => parseCli(["test", "--mem=0"]), "positive integer");
  assertThrows(() => parseCli(["test", "--bogus"]), "unknown option");
});

Deno.test("nested: QEMU boots microvm under TCG with SVM, the shared root and the TSC options", () => {
  const args = qemuArgs({
    qemu: "qemu",
    kernel: "/k",
    initrd: "/i",
    shareRoot: "/",
    memMiB: 2048,
    cpus: 2,
    timeoutSeconds: 1,
    verbose: false,
  }).join(" ");
  for (
    const part of [
      "-accel tcg -cpu EPYC-Rome,+svm -smp 2 -m 2048",
      "-M microvm,x-option-roms=off,rtc=on -nographic -no-reboot",
      "-kernel /k -initrd /i",
      "path=/,security_model=none,readonly=on",
      "virtio-9p-device,fsdev=hostroot,mount_tag=hostroot",
    ]
  ) {
    assertEquals(args.includes(part), true, part);
  }
  assertEquals(
    kernelCmdline(true),
    "console=ttyS0 panic=-1 reboot=t tsc_early_khz=2300000 tsc=reliable",
    "cmdline",
  );
  assertEquals(kernelCmdline(false).endsWith(" quiet"), true, "quiet");
});
