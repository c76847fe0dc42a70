/**
 * Summary statistics for benchmark samples: median and nearest-rank percentiles.
 *
 * @module
 */

/** A set of timing samples summarised. All values are in the samples' unit. */
export interface Summary {
  /** How many samples. */
  count: number;
  /** The smallest sample. */
  min: number;
  /** The median (mean of the middle two for an even count). */
  median: number;
  /** The 90th percentile (nearest rank). */
  p90: number;
  /** The largest sample. */
  max: number;
}

/** The `p`-th percentile (0 < p ≤ 100) of `sorted` by nearest rank. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new RangeError("Cannot take a percentile of no samples");
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(Math.max(rank, 1), sorted.length) - 1];
}

/** The median of `samples` (any order). */
export function median(samples: readonly number[]): number {
  if (samples.length === 0) throw new RangeError("Cannot take the median of no samples");
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * Summarises `samples`: count, min, median, p90 and max.
 *
 * @example
 * ```ts
 * import { summarize } from "./_stats.ts";
 * console.log(summarize([3, 1, 2, 4])); // { count: 4, min: 1, median: 2.5, p90: 4, max: 4 }
 * ```
 */
export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    count: sorted.length,
    min: sorted[0],
    median: median(sorted),
    p90: percentile(sorted, 90),
    max: sorted[sorted.length - 1],
  };
}
