/**
 * Unit tests of the nested host's console reading: result and stage lines, panics, line
 * splitting and the verdict that becomes the exit status.
 * @module
 */

import {
  ConsoleWatch,
  EXIT_HOST_FAILURE,
  EXIT_TIMEOUT,
  isPanicLine,
  LineSplitter,
  parseResultLine,
  parseStageLine,
  verdict,
} from "./result.ts";

function assertEquals<T>(actual: T, expected: T, what: string): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

Deno.test("result: a result line with the right nonce parses", () => {
  assertEquals(parseResultLine("NESTED-RESULT nonce=ab12 status=0", "ab12"), { status: 0 }, "ok");
  assertEquals(parseResultLine("NESTED-RESULT nonce=ab12 status=3\r", "ab12"), { status: 3 }, "cr");
  assertEquals(
    parseResultLine("[   3.1] x NESTED-RESULT nonce=ab12 status=125 reason=no_/dev/kvm", "ab12"),
    { status: 125, reason: "no_/dev/kvm" },
    "reason and console noise",
  );
});

Deno.test("result: other nonces, bad statuses and near misses are not result lines", () => {
  for (
    const line of [
      "NESTED-RESULT nonce=other status=0",
      "NESTED-RESULT nonce=ab12 status=256",
      "NESTED-RESULT nonce=ab12 status=-1",
      "NESTED-RESULT nonce=ab12 status=0 trailing words",
      "NESTED-RESULT status=0",
      "echo NESTED-RESULT nonce=ab12",
      "",
    ]
  ) {
    assertEquals(parseResultLine(line, "ab12"), undefined, JSON.stringify(line));
  }
});

Deno.test("result: stage lines parse", () => {
  assertEquals(parseStageLine("NESTED-STAGE mounted uptime=3.47"), {
    stage: "mounted",
    uptime: 3.47,
  }, "stage");
  assertEquals(parseStageLine("NESTED-STAGE mounted"), undefined, "no uptime");
});

Deno.test("result: panics are recognised, look-alikes in command output are not", () => {
  assertEquals(
    isPanicLine("[    2.1] Kernel panic - not syncing: VFS: Unable to mount"),
    true,
    "p",
  );
  assertEquals(isPanicLine("Kernel panic - not syncing: Attempted to kill init!"), true, "bare");
  assertEquals(isPanicLine("[   12.345678] BUG: kernel NULL pointer dereference"), true, "bug");
  assertEquals(isPanicLine("[   12.345678] Oops: 0000 [#1] PREEMPT SMP NOPTI"), true, "oops");
  assertEquals(isPanicLine("test: Oops: expected 1, got 2"), false, "test output");
  assertEquals(isPanicLine("guest raised general protection fault"), false, "guest output");
});

Deno.test("result: LineSplitter joins chunks, drops CR of CRLF, keeps split UTF-8 intact", () => {
  const s = new LineSplitter();
  const enc = new TextEncoder();
  const bytes = enc.encode("one\r\ntw€o\r\nthr");
  const cut = bytes.indexOf(0xe2) + 1; // inside the euro sign
  assertEquals(s.push(bytes.subarray(0, cut)), ["one"], "first chunk");
  assertEquals(s.push(bytes.subarray(cut)), ["tw€o"], "second chunk");
  assertEquals(s.push(enc.encode("ee\n")), ["three"], "third chunk");
  assertEquals(s.flush(), [], "nothing left");
  s.push(enc.encode("tail"));
  assertEquals(s.flush(), ["tail"], "unterminated last line");
  assertEquals(s.push(enc.encode("a ...\ra ... ok\r\n")), ["a ...\ra ... ok"], "inner CR kept");
});

Deno.test("result: ConsoleWatch records stages, the first result and the first panic", () => {
  const w = new ConsoleWatch("n1", 3);
  w.line("NESTED-STAGE init uptime=1.0", 100);
  w.line("NESTED-RESULT nonce=fake status=0", 150);
  w.line("NESTED-RESULT nonce=n1 status=4", 200);
  w.line("NESTED-RESULT nonce=n1 status=0", 300);
  assertEquals(w.result, { status: 4 }, "first result wins");
  assertEquals([...w.stages], [["init", 100]], "stages");
  assertEquals(w.tail().length, 3, "tail is bounded");
  assertEquals(w.panic, undefined, "no panic");
  w.line("Kernel panic - not syncing: x");
  assertEquals(w.panic, "Kernel panic - not syncing: x", "panic");
});

function end(lines: string[], timedOut = false, killed = false) {
  const qemuCode = killed ? undefined : 0;
  const watch = new ConsoleWatch("n1");
  lines.forEach((l) => watch.line(l));
  return verdict({ watch, timedOut, qemuCode, timeoutSeconds: 60 });
}

Deno.test("result: only a clean result line with status 0 passes", () => {
  assertEquals(end(["NESTED-RESULT nonce=n1 status=0"]).ok, true, "pass");
  assertEquals(end(["NESTED-RESULT nonce=n1 status=0"]).code, 0, "pass code");
  assertEquals(end(["NESTED-RESULT nonce=n1 status=2"]).code, 2, "command status");
  assertEquals(end(["NESTED-RESULT nonce=x status=0"]).code, EXIT_HOST_FAILURE, "wrong nonce");
  assertEquals(end([]).code, EXIT_HOST_FAILURE, "no result line");
  assertEquals(end([], false, true).message, "no result line (QEMU was killed)", "killed");
  const init = end(["NESTED-RESULT nonce=n1 status=125 reason=no_/dev/kvm"]);
  assertEquals(
    [init.code, init.message],
    [EXIT_HOST_FAILURE, "host init failed: no_/dev/kvm"],
    "i",
  );
});

Deno.test("result: panics and timeouts fail even after a passing result line", () => {
  const panic = end(["NESTED-RESULT nonce=n1 status=0", "Kernel panic - not syncing: x"]);
  assertEquals([panic.ok, panic.code], [false, EXIT_HOST_FAILURE], "panic");
  const boot = end(["NESTED-STAGE init uptime=1"], true, true);
  assertEquals([boot.code, boot.message], [EXIT_TIMEOUT, "timed out after 60s while booting"], "b");
  const cmd = end(["NESTED-STAGE mounted uptime=1"], true, true);
  assertEquals(cmd.message, "timed out after 60s while running the command", "command timeout");
});
