import { z } from 'zod';
import {
  blocksReads,
  blocksWrites,
  lockModeLabel,
  lockStrength,
  type LockMode,
} from './lock-modes.js';

/** A lock the migrating session was seen holding on one relation. */
export interface LockSighting {
  readonly relation: string;
  readonly mode: LockMode;
  /** performance.now() of the first and last time it was seen held. */
  readonly firstSeen: number;
  readonly lastSeen: number;
}

export const LockImpactSchema = z.object({
  relation: z.string(),
  mode: z.string(),
  heldMs: z.number().int().nonnegative(),
  blocksWrites: z.boolean(),
  blocksReads: z.boolean(),
});
export type LockImpact = z.infer<typeof LockImpactSchema>;

export const MigrationImpactSchema = z.object({
  id: z.string(),
  name: z.string(),
  file: z.string(),
  transactional: z.boolean(),
  status: z.enum(['applied', 'failed', 'not_executed']),
  durationMs: z.number().int().nullable(),
  error: z.string().nullable(),
  locks: z.array(LockImpactSchema),
  rewrites: z.array(z.string()),
  rowsTouched: z.number().int().nonnegative(),
  needsWindow: z.boolean(),
  reasons: z.array(z.string()),
  /** Linter findings for this migration's file. */
  lint: z.array(
    z.object({
      ruleId: z.string(),
      severity: z.enum(['error', 'warning']),
      line: z.number().int(),
      message: z.string(),
    }),
  ),
});
export type MigrationImpact = z.infer<typeof MigrationImpactSchema>;

/**
 * Per relation: the strongest lock seen and how long it was held. A lock seen once is
 * counted as held for at least one sampling interval.
 */
export function summariseLocks(
  sightings: readonly LockSighting[],
  minimumHeldMs: number,
): LockImpact[] {
  const byRelation = new Map<string, { mode: LockMode; first: number; last: number }>();
  for (const s of sightings) {
    const cur = byRelation.get(s.relation);
    if (!cur) {
      byRelation.set(s.relation, { mode: s.mode, first: s.firstSeen, last: s.lastSeen });
      continue;
    }
    if (lockStrength(s.mode) > lockStrength(cur.mode)) {
      // The strong lock's own hold time matters, not the weaker lock's before it.
      byRelation.set(s.relation, { mode: s.mode, first: s.firstSeen, last: s.lastSeen });
    } else if (s.mode === cur.mode) {
      cur.first = Math.min(cur.first, s.firstSeen);
      cur.last = Math.max(cur.last, s.lastSeen);
    }
  }
  return [...byRelation.entries()]
    .map(([relation, l]) => ({
      relation,
      mode: lockModeLabel(l.mode),
      heldMs: Math.max(minimumHeldMs, Math.round(l.last - l.first)),
      blocksWrites: blocksWrites(l.mode),
      blocksReads: blocksReads(l.mode),
    }))
    .sort((a, b) => b.heldMs - a.heldMs || a.relation.localeCompare(b.relation));
}

/** Why a migration must wait for a maintenance window, from what the dry-run saw. */
export function windowReasons(
  locks: readonly LockImpact[],
  thresholdMs: number,
  windowRequired: boolean,
  lint: MigrationImpact['lint'] = [],
): string[] {
  const reasons: string[] = [];
  if (windowRequired) reasons.push('its header says window=required');
  // Staging may hold less data than production: what the linter knows blocks counts too.
  for (const f of lint) {
    if (f.severity === 'error')
      reasons.push(`the linter flags ${f.ruleId} at line ${f.line}: ${f.message}`);
  }
  for (const l of locks) {
    if (l.blocksWrites && l.heldMs > thresholdMs) {
      reasons.push(
        `holds ${l.mode} on ${l.relation} for ${l.heldMs} ms, blocking ${l.blocksReads ? 'reads and writes' : 'writes'} (threshold ${thresholdMs} ms)`,
      );
    }
  }
  return reasons;
}
