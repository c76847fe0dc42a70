/**
 * Builds the C reference VMM (`bench/ref_vmm.c`) with gcc and runs its three commands.
 *
 * @module
 */

/** Raised when gcc is missing or the C program fails: the bench reports it and exits 1. */
export class BenchSetupError extends Error {
  /** Builds the error with a one-line message. */
  constructor(message: string) {
    super(message);
    this.name = "BenchSetupError";
  }
}

const decoder = new TextDecoder();

async function run(
  program: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(program, { args, stdout: "piped", stderr: "piped" })
    .output();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/**
 * Compiles `source` with `gcc -O2` into `binary`; returns gcc's version line. Throws a
 * {@link BenchSetupError} when gcc is not installed or the compile fails.
 */
export async function buildRefVmm(source: string, binary: string): Promise<string> {
  let version;
  try {
    version = await run("gcc", ["--version"]);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new BenchSetupError(
        "Cannot build the C reference VMM: gcc is not installed (apt-get install gcc)",
      );
    }
    throw error;
  }
  const built = await run("gcc", ["-O2", "-Wall", "-o", binary, source]);
  if (built.code !== 0) {
    throw new BenchSetupError(`Cannot build the C reference VMM: gcc failed:\n${built.stderr}`);
  }
  return version.stdout.split("\n")[0];
}

async function refVmm(binary: string, args: string[]): Promise<string> {
  const result = await run(binary, args);
  if (result.code !== 0) {
    throw new BenchSetupError(
      `The C reference VMM failed (${args.join(" ")}), status ${result.code}: ${result.stderr}`,
    );
  }
  return result.stdout;
}

/** One timed run of the exit-throughput guest in the C VMM. */
export interface CExitRun {
  /** KVM_RUN returns counted, the exit-port write included. */
  exits: number;
  /** Nanoseconds the KVM_RUN loop took (clock_gettime, CLOCK_MONOTONIC). */
  ns: number;
}

/** Runs `ref_vmm exits GUEST` once: long mode, the KVM_RUN loop timed in C. */
export async function cExitRun(binary: string, guest: string): Promise<CExitRun> {
  const out = await refVmm(binary, ["exits", guest]);
  const match = /^exits (\d+) ns (\d+) status (\d+)$/m.exec(out);
  if (!match) throw new BenchSetupError(`Cannot parse the C VMM's exits output: ${out}`);
  if (match[3] !== "0") throw new BenchSetupError(`The C VMM's exit guest ended ${match[3]}`);
  return { exits: Number(match[1]), ns: Number(match[2]) };
}

/**
 * Runs `ref_vmm latency GUEST reps warmup`: create → first exit → close, `reps` times after
 * `warmup` unreported ones. Returns each repetition's time in milliseconds.
 */
export async function cLatencies(
  binary: string,
  guest: string,
  reps: number,
  warmup: number,
): Promise<number[]> {
  const out = await refVmm(binary, ["latency", guest, String(reps), String(warmup)]);
  const samples = [...out.matchAll(/^ns (\d+)$/gm)].map((m) => Number(m[1]) / 1e6);
  if (samples.length !== reps) {
    throw new BenchSetupError(`The C VMM reported ${samples.length} latencies, not ${reps}`);
  }
  return samples;
}
