// "did you mean …?": the closest candidate by edit distance, if close enough.

/** Optimal-string-alignment distance: edits plus adjacent swaps (`rleu` → `relu` is 1); a case change costs half. */
function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const ca = a[i - 1]!;
      const cb = b[j - 1]!;
      const cost = ca === cb ? 0 : ca.toLowerCase() === cb.toLowerCase() ? 0.5 : 1;
      let best = Math.min(d[(i - 1) * cols + j]! + 1, d[i * cols + j - 1]! + 1, d[(i - 1) * cols + j - 1]! + cost);
      if (i > 1 && j > 1 && ca === b[j - 2] && a[i - 2] === cb) best = Math.min(best, d[(i - 2) * cols + j - 2]! + 1);
      d[i * cols + j] = best;
    }
  }
  return d[rows * cols - 1]!;
}

/** The best match among candidates, or undefined if none is plausibly a typo. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  if (word.length > 64) return undefined;
  let best: string | undefined;
  let bestScore = Infinity;
  const limit = Math.max(1, Math.floor(word.length / 3));
  for (const c of candidates) {
    if (c === word || Math.abs(c.length - word.length) > limit) continue;
    const d = editDistance(word, c);
    if (d <= limit && (d < bestScore || (d === bestScore && best !== undefined && c < best))) {
      best = c;
      bestScore = d;
    }
  }
  return best;
}

export function didYouMean(word: string, candidates: Iterable<string>, format: (s: string) => string = (s) => `\`${s}\``): string | undefined {
  const c = closest(word, candidates);
  return c === undefined ? undefined : `did you mean ${format(c)}?`;
}
