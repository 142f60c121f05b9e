// Markdown tables and number formats shared by the suites' printouts.

/** A duration in the unit that reads best: µs under a millisecond, s from ten seconds. */
export function duration(ms: number): string {
  if (ms < 1) return `${(ms * 1000).toFixed(ms < 0.1 ? 1 : 0)} µs`;
  if (ms < 10_000) return `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}

/** How many times faster `ms` is than `peerMs`: "2.41×" (above 1: faster). */
export function ratio(ms: number | null, peerMs: number | null): string {
  return ms === null || peerMs === null ? "–" : `${(peerMs / ms).toFixed(2)}×`;
}

export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[], rightAligned = header.map((_, i) => i > 0)): string {
  const line = (cells: readonly string[]) => `| ${cells.join(" | ")} |`;
  const rule = `|${header.map((_, i) => (rightAligned[i] ? "---:" : "---")).join("|")}|`;
  return [line(header), rule, ...rows.map(line)].join("\n");
}
