/**
 * Boots Debian's kernel with a busybox initramfs, end to end: through the `microvmm` command as
 * users run it (vmlinux via PVH and the 64-bit entry, the bzImage, a panic, a timeout) and through
 * the LinuxVm API (console input, `reboot -f`). Needs a full KVM: ignored, with the reason, on
 * the nested PVM (`kvm_pvm`) where a stock kernel cannot boot; `make test-nested` runs it.
 *
 * @module
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { DEFAULT_LINUX_CMDLINE, LinuxVm } from "../../lib/api/linux_vm.ts";
import { detectKernel } from "../../lib/arch/x86_64/boot/index.ts";
import { linuxAssets } from "./_assets.ts";
import { type ConsoleEnd, ConsoleProcess } from "./_console.ts";
import { buildTestInitramfs, INIT_MARKER, INIT_SCRIPT } from "./_initramfs.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** The command as users run it (`deno task run`'s permissions minus the unneeded write). */
const MICROVMM = ["run", "--allow-ffi", "--allow-read", "--allow-env", `${ROOT}main.ts`];
/** Every process is killed after this many seconds (a boot takes 15-45 s under TCG). */
const KILL_AFTER = 180;
/** microvmm's own `--timeout`, below the kill, so a hung guest still reports (status 124). */
const GUEST_TIMEOUT = 170;
/** The line typed on the guest's console. */
const LINE = "hello from boot_test";
/**
 * The default command line plus `quiet`, for the boots that don't test the default: each console
 * byte is a VM exit, and the ~25 KB of boot messages cost seconds under TCG.
 */
const QUIET = `${DEFAULT_LINUX_CMDLINE} quiet`;
/** Boots at once: one; under TCG two parallel boots took 3x as long each (86 s, not 29 s). */
const PARALLEL = 1;

/** Why the tests cannot run here, or undefined on a full KVM. */
function noFullKvm(): string | undefined {
  const has = (path: string) => {
    try {
      Deno.statSync(path);
      return true;
    } catch {
      return false;
    }
  };
  if (has("/sys/module/kvm_pvm")) return "kvm_pvm";
  if (!has("/dev/kvm")) return "no /dev/kvm";
  return undefined;
}

const IGNORE = noFullKvm() !== undefined;

/** Registers a test that boots Linux: ignored, saying why, without a full KVM. */
function linuxTest(name: string, fn: (t: Deno.TestContext) => Promise<void>): void {
  Deno.test({
    name: IGNORE ? `${name} (needs a full KVM: runs in make test-nested)` : name,
    ignore: IGNORE,
    fn,
  });
}

/**
 * The init scripts: the default (poweroff), one that prints whether the TSC-deadline timer is
 * there and runs `reboot -f` instead, and one that exits 3.
 */
const REBOOT_INIT = INIT_SCRIPT.replace(
  "/bin/busybox poweroff -f",
  "/bin/busybox grep -o -m1 tsc_deadline_timer /proc/cpuinfo\n/bin/busybox reboot -f",
);
const PANIC_INIT = `#!/bin/busybox sh\necho ${INIT_MARKER}\nexit 3\n`;
assert.notEqual(REBOOT_INIT, INIT_SCRIPT);

/** Runs `jobs` with at most {@link PARALLEL} at once; results in order. */
function limited<T>(jobs: (() => Promise<T>)[]): Promise<T>[] {
  let running = 0;
  const queue: (() => void)[] = [];
  return jobs.map(async (job) => {
    while (running >= PARALLEL) await new Promise<void>((go) => queue.push(go));
    running++;
    try {
      return await job();
    } finally {
      running--;
      queue.shift()?.();
    }
  });
}

/** A CLI boot: the end, and when the marker came (ms from the spawn), if it came. */
interface CliBoot {
  end: ConsoleEnd;
  markerMs?: number;
}

/** Runs microvmm with `args`; once the marker is on stdout, types `line` (if given). */
async function cliBoot(args: string[], line?: string): Promise<CliBoot> {
  const p = new ConsoleProcess(Deno.execPath(), [...MICROVMM, ...args], {
    killAfter: KILL_AFTER,
    cwd: ROOT,
  });
  let markerMs: number | undefined;
  const marker = p.waitFor(INIT_MARKER).then(async (ms) => {
    markerMs = ms;
    if (line !== undefined) await p.write(`${line}\n`);
  }, () => {});
  const end = await p.ended;
  await marker;
  return { end, markerMs };
}

/** The console output and diagnostics to show when an assertion fails. */
function context(end: ConsoleEnd): string {
  return `status ${end.code} after ${end.seconds.toFixed(1)} s; stderr:\n${end.stderr}\n` +
    `stdout (end):\n${end.stdout.slice(-2500)}`;
}

/** Logs a boot's timings (shown by `deno test`). */
function logBoot(what: string, boot: CliBoot): void {
  const marker = boot.markerMs === undefined
    ? "no marker"
    : `marker ${(boot.markerMs / 1000).toFixed(1)}s`;
  console.log(`  ${what}: ${marker}, exit ${boot.end.code} after ${boot.end.seconds.toFixed(1)}s`);
}

/** Asserts a boot that printed the marker, echoed the line, powered off: status 0, no stderr. */
function assertEchoBoot(boot: CliBoot): void {
  const { end } = boot;
  assert.ok(!end.killed, `killed after ${KILL_AFTER} s: ${context(end)}`);
  assert.ok(end.stdout.includes(INIT_MARKER), `marker: ${context(end)}`);
  assert.ok(end.stdout.includes(`echo: ${LINE}`), `echo: ${context(end)}`);
  assert.equal(end.stderr, "", context(end));
  assert.equal(end.code, 0, context(end));
}

linuxTest("linux CLI: microvmm --kernel boots Debian's kernel", async (t) => {
  const assets = await linuxAssets();
  const busybox = await Deno.readFile(assets.busybox);
  const dir = await Deno.makeTempDir({ prefix: "microvmm_linux_" });
  try {
    const initrd = `${dir}/initrd.cpio.gz`;
    const panicInitrd = `${dir}/panic.cpio.gz`;
    await Deno.writeFile(initrd, buildTestInitramfs(busybox));
    await Deno.writeFile(panicInitrd, buildTestInitramfs(busybox, PANIC_INIT));
    const common = ["--initrd", initrd, "--timeout", String(GUEST_TIMEOUT)];
    const quiet = [...common, "--cmdline", QUIET];
    const [pvh, linux64, bzImage, panic, timeout] = limited([
      () => cliBoot(["--kernel", assets.vmlinux, ...common], LINE),
      () => cliBoot(["--kernel", assets.vmlinux, "--boot", "linux64", ...quiet], LINE),
      () => cliBoot(["--kernel", assets.bzImage, ...quiet], LINE),
      () => cliBoot(["--kernel", assets.vmlinux, "--initrd", panicInitrd]),
      () => cliBoot(["--kernel", assets.vmlinux, "--initrd", initrd, "--timeout", "1"]),
    ]);
    try {
      await t.step(
        "vmlinux via PVH (--boot auto, the default command line): marker, echo of a typed line, " +
          "status 0",
        async () => {
          const boot = await pvh;
          logBoot("vmlinux PVH", boot);
          assertEchoBoot(boot);
          assert.ok(boot.end.stdout.includes(`Command line: ${DEFAULT_LINUX_CMDLINE}`));
          assert.match(boot.end.stdout, new RegExp(`kernel ${assets.release}`));
        },
      );
      await t.step(
        "vmlinux --boot linux64 (startup_64), --cmdline '... quiet': marker, echo, status 0",
        async () => {
          const boot = await linux64;
          logBoot("vmlinux linux64", boot);
          assertEchoBoot(boot);
        },
      );
      await t.step("the bzImage (64-bit entry), quiet: marker, echo, status 0", async () => {
        assert.equal(detectKernel(await Deno.readFile(assets.bzImage)), "bzimage");
        const boot = await bzImage;
        logBoot("bzImage", boot);
        assertEchoBoot(boot);
      });
      await t.step(
        "an init that exits: 'Attempted to kill init' panic, then the default panic=1 " +
          "reboots after 1 s through the i8042 (reboot=k): status 0, no crash report",
        async () => {
          const boot = await panic;
          logBoot("panic", boot);
          const { end } = boot;
          assert.ok(!end.killed, context(end));
          assert.ok(end.stdout.includes(INIT_MARKER), context(end));
          assert.ok(
            end.stdout.includes(
              "Kernel panic - not syncing: Attempted to kill init! " +
                "exitcode=0x00000300",
            ),
            context(end),
          );
          assert.ok(end.stdout.includes("Rebooting in 1 seconds.."), context(end));
          assert.equal(end.stderr, "", context(end));
          assert.equal(end.code, 0, context(end));
        },
      );
      await t.step("--timeout 1 stops a booting kernel: status 124, one stderr line", async () => {
        const boot = await timeout;
        logBoot("--timeout 1", boot);
        const { end } = boot;
        assert.equal(end.stderr, "microvmm: guest timed out after 1 s\n", context(end));
        assert.equal(end.code, 124, context(end));
        assert.ok(!end.stdout.includes(INIT_MARKER), "1 s is too short to reach /init");
      });
    } finally {
      await Promise.allSettled([pvh, linux64, bzImage, panic, timeout]);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

linuxTest(
  "linux API: LinuxVm with console input after the marker, TSC-deadline timer, then reboot -f: " +
    "stop 'reset', status 0",
  async () => {
    const assets = await linuxAssets();
    const initrd = buildTestInitramfs(await Deno.readFile(assets.busybox), REBOOT_INIT);
    const decoder = new TextDecoder();
    let output = "";
    const typed = [...new TextEncoder().encode(`${LINE}\n`)];
    let markerSeen = false;
    let askedBeforeMarker = 0;
    const t0 = performance.now();
    using vm = new LinuxVm({
      kernel: await Deno.readFile(assets.vmlinux),
      initrd,
      cmdline: QUIET,
      memory: "256M",
      output: (bytes) => {
        output += decoder.decode(bytes, { stream: true });
        markerSeen ||= output.includes(INIT_MARKER);
      },
      input: () => {
        if (!markerSeen) {
          askedBeforeMarker++;
          return null;
        }
        return typed.shift() ?? null;
      },
    });
    assert.equal(vm.protocol, "pvh");
    const timer = setTimeout(() => vm.abort(), KILL_AFTER * 1000);
    const result = await vm.run({ timeout: GUEST_TIMEOUT }).finally(() => clearTimeout(timer));
    const seconds = ((performance.now() - t0) / 1000).toFixed(1);
    console.log(`  LinuxVm: stop ${result.stop.kind}, status ${result.status} after ${seconds}s`);
    const why = `stop ${JSON.stringify(result.stop)} after ${seconds} s; console (end):\n` +
      output.slice(-2500);
    assert.ok(markerSeen, why);
    assert.ok(askedBeforeMarker > 0, "the console input was polled before the marker");
    assert.equal(typed.length, 0, "every typed byte was read");
    assert.ok(output.includes(`echo: ${LINE}`), why);
    assert.ok(output.includes("reboot: Restarting system"), why);
    assert.match(
      output,
      /^tsc_deadline_timer\r?$/m,
      `the TSC-deadline timer is advertised: ${why}`,
    );
    assert.equal(result.stop.kind, "reset", why);
    assert.equal(result.status, 0, why);
  },
);

Deno.test("linux assets: Debian's vmlinux, its bzImage and busybox are cached", async () => {
  const assets = await linuxAssets();
  const head = async (path: string) => {
    using file = await Deno.open(path);
    const bytes = new Uint8Array(4096);
    await file.read(bytes);
    return bytes;
  };
  assert.deepEqual([...(await head(assets.vmlinux)).subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46]);
  assert.deepEqual([...(await head(assets.busybox)).subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46]);
  assert.equal(detectKernel(await head(assets.bzImage)), "bzimage");
});
