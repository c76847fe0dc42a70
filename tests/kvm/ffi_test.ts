/**
 * Tests of how libc is bound: by groups on first use, or all at once for a Linux boot. Each case
 * runs in a new Deno process, since the bindings are per process and this one has bound them.
 * @module
 */

import assert from "node:assert/strict";

/** Runs `code` (which imports lib/kvm/ffi.ts as `ffi`) in a new process; returns its stdout. */
async function inNewProcess(code: string): Promise<string> {
  const ffiUrl = new URL("../../lib/kvm/ffi.ts", import.meta.url).href;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", `import * as ffi from "${ffiUrl}";\n${code}`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).trim();
}

/** Prints, for a few symbols of each group, whether it is bound yet (a plain property). */
const REPORT = `const all = ffi.libc();
console.log(["ioctl", "timer_create", "poll", "strerror"].map((name) => {
  const d = Object.getOwnPropertyDescriptor(all, name);
  return name + ":" + (d?.get ? "lazy" : typeof d?.value);
}).join(" "));`;

Deno.test("libc binding", async (t) => {
  await t.step("by default only the core group is bound; the others on first use", async () => {
    assert.equal(
      await inNewProcess(REPORT),
      "ioctl:function timer_create:lazy poll:lazy strerror:lazy",
    );
  });

  await t.step("bindAllLibc binds every group at once", async () => {
    assert.equal(
      await inNewProcess(`ffi.bindAllLibc();\n${REPORT}`),
      "ioctl:function timer_create:function poll:function strerror:function",
    );
  });

  await t.step(
    "after the core is bound, bindAllLibc changes nothing and lazy groups still bind",
    async () => {
      assert.equal(
        await inNewProcess(
          `ffi.libc();\nffi.bindAllLibc();\n${REPORT}\nconsole.log(typeof ffi.libc().poll);`,
        ),
        "ioctl:function timer_create:lazy poll:lazy strerror:lazy\nfunction",
      );
    },
  );
});
