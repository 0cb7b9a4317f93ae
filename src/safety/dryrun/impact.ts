import { z } from 'zod';
import {
  blocksReads,
  blocksWrites,
  lockModeLabel,
  lockStrength,
  type LockMode,
} from './lock-modes.js';
import type { LockHold } from './lock-probe.js';

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
  /**
   * Findings the staging copy's facts cleared (a small table, a column already NOT NULL …):
   * listed with their reason, never a reason for a window.
   */
  lintCleared: z.array(
    z.object({
      ruleId: z.string(),
      line: z.number().int(),
      message: z.string(),
      reason: z.string(),
    }),
  ),
});
export type MigrationImpact = z.infer<typeof MigrationImpactSchema>;

/**
 * Per relation: the strongest lock taken and its longest single hold (each hold is one stall
 * for a writer), in whole milliseconds rounded up, so a 0.4 ms hold reads 1 ms, never 0.
 */
export function summariseLocks(holds: readonly LockHold[]): LockImpact[] {
  const byRelation = new Map<string, { mode: LockMode; heldMs: number }>();
  for (const h of holds) {
    const cur = byRelation.get(h.relation);
    if (!cur || lockStrength(h.mode) > lockStrength(cur.mode)) {
      byRelation.set(h.relation, { mode: h.mode, heldMs: h.heldMs });
    } else if (h.mode === cur.mode) {
      cur.heldMs = Math.max(cur.heldMs, h.heldMs);
    }
  }
  return [...byRelation.entries()]
    .map(([relation, l]) => ({
      relation,
      mode: lockModeLabel(l.mode),
      heldMs: Math.max(1, Math.ceil(l.heldMs)),
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
