/**
 * The bench's result rows and their two renderings: an aligned text table and a Markdown table.
 *
 * @module
 */

/** One line of the results table, already formatted for display. */
export interface Row {
  /** What was measured. */
  measure: string;
  /** microvmm's figure. */
  microvmm: string;
  /** The C reference's figure. */
  c: string;
  /** microvmm relative to C (or the difference, for wall-time rows). */
  ratio: string;
  /** The goal, e.g. "≥ 0.95". */
  goal: string;
  /** Whether the goal was met; undefined for rows that only inform. */
  met?: boolean;
}

const HEADERS = ["measure", "microvmm", "C", "ratio", "goal", "met"] as const;

function cells(row: Row): string[] {
  const met = row.met === undefined ? "—" : row.met ? "met" : "NOT MET";
  return [row.measure, row.microvmm, row.c, row.ratio, row.goal, met];
}

/** Renders `rows` as a plain-text table with aligned columns. */
export function textTable(rows: readonly Row[]): string {
  const table = [HEADERS.slice(), ...rows.map(cells)];
  const widths = HEADERS.map((_, i) => Math.max(...table.map((line) => line[i].length)));
  const line = (values: string[]) =>
    values.map((value, i) => value.padEnd(widths[i])).join("  ").trimEnd();
  const rule = widths.map((width) => "-".repeat(width)).join("  ");
  return [line(table[0]), rule, ...table.slice(1).map(line)].join("\n");
}

/** Renders `rows` as a Markdown table, ready to paste into README.md. */
export function markdownTable(rows: readonly Row[]): string {
  const escape = (value: string) => value.replaceAll("|", "\\|");
  const line = (values: string[]) => `| ${values.map(escape).join(" | ")} |`;
  return [
    line(HEADERS.slice()),
    `|${HEADERS.map((_, i) => i >= 1 && i <= 3 ? "---:" : "---").join("|")}|`,
    ...rows.map((row) => line(cells(row))),
  ].join("\n");
}

/** Formats a number with thousands separators and `digits` decimals. */
export function formatNumber(value: number, digits = 0): string {
  return value.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}
