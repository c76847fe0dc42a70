/**
 * A fuzz campaign: generate images for a seed, run them in-process or through the CLI, tally the
 * outcomes and save every failing image; used by `tools/fuzz/main.ts` and the test suite.
 *
 * @module
 */

import { CPU_MODES, type CpuMode } from "../../mod.ts";
import { type FuzzImage, generateImage } from "./generator.ts";
import { saveFailure, Tally } from "./report.ts";
import {
  isPvmHost,
  MARGIN,
  type Margins,
  type Outcome,
  runInProcess,
  runThroughCli,
} from "./runner.ts";
import { Watchdog } from "./watchdog.ts";

/** Which modes a campaign cycles through. */
export type ModeChoice = CpuMode | "all";

/** How to run a campaign. */
export interface CampaignOptions {
  /** The seed (a 32-bit unsigned integer). */
  seed: number;
  /** The first image index (default 0). */
  start?: number;
  /** How many images; undefined: until {@link CampaignOptions.signal} aborts. */
  count?: number;
  /** One mode, or "all": image i runs in CPU_MODES[i % 4]. */
  mode?: ModeChoice;
  /** Through the `microvmm` command instead of the Vm API. */
  cli?: boolean;
  /** Seconds each run may take (the guest's timeout). */
  timeout: number;
  /** CLI processes at once (default 2). */
  jobs?: number;
  /** Stops the campaign between images. */
  signal?: AbortSignal;
  /** Called with each failure's lines (default: console.error). */
  onFailure?: (lines: string[]) => void;
  /**
   * How far past its timeout a run may end (default {@link MARGIN}); through the CLI, on top of
   * the measured time of a CLI run whose guest halts at once (Deno's start-up and VM set-up).
   */
  margin?: Partial<Margins>;
  /** Called after each image (progress). */
  onImage?: (outcome: Outcome, tally: Tally) => void;
}

/** The mode of image `index` in a campaign over `mode`. */
export function modeOf(mode: ModeChoice, index: number): CpuMode {
  return mode === "all" ? CPU_MODES[index % CPU_MODES.length] : mode;
}

/** A real-mode image that halts at once: what every CLI run costs before its guest runs. */
function haltImage(seed: number): FuzzImage {
  return {
    seed,
    index: -1,
    mode: "real",
    memSize: 65536,
    kind: "valid",
    bytes: Uint8Array.of(0xf4),
    insns: [],
  };
}

/** Seconds a CLI run of a guest that halts at once takes here (the faster of two runs). */
export async function cliBaseline(dir: string, pvm: boolean, seed = 0): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < 2; i++) {
    const outcome = await runThroughCli(haltImage(seed), 30, dir, pvm);
    if (outcome.category) throw new Error(`fuzz: the baseline CLI run failed: ${outcome.failure}`);
    best = Math.min(best, outcome.seconds);
  }
  return best;
}

/** Runs a campaign and returns its finished tally. */
export async function runCampaign(options: CampaignOptions): Promise<Tally> {
  const { seed, timeout, signal } = options;
  const tally = new Tally(timeout, options.cli ?? false, seed);
  const pvm = isPvmHost();
  const start = options.start ?? 0;
  const end = options.count === undefined ? Infinity : start + options.count;
  let next = start;
  const nextImage = (): FuzzImage | undefined => {
    if (next >= end || signal?.aborted) return undefined;
    const index = next++;
    return generateImage(seed, index, modeOf(options.mode ?? "all", index));
  };
  const record = (outcome: Outcome) => {
    tally.add(outcome);
    if (outcome.failure) {
      const lines = saveFailure(outcome.image, timeout, outcome.failure);
      (options.onFailure ?? ((l) => console.error(l.join("\n"))))(lines);
    }
    options.onImage?.(outcome, tally);
  };
  /** A run that ended late is run again: if the rerun is in time, the lateness was noise. */
  const rerun = (late: Outcome, again: Outcome): Outcome => {
    if (again.category) return late;
    tally.addLate(late);
    return again;
  };
  if (options.cli) {
    const dir = Deno.makeTempDirSync({ prefix: "microvmm_fuzz_" });
    try {
      const margin = (options.margin?.cli ?? MARGIN.cli) + await cliBaseline(dir, pvm, seed);
      const run = (image: FuzzImage) => runThroughCli(image, timeout, dir, pvm, margin);
      const worker = async () => {
        for (let image = nextImage(); image; image = nextImage()) {
          const outcome = await run(image);
          record(
            outcome.category === "hang" && !outcome.failure?.startsWith("still running")
              ? rerun(outcome, await run(image))
              : outcome,
          );
        }
      };
      await Promise.all(Array.from({ length: options.jobs ?? 2 }, worker));
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
    return tally.finish();
  }
  using watchdog = new Watchdog();
  for (let image = nextImage(); image; image = nextImage()) {
    watchdog.arm(image, timeout);
    const margin = options.margin?.inProcess ?? MARGIN.inProcess;
    let outcome = runInProcess(image, timeout, pvm, margin);
    if (outcome.category === "hang") {
      outcome = rerun(outcome, runInProcess(image, timeout, pvm, margin));
    }
    watchdog.disarm();
    record(outcome);
    // Let signal listeners (Ctrl-C) and timers run now and then.
    if (next % 16 === 0) await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return tally.finish();
}
