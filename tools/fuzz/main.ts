/**
 * `deno task fuzz`: runs seeded guest images against microvmm, in-process or through the CLI,
 * until a count or Ctrl-C, and prints a tally (`--report` for the full report).
 *
 * @module
 */

import { CPU_MODES } from "../../mod.ts";
import { type ModeChoice, runCampaign } from "./campaign.ts";

const USAGE = `Usage: deno task fuzz [options]

  --seed S          32-bit seed (default: from the clock, printed)
  --count N         images to run (default: until Ctrl-C)
  --start N         index of the first image (default 0); --start N --count 1 replays one
  --mode M          all, real, protected, paged or long (default all: image i in mode i % 4)
  --cli             run each image through 'deno run main.ts' instead of the Vm API
  --jobs J          CLI processes at once (default 2)
  --timeout T       guest timeout in seconds (default 0.05 in-process, 0.2 with --cli)
  --report          print the full report at the end
  --report-file F   also write the report as Markdown to F
  -h, --help        show this help`;

/** Parsed command line. */
interface FuzzArgs {
  seed: number;
  count?: number;
  start: number;
  mode: ModeChoice;
  cli: boolean;
  jobs: number;
  timeout?: number;
  report: boolean;
  reportFile?: string;
}

function parse(args: string[]): FuzzArgs {
  const out: FuzzArgs = {
    seed: Date.now() % 0x1_0000_0000,
    start: 0,
    mode: "all",
    cli: false,
    jobs: 2,
    report: false,
  };
  const number = (name: string, value: string | undefined, max = 2 ** 32 - 1) => {
    const n = Number(value);
    if (value === undefined || value === "" || !Number.isFinite(n) || n < 0 || n > max) {
      throw new Error(`${name}: expected a number, got ${JSON.stringify(value)}`);
    }
    return n;
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    switch (arg) {
      case "--seed":
        out.seed = Math.floor(number(arg, args[++i]));
        break;
      case "--count":
        out.count = Math.floor(number(arg, args[++i], Number.MAX_SAFE_INTEGER));
        break;
      case "--start":
        out.start = Math.floor(number(arg, args[++i], Number.MAX_SAFE_INTEGER));
        break;
      case "--mode": {
        const mode = args[++i];
        if (mode !== "all" && !(CPU_MODES as readonly string[]).includes(mode)) {
          throw new Error(`--mode: expected all, ${CPU_MODES.join(", ")}; got ${mode}`);
        }
        out.mode = mode as ModeChoice;
        break;
      }
      case "--cli":
        out.cli = true;
        break;
      case "--jobs":
        out.jobs = Math.max(1, Math.floor(number(arg, args[++i], 64)));
        break;
      case "--timeout":
        out.timeout = number(arg, args[++i], 3600);
        break;
      case "--report":
        out.report = true;
        break;
      case "--report-file":
        out.reportFile = args[++i];
        if (!out.reportFile) throw new Error("--report-file: expected a path");
        break;
      default:
        throw new Error(`unknown option ${arg}`);
    }
  }
  return out;
}

/** Runs the fuzzer with command-line `args`; returns the exit status (1 if anything failed). */
export async function main(args: string[]): Promise<number> {
  if (args.includes("-h") || args.includes("--help")) {
    console.log(USAGE);
    return 0;
  }
  let options: FuzzArgs;
  try {
    options = parse(args);
  } catch (error) {
    console.error(`fuzz: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const timeout = options.timeout ?? (options.cli ? 0.2 : 0.05);
  const stop = new AbortController();
  const onInterrupt = () => {
    if (stop.signal.aborted) Deno.exit(130);
    console.error("\nfuzz: stopping after the current image (Ctrl-C again to quit at once)");
    stop.abort();
  };
  Deno.addSignalListener("SIGINT", onInterrupt);
  const what = options.count === undefined ? "until Ctrl-C" : `${options.count} images`;
  console.error(
    `fuzz: seed ${options.seed}, ${what} from index ${options.start}, mode ${options.mode}, ` +
      `${options.cli ? "CLI" : "in-process"}, timeout ${timeout} s`,
  );
  try {
    const tally = await runCampaign({
      seed: options.seed,
      start: options.start,
      count: options.count,
      mode: options.mode,
      cli: options.cli,
      jobs: options.jobs,
      timeout,
      signal: stop.signal,
      onImage: (_outcome, t) => {
        if (t.images % 500 === 0) {
          console.error(`fuzz: ${t.images} images, ${t.crashes} crashes, ${t.hangs} hangs`);
        }
      },
    });
    if (options.report) console.log(tally.format());
    else {
      console.log(
        `fuzz: ${tally.images} images, crashes ${tally.crashes}, hangs ${tally.hangs}, ` +
          `max overrun ${(tally.maxOverrun * 1000).toFixed(1)} ms (seed ${options.seed})`,
      );
    }
    if (options.reportFile) {
      const shown = args.filter((_, i) =>
        args[i] !== "--report-file" && args[i - 1] !== "--report-file"
      );
      const command = `deno task fuzz ${shown.join(" ")}`;
      Deno.writeTextFileSync(options.reportFile, tally.markdown(command));
    }
    return tally.failures.length === 0 ? 0 : 1;
  } finally {
    Deno.removeSignalListener("SIGINT", onInterrupt);
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
