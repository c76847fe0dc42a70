/**
 * The Linux console's input wake-up (lib/cli/input_wake.ts), in a child whose stdin is a pipe:
 * armed, a write to the pipe signals the thread, and disarming puts the fd's flags back.
 *
 * @module
 */

import assert from "node:assert/strict";

const CHILD = new URL("../reliability/_child.ts", import.meta.url).pathname;

Deno.test("wakeOnInput: a write to stdin kicks the vCPU thread; dispose restores the fd", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", CHILD, "wake"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const decoder = new TextDecoder();
  const reader = child.stdout.getReader();
  let text = "";
  const nextLine = async (): Promise<string> => {
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    const at = text.indexOf("\n");
    const line = (at < 0 ? text : text.slice(0, at)).replace(/\r$/, "");
    text = at < 0 ? "" : text.slice(at + 1);
    lines.push(line);
    return line;
  };
  assert.equal(await nextLine(), "armed active=true O_ASYNC=true");
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode("x"));
  assert.equal(await nextLine(), "kicked", "the write signalled the thread");
  assert.equal(await nextLine(), "disarmed O_ASYNC=false", "the fd's flags are back");
  await writer.close();
  reader.releaseLock();
  await child.stdout.cancel();
  const status = await child.status;
  const stderr = decoder.decode((await new Response(child.stderr).arrayBuffer()) as ArrayBuffer);
  assert.equal(status.code, 0, stderr);
});
