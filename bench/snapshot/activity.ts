// What a backup method holds open on the server while it runs, sampled from pg_stat_activity:
// pg_dump reads the whole database in one snapshot, so its transaction (and the xmin horizon
// VACUUM must respect) lasts as long as the dump; pgBackRest copies files and keeps a session
// for the backup's start and stop calls. Also counts the WAL segments archived meanwhile.
import pg from 'pg';

/** A transaction open this long (seconds) is one the method holds, not one of its queries. */
export const LASTING_S = 1;

export interface HeldOpen {
  /** Sessions of the method seen at once, at most. */
  readonly sessions: number;
  /** The longest transaction of its sessions, in seconds (0: none seen open). */
  readonly longestTransactionS: number;
  /** Whether a lasting transaction held back the xmin horizon (backend_xmin set). */
  readonly heldXmin: boolean;
  /** WAL segments the archiver reported archived during the step. */
  readonly archivedSegments: number;
}

export interface ActivitySampler {
  stop(): Promise<HeldOpen>;
}

/** Samples the sessions whose application_name starts with `prefix` every `everyMs`. */
export async function sampleActivity(
  url: string,
  prefix: string,
  everyMs = 250,
): Promise<ActivitySampler> {
  const client = new pg.Client({ connectionString: url, application_name: 'bench-sampler' });
  await client.connect();
  const archived = async (): Promise<number> =>
    Number(
      (await client.query<{ n: string }>('select archived_count::text n from pg_stat_archiver'))
        .rows[0]?.n ?? 0,
    );
  const archivedBefore = await archived();
  let sessions = 0;
  let longest = 0;
  let heldXmin = false;
  const state: { running: boolean; failure: Error | null } = { running: true, failure: null };
  const sample = async (): Promise<void> => {
    const res = await client.query<{ xact_s: number | null; xmin: boolean }>(
      `select extract(epoch from clock_timestamp() - xact_start)::float8 as xact_s,
              backend_xmin is not null as xmin
         from pg_stat_activity
        where pid <> pg_backend_pid() and starts_with(application_name, $1)`,
      [prefix],
    );
    sessions = Math.max(sessions, res.rows.length);
    for (const r of res.rows) {
      longest = Math.max(longest, r.xact_s ?? 0);
      // A query of a moment holds a snapshot too; only a transaction that lasts counts.
      heldXmin ||= r.xmin && (r.xact_s ?? 0) >= LASTING_S;
    }
  };
  const loop = (async () => {
    while (state.running) {
      await sample().catch((err: unknown) => {
        state.failure = err instanceof Error ? err : new Error('sampling pg_stat_activity failed');
        state.running = false;
      });
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    async stop() {
      state.running = false;
      await loop;
      try {
        if (state.failure !== null) throw state.failure;
        return {
          sessions,
          longestTransactionS: longest,
          heldXmin,
          archivedSegments: (await archived()) - archivedBefore,
        };
      } finally {
        await client.end();
      }
    },
  };
}
