/** PostgreSQL table lock modes, weakest first (as pg_locks.mode spells them). */
export const LOCK_MODES = [
  'AccessShareLock',
  'RowShareLock',
  'RowExclusiveLock',
  'ShareUpdateExclusiveLock',
  'ShareLock',
  'ShareRowExclusiveLock',
  'ExclusiveLock',
  'AccessExclusiveLock',
] as const;
export type LockMode = (typeof LOCK_MODES)[number];

export function isLockMode(mode: string): mode is LockMode {
  return (LOCK_MODES as readonly string[]).includes(mode);
}

export function lockStrength(mode: LockMode): number {
  return LOCK_MODES.indexOf(mode);
}

export function strongestLock(modes: readonly LockMode[]): LockMode | null {
  let best: LockMode | null = null;
  for (const m of modes) if (best === null || lockStrength(m) > lockStrength(best)) best = m;
  return best;
}

/** Conflicts with ROW EXCLUSIVE, which every INSERT/UPDATE/DELETE takes. */
export function blocksWrites(mode: LockMode): boolean {
  return lockStrength(mode) >= lockStrength('ShareLock');
}

/** Conflicts with ACCESS SHARE, which every SELECT takes. */
export function blocksReads(mode: LockMode): boolean {
  return mode === 'AccessExclusiveLock';
}

/** The SQL spelling users know from the docs (`ACCESS EXCLUSIVE`). */
export function lockModeLabel(mode: LockMode): string {
  return mode
    .replace(/Lock$/, '')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toUpperCase();
}
