/**
 * A child process the reliability tests drive with real signals and a real terminal, to test
 * lib/cli/signals.ts and lib/cli/console_input.ts where a microvmm run cannot reach them.
 *
 * Usage: `deno run --allow-all _child.ts signals` — watches the stop signals with a `stop` that
 * does not stop (a VM slow to stop), prints "ready", then one line per callback ("stop SIGINT",
 * "force"); "force" exits 130 like microvmm's second-SIGINT path. On stdin "dispose\n" it removes
 * the listeners and prints "disposed".
 *
 * `deno run --allow-all _child.ts tty <restore|twice|exit|signal>` — prints `stty -a` before
 * enterRawMode(), in raw mode, and after restoring (`restore`: restore(); `twice`: restore() two
 * times; `exit`: Deno.exit(130) without restoring, so the unload listener must; `signal`:
 * sends itself SIGTERM, whose listener restores like microvmm's finally and exits 143).
 *
 * `deno run --allow-all _child.ts wake` — arms lib/cli/input_wake.ts on stdin, prints whether
 * O_ASYNC is set, waits (10 s at most) for the kick signal a write to stdin must bring, prints
 * "kicked" or "no kick", disarms and prints whether O_ASYNC is still set.
 *
 * @module
 */

import { libc } from "../../lib/kvm/ffi.ts";
import { wakeOnInput } from "../../lib/cli/input_wake.ts";
import { STOP_SIGNALS, watchStopSignals } from "../../lib/cli/signals.ts";
import { enterRawMode } from "../../lib/cli/console_input.ts";

const encoder = new TextEncoder();
/** Prints a line with CR LF, so it reads the same whether or not the terminal is raw. */
const say = (line: string) => Deno.stdout.writeSync(encoder.encode(`${line}\r\n`));

/** `stty -a` of the terminal on stdin, on one line. */
function stty(): string {
  const out = new Deno.Command("stty", { args: ["-a"], stdin: "inherit", stdout: "piped" })
    .outputSync();
  return new TextDecoder().decode(out.stdout).replace(/\s+/g, " ").trim();
}

async function signals(): Promise<void> {
  let count = 0;
  const watcher = watchStopSignals(() => say(`stop ${watcher.received} ${++count}`), () => {
    say("force");
    Deno.exit(128 + STOP_SIGNALS.SIGINT);
  });
  say("ready");
  const keepAlive = setInterval(() => {}, 1000);
  for await (const chunk of Deno.stdin.readable) {
    if (new TextDecoder().decode(chunk).includes("dispose")) break;
  }
  watcher[Symbol.dispose]();
  say("disposed");
  await new Promise((resolve) => setTimeout(resolve, 3000));
  clearInterval(keepAlive);
  say("alive");
}

async function tty(how: string): Promise<void> {
  say(`before ${stty()}`);
  const restore = enterRawMode();
  say(`raw ${stty()}`);
  if (how === "exit") Deno.exit(130);
  if (how === "signal") {
    Deno.addSignalListener("SIGTERM", () => {
      restore();
      Deno.exit(143);
    });
    Deno.kill(Deno.pid, "SIGTERM");
    await new Promise(() => setInterval(() => {}, 1000));
  }
  restore();
  if (how === "twice") restore();
  say(`after ${stty()}`);
}

async function wake(): Promise<void> {
  const F_GETFL = 3;
  const O_ASYNC = 0o20000;
  const isAsync = () => (libc().fcntl(0, F_GETFL, 0n) & O_ASYNC) !== 0;
  let kicks = 0;
  Deno.addSignalListener("SIGUSR2", () => kicks++);
  const armed = wakeOnInput(0);
  say(`armed active=${armed.active} O_ASYNC=${isAsync()}`);
  const until = Date.now() + 10_000;
  while (kicks === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  say(kicks > 0 ? "kicked" : "no kick");
  armed[Symbol.dispose]();
  say(`disarmed O_ASYNC=${isAsync()}`);
}

if (import.meta.main) {
  if (Deno.args[0] === "signals") await signals();
  else if (Deno.args[0] === "tty") await tty(Deno.args[1]);
  else if (Deno.args[0] === "wake") await wake();
  else throw new Error(`unknown mode ${Deno.args[0]}`);
}
