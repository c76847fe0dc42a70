/**
 * The documented flows of `mod.ts` and the Vm class run as written, with their printed results
 * asserted, and the module exports the names those flows rely on.
 *
 * @module
 */

import assert from "node:assert/strict";
import * as microvmm from "../../mod.ts";
import { Vm } from "../../mod.ts";

/** Machine code from hex byte strings. */
const code = (...hex: string[]) =>
  Uint8Array.from(hex.join(" ").split(" "), (byte) => parseInt(byte, 16));

Deno.test("mod.ts example: a host function call through a port returns status 42", () => {
  // Real mode: mov al, 20; out 0x50, al; in al, 0x50; out 0xf4, al (exit with that status)
  const guest = new Uint8Array([0xb0, 20, 0xe6, 0x50, 0xe4, 0x50, 0xe6, 0xf4]);
  using vm = new Vm({ output: () => assert.fail("this guest prints nothing") });
  let last = 0;
  const seen: number[] = [];
  vm.addPortHandler(0x50, 1, {
    write: (_o, value) => seen.push(last = value),
    read: () => last * 2 + 2,
  });
  vm.load(guest);
  const result = vm.run();
  assert.equal(result.status, 42);
  assert.deepEqual(result.stop, { kind: "exit-device", status: 42 });
  assert.deepEqual(seen, [20]);
});

Deno.test("Vm example: the classic hello guest prints Hi and halts with status 0", () => {
  const hello = [0xb0, 0x48, 0xe6, 0xf1, 0xb0, 0x69, 0xe6, 0xf1, 0xb0, 0x0a, 0xe6, 0xf1, 0xf4];
  let text = "";
  using vm = new Vm({ output: (bytes) => text += new TextDecoder().decode(bytes) });
  vm.load(new Uint8Array(hello));
  const result = vm.run();
  assert.equal(text, "Hi\n");
  assert.equal(result.stop.kind, "hlt");
  assert.equal(result.status, 0);
});

Deno.test("all console ports reach the output callback, flushed at the end of a run", () => {
  const guest = code(
    "b0 61 e6 f1", // mov al, 'a'; out 0xf1, al   (seed console)
    "b0 62 e6 e9", // mov al, 'b'; out 0xe9, al   (debugcon)
    "ba f8 03 b0 63 ee", // mov dx, 0x3f8; mov al, 'c'; out dx, al   (COM1 THR)
    "f4", // hlt
  );
  const chunks: string[] = [];
  using vm = new Vm({ output: (bytes) => chunks.push(new TextDecoder().decode(bytes)) });
  vm.load(guest);
  vm.run();
  assert.deepEqual(chunks, ["abc"], "one chunk: no newline, flushed when the run stopped");
});

Deno.test("COM1 input from the input callback reaches the uart_echo guest", () => {
  const input = [..."abc\nq"].map((c) => c.charCodeAt(0));
  let text = "";
  using vm = new Vm({
    output: (bytes) => text += new TextDecoder().decode(bytes),
    input: () => input.shift() ?? null,
  });
  vm.load(Deno.readFileSync(new URL("../../guests/uart_echo.bin", import.meta.url)));
  const result = vm.run({ timeout: 10 });
  assert.deepEqual(result.stop, { kind: "hlt" });
  assert.equal(text, "echo> abc\n");
});

Deno.test("mod.ts exports the API's values with their documented contents", () => {
  assert.deepEqual([...microvmm.CPU_MODES], ["real", "protected", "paged", "long"]);
  assert.equal(microvmm.DEFAULT_LOAD_ADDRESS, 0x1000);
  assert.equal(microvmm.DEFAULT_MEM_SIZE, 2 * 1024 * 1024);
  assert.deepEqual({ ...microvmm.PORTS }, {
    SEED_CONSOLE: 0xf1,
    DEBUGCON: 0xe9,
    EXIT: 0xf4,
    POST: 0x80,
    COM1: 0x3f8,
  });
  assert.equal(microvmm.EXIT_STATUS.TIMEOUT, 124);
  assert.equal(microvmm.statusOf({ kind: "aborted" }), 130);
  assert.equal(typeof microvmm.ExitStats, "function");
  assert.equal(new microvmm.KvmUnsupportedError("x").name, "KvmUnsupportedError");
  assert.equal(new microvmm.ConfigError("x").name, "ConfigError");
  assert.equal(
    new microvmm.KvmError("open /dev/kvm", 13).message,
    "open /dev/kvm failed: EACCES (Permission denied)",
  );
});

Deno.test("a Vm's defaults: 2 MiB of RAM, real mode, the standard devices on their ports", () => {
  using vm = new Vm({ output: () => {} });
  assert.equal(vm.memory.size, 2 * 1024 * 1024);
  assert.equal(vm.mode, "real");
  assert.equal(vm.entry, undefined);
  assert.deepEqual(
    vm.ports.entries.map((e) => `${e.name} 0x${e.base.toString(16)}+${e.length}`),
    [
      "POST port 0x80+1",
      "debugcon 0xe9+1",
      "seed console 0xf1+1",
      "exit port 0xf4+1",
      "COM1 0x3f8+8",
    ],
  );
  assert.deepEqual(vm.mmio.entries, []);
  assert.equal(vm.exits.total, 0);
});
