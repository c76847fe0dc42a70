/**
 * The README's examples work as written: the module API example runs and prints what its
 * comment says.
 *
 * @module
 */

import assert from "node:assert/strict";

const root = new URL("..", import.meta.url);
const readme = Deno.readTextFileSync(new URL("README.md", root));

/** The fenced ```ts blocks of the README section titled `heading`. */
function tsBlocks(heading: string): string[] {
  const start = readme.indexOf(`## ${heading}\n`);
  assert.ok(start >= 0, `README has no "## ${heading}" section`);
  const end = readme.indexOf("\n## ", start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]);
}

Deno.test("README's module API example runs and prints what its comments say", async () => {
  const [example] = tsBlocks("Module API");
  assert.ok(example, "no ts example in the Module API section");
  const dir = await Deno.makeTempDir();
  const file = `${dir}/example.ts`;
  await Deno.writeTextFile(
    file,
    example.replace('"./mod.ts"', JSON.stringify(new URL("mod.ts", root).href)),
  );
  const run = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-ffi", "--allow-read", "--allow-env", file],
    stdout: "piped",
    stderr: "piped",
  }).output();
  await Deno.remove(dir, { recursive: true });
  const stdout = new TextDecoder().decode(run.stdout);
  assert.equal(new TextDecoder().decode(run.stderr), "");
  assert.equal(run.code, 0);
  const lines = stdout.split("\n");
  assert.equal(lines[0], "42 exit-device 3");
  assert.equal(lines[1], "4104n Uint8Array(2) [ 176, 20 ]");
});
