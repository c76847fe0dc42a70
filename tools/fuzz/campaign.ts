/**
 * A fuzz campaign: generate images for a seed, run them in-process or through the CLI, tally the
 * outcomes and save every failing image; used by `tools/fuzz/main.ts` and the test suite.
 *
 * @module
 */

import { CPU_MODES, type CpuMode } from "../../mod.ts";
import { type FuzzImage, generateImage } from "./generator.ts";
import { saveFailure, Tally } from "./report.ts";
import { isPvmHost, type Outcome, runInProcess, runThroughCli } from "./runner.ts";
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
  /** Called after each image (progress). */
  onImage?: (outcome: Outcome, tally: Tally) => void;
}

/** The mode of image `index` in a campaign over `mode`. */
export function modeOf(mode: ModeChoice, index: number): CpuMode {
  return mode === "all" ? CPU_MODES[index % CPU_MODES.length] : mode;
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
      const worker = async () => {
        for (let image = nextImage(); image; image = nextImage()) {
          const outcome = await runThroughCli(image, timeout, dir, pvm);
          record(
            outcome.category === "hang" && !outcome.failure?.startsWith("still running")
              ? rerun(outcome, await runThroughCli(image, timeout, dir, pvm))
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
    let outcome = runInProcess(image, timeout, pvm);
    if (outcome.category === "hang") outcome = rerun(outcome, runInProcess(image, timeout, pvm));
    watchdog.disarm();
    record(outcome);
    // Let signal listeners (Ctrl-C) and timers run now and then.
    if (next % 16 === 0) await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return tally.finish();
}
