const UNITS: Record<string, number> = { ms: 1, s: 1000, min: 60_000, h: 3_600_000 };

/** Parses PostgreSQL-style durations (`500ms`, `5s`, `2min`, `1h`; a bare number is ms). */
export function parseDurationMs(text: string): number | null {
  const m = /^(\d+)\s*(ms|s|min|h)?$/.exec(text.trim());
  if (!m?.[1]) return null;
  return Number(m[1]) * (UNITS[m[2] ?? 'ms'] ?? 1);
}
