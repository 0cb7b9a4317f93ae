/**
 * The one parser of durations, wherever a person writes one (flags, header directives, the
 * operator's flags): `500ms`, `5s`, `5m`, `2min`, `1h30m`, `1h 30m`, `1d`, `1.5s`. A bare number
 * is milliseconds. Units are lower case, as PostgreSQL writes them.
 */
const UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  sec: 1000,
  secs: 1000,
  second: 1000,
  seconds: 1000,
  m: 60_000,
  min: 60_000,
  mins: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
  days: 86_400_000,
};

const PART = /(\d+(?:\.\d+)?)\s*([a-z]+)\s*/y;

/** The longest timeout PostgreSQL accepts (lock_timeout, statement_timeout): about 24.8 days. */
export const MAX_DURATION_MS = 2_147_483_647;

/** Milliseconds, or null when `text` is not a duration. */
export function parseDurationMs(text: string): number | null {
  const t = text.trim();
  if (/^\d+$/.test(t)) return Number(t);
  if (t === '') return null;
  let total = 0;
  PART.lastIndex = 0;
  const seen = new Set<number>();
  while (PART.lastIndex < t.length) {
    const m = PART.exec(t);
    if (!m) return null;
    const unit = UNITS[m[2] ?? ''];
    // Each unit once, largest first: "1h30m" yes, "30m1h" or "5 min s" no.
    if (unit === undefined || [...seen].some((u) => u <= unit)) return null;
    seen.add(unit);
    total += Number(m[1]) * unit;
  }
  return Math.round(total);
}

/** What a duration flag accepts, for usage errors. */
export const DURATION_EXAMPLES = '500ms, 5s, 5m, 2min, 1h30m';
