/** A whole-number flag of a benchmark, at least `min`; the error names the flag. */
export function countFlag(name: string, value: string, min = 1): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name}: "${value}" is not a count`);
  return n;
}
