/**
 * BAD_INPUT.md, the table of every bad input with its exact message and status, is what the rows
 * say: the CLI rows of tests/cli/_bad_inputs.ts (run by tests/cli/bad_input_test.ts) and the API
 * rows of _api_bad_inputs.ts (run here). `UPDATE_BAD_INPUT=1` rewrites the file from the rows.
 *
 * @module
 */

import assert from "node:assert/strict";
import { BAD_INPUTS, type BadInput } from "../cli/_bad_inputs.ts";
import { isPvmHost } from "../cli/_run.ts";
import { API_BAD_INPUTS, type ApiBadInput } from "./_api_bad_inputs.ts";
import { ROOT } from "./_proc.ts";

const TABLE = new URL("./BAD_INPUT.md", import.meta.url);
const code = (text: string) => `\`${text}\``;
const shellWord = (arg: string) => /^[\w@%+=:,./<>-]+$/.test(arg) ? arg : `'${arg}'`;

function cliRow(row: BadInput): string {
  const env = Object.entries(row.env ?? {}).map(([k, v]) => `${k}=${v} `).join("");
  const command = `${env}microvmm ${row.args.map(shellWord).join(" ")}`.trimEnd();
  let status = String(row.status);
  if (row.rootRuns !== undefined) status += " (root: runs, 0)";
  if (row.pvmOnly) status += " (kvm-pvm)";
  return `| ${row.name} | ${code(command)} | ${code(`microvmm: ${row.line}`)} | ${status} |`;
}

function apiRow(row: ApiBadInput): string {
  const note = row.pvmOnly ? " (kvm-pvm)" : "";
  return `| ${row.name} | ${code(row.call)} | ${row.error}${note} | ${code(row.message)} |`;
}

function section<T extends { group: string }>(rows: T[], head: string, row: (r: T) => string) {
  const groups = [...new Set(rows.map((r) => r.group))];
  return groups.flatMap((group) => [
    `### ${group}`,
    "",
    head,
    `|${" --- |".repeat(head.split("|").length - 2)}`,
    ...rows.filter((r) => r.group === group).map(row),
    "",
  ]);
}

/** The Markdown of BAD_INPUT.md, formatted by `deno fmt`. */
async function render(): Promise<string> {
  const text = [
    "# Bad input: every refusal, its message and its status",
    "",
    "Generated from the rows in `tests/cli/_bad_inputs.ts` (each run by " +
    "`tests/cli/bad_input_test.ts`) and the API rows in " +
    "`tests/reliability/_api_bad_inputs.ts` (run by `tests/reliability/bad_input_table_test.ts`), which fails when this file and " +
    "the rows disagree; `UPDATE_BAD_INPUT=1 deno test --allow-all " +
    "tests/reliability/bad_input_table_test.ts` rewrites it.",
    "",
    "Each CLI refusal is exactly one line on stderr, nothing on stdout, no stack trace. Status 2 " +
    "is bad usage or input, 3 an unusable KVM (README, Exit codes). `<dir>` is a scratch " +
    "directory with the files the rows name; (kvm-pvm) rows hold where KVM is kvm-pvm, and a " +
    "real KVM runs those guests.",
    "",
    "## The `microvmm` command",
    "",
    ...section(BAD_INPUTS, "| bad input | command | stderr | status |", cliRow),
    "## The module API (`Vm`)",
    "",
    ...section(API_BAD_INPUTS, "| bad input | call | throws | message |", apiRow),
  ].join("\n");
  const fmt = new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--ext=md", "-"],
    cwd: ROOT, // deno.json's fmt options (line width 100) apply, as to `deno fmt`
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const writer = fmt.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const { success, stdout } = await fmt.output();
  assert.ok(success, "deno fmt of the table");
  return new TextDecoder().decode(stdout);
}

Deno.test("BAD_INPUT.md is the table the bad-input rows make", async () => {
  const expected = await render();
  if (Deno.env.get("UPDATE_BAD_INPUT") === "1") Deno.writeTextFileSync(TABLE, expected);
  let actual = "";
  try {
    actual = Deno.readTextFileSync(TABLE);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  assert.equal(actual, expected, "run with UPDATE_BAD_INPUT=1 to regenerate BAD_INPUT.md");
});

Deno.test("every API row throws its error with its exact message", async (t) => {
  for (const row of API_BAD_INPUTS) {
    await t.step({
      name: `${row.group}: ${row.name}`,
      ignore: row.pvmOnly && !isPvmHost(),
      fn: () => assert.throws(() => row.run(), { name: row.error, message: row.message }),
    });
  }
});
