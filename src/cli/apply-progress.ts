import type pg from 'pg';
import { openClient } from '../db/connection.js';
import type { ExecutionObserver } from '../engine/executor.js';
import { progressShown, startProgress } from './progress.js';

/** How often a running index build is looked up while a statement runs. */
const POLL_MS = 1000;

export interface ApplyProgress {
  readonly observer: ExecutionObserver;
  /** Ends the line (and the polling session) with the run's outcome. */
  finish(ok: boolean, text: string): Promise<void>;
}

function percent(done: number, total: number): string {
  return total > 0 ? ` ${String(Math.floor((done / total) * 100))}%` : '';
}

/**
 * The progress line of `dbmigrate apply` on a terminal: which migration and statement runs, and
 * for an index build its phase and share of blocks or tuples, from pg_stat_progress_create_index
 * on a second session. Null when nothing is drawn, so scripts open no extra session.
 */
export function applyProgress(databaseUrl: string): ApplyProgress | null {
  if (!progressShown()) return null;
  const progress = startProgress('apply: reading history');
  let current = '';
  let client: pg.Client | null = null;
  let polling = false;
  const poll = async (): Promise<void> => {
    if (polling || current === '') return;
    polling = true;
    try {
      client ??= await openClient(databaseUrl, 'dbmigrate:progress', { connectTimeoutMs: 2000 });
      // The health queries load with the first lookup, a second into a statement: a run of
      // quick migrations never needs them.
      const { indexBuilds } = await import('../db/health.js');
      const builds = await indexBuilds(client);
      const build = builds.status === 'ok' ? builds.data[0] : undefined;
      if (build) {
        const share =
          build.blocksTotal > 0
            ? percent(build.blocksDone, build.blocksTotal)
            : percent(build.tuplesDone, build.tuplesTotal);
        progress.update(`${current} · ${build.command}: ${build.phase}${share}`);
      }
    } catch {
      // The display only: a failed lookup leaves the line as it was.
    } finally {
      polling = false;
    }
  };
  const timer = setInterval(() => void poll(), POLL_MS);
  timer.unref();
  return {
    observer: {
      statementStarted: ({ migration, index, total }) => {
        current = `apply ${migration.id} ${migration.name}: statement ${String(index + 1)} of ${String(total)}`;
        progress.update(current);
      },
    },
    async finish(ok, text) {
      clearInterval(timer);
      await client?.end().catch(() => undefined);
      if (ok) progress.succeed(text);
      else progress.fail(text);
    },
  };
}
