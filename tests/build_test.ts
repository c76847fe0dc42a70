/**
 * `make build` yields a working ./microvmm: the deno compile binary where its runtime can be
 * downloaded, else the launcher script; either runs the hello guest from any directory.
 *
 * @module
 */

import assert from "node:assert/strict";

const root = new URL("..", import.meta.url).pathname;

Deno.test("make build produces a ./microvmm that runs the hello guest from any directory", async (t) => {
  const out = await Deno.makeTempDir();
  const binary = `${out}/microvmm`;
  const build = await new Deno.Command("bash", {
    args: [`${root}scripts/build.sh`, Deno.execPath(), binary],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const said = new TextDecoder().decode(build.stdout);
  const complained = new TextDecoder().decode(build.stderr);
  assert.equal(build.code, 0, `build failed:\n${said}${complained}`);
  const header = Deno.readFileSync(binary).subarray(0, 4);
  const isElf = header[0] === 0x7f && header[1] === 0x45 && header[2] === 0x4c &&
    header[3] === 0x46;

  await t.step("the build says which kind it wrote, and it is that kind", () => {
    if (isElf) {
      assert.match(said, /standalone executable \(deno compile\)/);
    } else {
      // Offline (as on the CI machines): deno compile cannot download denort.
      assert.match(said, /launcher script/);
      assert.match(complained, /deno compile needs its runtime \(denort\)/);
      assert.equal(new TextDecoder().decode(header.subarray(0, 2)), "#!");
    }
  });

  await t.step("it prints Hello and exits 0 from another directory", async () => {
    const run = await new Deno.Command(binary, { cwd: out, stdout: "piped", stderr: "piped" })
      .output();
    assert.equal(new TextDecoder().decode(run.stdout), "Hello\n");
    assert.equal(new TextDecoder().decode(run.stderr), "");
    assert.equal(run.code, 0);
  });

  await t.step("--version names the kind of build", async () => {
    const run = await new Deno.Command(binary, { args: ["--version"], stdout: "piped" }).output();
    const kind = isElf ? "standalone binary" : "launcher";
    assert.match(
      new TextDecoder().decode(run.stdout),
      new RegExp(`^microvmm \\S+ \\(${kind}, deno `),
    );
  });

  await Deno.remove(out, { recursive: true });
});
