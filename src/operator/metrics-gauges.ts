import { MIGRATION_PHASES } from '../api/v1alpha1/database-migration.js';
import type { OperatorGauges } from '../observability/metrics.js';

/**
 * The gauges' values from the informer caches: pure, so a scrape reflects the resources as the
 * API server holds them (after a restart or a failover too), not what this process happened to
 * do. Objects are read loosely: a malformed one counts as what it can be read as, never throws.
 */
interface CachedObject {
  readonly metadata?: {
    readonly namespace?: string;
    readonly name?: string;
    readonly creationTimestamp?: string | Date;
  };
  readonly spec?: { readonly database?: { readonly secretRef?: { readonly name?: string } } };
  readonly status?: {
    readonly phase?: string;
    readonly history?: readonly { readonly at?: string; readonly phase?: string }[];
    readonly dryRun?: {
      readonly migrations?: readonly { readonly id?: string; readonly lockHeldMs?: number }[];
    };
    readonly verified?: boolean;
    readonly verifiedAt?: string;
    readonly filesPresent?: boolean;
    readonly sizeBytes?: number;
  };
}

function seconds(at: string | Date | undefined): number | null {
  if (at === undefined) return null;
  const ms = (at instanceof Date ? at : new Date(at)).getTime();
  return Number.isFinite(ms) ? ms / 1000 : null;
}

function where(o: CachedObject): { namespace: string; name: string } {
  return { namespace: o.metadata?.namespace ?? 'default', name: o.metadata?.name ?? '' };
}

export function migrationsByPhase(
  migrations: readonly CachedObject[],
): ReturnType<OperatorGauges['migrationsByPhase']> {
  const counts = new Map<string, number>(MIGRATION_PHASES.map((p) => [p, 0]));
  for (const m of migrations) {
    const phase = m.status?.phase ?? 'Pending';
    counts.set(phase, (counts.get(phase) ?? 0) + 1);
  }
  return counts;
}

/** Since when each resource is in its phase: the history entry that entered it, else its creation. */
export function migrationPhases(
  migrations: readonly CachedObject[],
): ReturnType<OperatorGauges['migrationPhases']> {
  return migrations.flatMap((m) => {
    const phase = m.status?.phase ?? 'Pending';
    const entered = [...(m.status?.history ?? [])].reverse().find((h) => h.phase === phase);
    const since = seconds(entered?.at) ?? seconds(m.metadata?.creationTimestamp);
    return since === null ? [] : [{ ...where(m), phase, sinceSeconds: since }];
  });
}

/** Per namespace and database Secret, the newest snapshot that is verified and still on disk. */
export function verifiedSnapshots(
  snapshots: readonly CachedObject[],
): ReturnType<OperatorGauges['verifiedSnapshots']> {
  const newest = new Map<
    string,
    { namespace: string; database: string; verifiedAtSeconds: number; sizeBytes: number }
  >();
  for (const s of snapshots) {
    if (s.status?.verified !== true || s.status.filesPresent === false) continue;
    const at = seconds(s.status.verifiedAt);
    const database = s.spec?.database?.secretRef?.name;
    if (at === null || database === undefined) continue;
    const { namespace } = where(s);
    const key = `${namespace}/${database}`;
    if ((newest.get(key)?.verifiedAtSeconds ?? -Infinity) >= at) continue;
    newest.set(key, {
      namespace,
      database,
      verifiedAtSeconds: at,
      sizeBytes: s.status.sizeBytes ?? 0,
    });
  }
  return [...newest.values()];
}

export function dryRunWriteBlocks(
  migrations: readonly CachedObject[],
): ReturnType<OperatorGauges['dryRunWriteBlocks']> {
  return migrations.flatMap((m) =>
    (m.status?.dryRun?.migrations ?? []).flatMap((d) =>
      d.id === undefined || d.lockHeldMs === undefined
        ? []
        : [{ ...where(m), migration: d.id, seconds: d.lockHeldMs / 1000 }],
    ),
  );
}
