/**
 * What `deno run main.ts` loads before it runs: a guard for the CLI's start-up time (bench/).
 *
 * @module
 */

import assert from "node:assert/strict";
import { MAIN } from "./_run.ts";

/** A module of `deno info --json`, as far as this test reads it. */
interface InfoModule {
  specifier: string;
  dependencies?: { code?: { specifier: string } }[];
}

Deno.test("main.ts loads neither Deno's Node layer nor the Linux boot path at start-up", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", MAIN],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  const graph = JSON.parse(new TextDecoder().decode(output.stdout)) as {
    roots: string[];
    modules: InfoModule[];
  };
  const modules = new Map(graph.modules.map((module) => [module.specifier, module]));
  // Every code dependency counts, dynamic ones too: `deno run` loads and prepares the target of
  // each literal import("...") before the program starts. Type-only imports cost nothing.
  const loaded = new Set<string>();
  const queue = [...graph.roots];
  while (queue.length > 0) {
    const specifier = queue.pop()!;
    if (loaded.has(specifier)) continue;
    loaded.add(specifier);
    for (const dependency of modules.get(specifier)?.dependencies ?? []) {
      if (dependency.code) queue.push(dependency.code.specifier);
    }
  }
  const node = [...loaded].filter((specifier) => specifier.startsWith("node:"));
  assert.deepEqual(node, [], "a node: import loads Deno's Node layer (~6 ms)");
  const linux = [...loaded].filter((specifier) =>
    /\/lib\/(api\/linux_vm|cli\/linux_cli|arch\/x86_64\/boot\/)/.test(specifier)
  );
  assert.deepEqual(linux, [], "the Linux boot path is for --kernel only (see lib/cli/run_cli.ts)");
});
