/** Levenshtein distance: what a typo costs. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(
        (prev[j] ?? 0) + 1,
        (row[j - 1] ?? 0) + 1,
        (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    prev = row;
  }
  return prev[b.length] ?? Infinity;
}

/** The candidate a typo most likely meant (at most 2 edits away), or null. */
export function nearest(typed: string, candidates: readonly string[]): string | null {
  let best: { name: string; d: number } | null = null;
  for (const name of candidates) {
    const d = editDistance(typed, name);
    if (d <= 2 && (best === null || d < best.d)) best = { name, d };
  }
  return best?.name ?? null;
}

/**
 * The candidate a user most likely meant: a typo (see nearest), else the closest candidate that
 * contains what was typed or is contained in it (`require-concurrent-index` for
 * `require-concurrent-index-creation`, `prefer-bigint-pk` for `prefer-bigint`), or null.
 */
export function suggestName(typed: string, candidates: readonly string[]): string | null {
  const near = nearest(typed, candidates);
  if (near !== null || typed.length < 4) return near;
  let best: { name: string; d: number } | null = null;
  for (const name of candidates) {
    if (!name.includes(typed) && !typed.includes(name)) continue;
    const d = editDistance(typed, name);
    if (best === null || d < best.d) best = { name, d };
  }
  return best?.name ?? null;
}
