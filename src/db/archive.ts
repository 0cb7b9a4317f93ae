import type pg from 'pg';
import type { Logger } from 'pino';
import { silentLogger } from '../observability/logger.js';
import { checkInterval, listPartitions, PartitionError, type PartitionInfo } from './partitions.js';

/** What archiving documents older than an age would do (or did). */
export interface ArchivePlan {
  /** created_at before this moves (PostgreSQL's text of now() - olderThan). */
  readonly cutoff: string;
  /** Monthly partitions wholly older than the cutoff: detached and attached to the archive. */
  readonly partitions: readonly { readonly name: string; readonly rows: number }[];
  /** Rows of documents_legacy older than the cutoff: moved in batches. */
  readonly legacyRows: number;
  /** Older rows that stay, in partitions that are only partly older (they go when it all is). */
  readonly keptRows: number;
}

export interface ArchiveResult extends ArchivePlan {
  readonly dryRun: boolean;
  readonly movedRows: number;
  readonly batches: number;
  /** Rows in documents + documents_archive before and after: equal, or the run fails. */
  readonly totalBefore: number;
  readonly totalAfter: number;
  readonly archivedBefore: number;
  readonly archivedAfter: number;
  readonly durationMs: number;
}

export interface ArchiveOptions {
  /** A PostgreSQL interval: documents with created_at < now() - olderThan are archived. */
  readonly olderThan: string;
  readonly dryRun?: boolean;
  /** Measure the age from this instant instead of now() (reproducible runs, tests). */
  readonly asOf?: Date;
  readonly batchSize?: number;
  /** Pause between batches so replicas and autovacuum keep up. */
  readonly throttleMs?: number;
  readonly logger?: Logger;
  readonly signal?: AbortSignal;
  /** Rows moved so far of those planned, after each partition and batch. */
  readonly onProgress?: (p: { readonly moved: number; readonly total: number }) => void;
}

const COLUMNS = [
  'id',
  'doc_type',
  'source_name',
  'title',
  'content',
  'metadata',
  'embedding',
  'created_at',
  'updated_at',
  'embedding_bq',
].join(', ');

const MONTHLY = /^documents_p\d{6}$/;

async function count(client: pg.ClientBase, sql: string, params: unknown[] = []): Promise<number> {
  const res = await client.query<{ n: string }>(sql, params);
  return Number(res.rows[0]?.n ?? 0);
}

async function archiveExists(client: pg.ClientBase): Promise<void> {
  const res = await client.query<{ ok: boolean }>(
    "select to_regclass('documents_archive') is not null as ok",
  );
  if (res.rows[0]?.ok !== true)
    throw new PartitionError(
      'ARCHIVE_MISSING',
      'documents_archive does not exist: apply migration 0010 first',
    );
}

/** Pure: which partitions go whole, given their bounds and the cutoff. */
export function wholePartitionsBefore(
  partitions: readonly PartitionInfo[],
  cutoff: Date,
): PartitionInfo[] {
  return partitions.filter(
    (p) => MONTHLY.test(p.name) && p.to !== null && new Date(p.to).getTime() <= cutoff.getTime(),
  );
}

/**
 * Moves documents older than `olderThan` into documents_archive without blocking the
 * doc-server: whole monthly partitions by DETACH PARTITION … CONCURRENTLY and ATTACH (no row
 * copied), rows of the legacy partition in keyset batches of DELETE … RETURNING into the
 * archive, one short transaction each. Counts rows in both tables before and after and fails
 * with ARCHIVE_COUNT_MISMATCH if one was lost or doubled. Re-runnable: a run cut short (even
 * between a detach and its attach) is completed by the next.
 *
 * `client` must be a dedicated session in autocommit (DETACH … CONCURRENTLY cannot run in a
 * transaction block).
 */
export async function archiveDocuments(
  client: pg.ClientBase,
  options: ArchiveOptions,
): Promise<ArchiveResult> {
  const log = options.logger ?? silentLogger();
  const started = performance.now();
  const batchSize = Math.max(1, Math.trunc(options.batchSize ?? 1000));
  const throttleMs = Math.max(0, options.throttleMs ?? 20);
  await checkInterval(client, options.olderThan, '--older-than');
  await listPartitions(client, 'documents');
  await archiveExists(client);
  if (!options.dryRun) await completeInterrupted(client, log);

  // The cutoff both as PostgreSQL's text (exact, for the SQL) and as a Date (for the bounds).
  const at = (
    await client.query<{ text: string; at: Date }>(
      `select t::text as text, t as at
         from (select coalesce($2::timestamptz, now()) - $1::interval as t) c`,
      [options.olderThan, options.asOf ?? null],
    )
  ).rows[0];
  const cutoffText = at?.text ?? '';
  const cutoff = at?.at ?? new Date();
  const partitions = await listPartitions(client, 'documents');
  const whole = wholePartitionsBefore(partitions, cutoff);
  const wholeRows = await Promise.all(
    whole.map(async (p) => ({
      name: p.name,
      rows: await count(
        client,
        `select count(*)::text as n from ${client.escapeIdentifier(p.name)}`,
      ),
    })),
  );
  const hasLegacy = partitions.some((p) => p.name === 'documents_legacy');
  const legacyRows = hasLegacy
    ? await count(
        client,
        'select count(*)::text as n from documents_legacy where created_at < $1::timestamptz',
        [cutoffText],
      )
    : 0;
  const olderTotal = await count(
    client,
    'select count(*)::text as n from documents where created_at < $1::timestamptz',
    [cutoffText],
  );
  const plan: ArchivePlan = {
    cutoff: cutoffText,
    partitions: wholeRows,
    legacyRows,
    keptRows: olderTotal - legacyRows - wholeRows.reduce((s, p) => s + p.rows, 0),
  };
  const totals = async (): Promise<{ total: number; archived: number }> => {
    const archived = await count(client, 'select count(*)::text as n from documents_archive');
    const live = await count(client, 'select count(*)::text as n from documents');
    return { total: live + archived, archived };
  };
  const before = await totals();
  const base = {
    ...plan,
    dryRun: options.dryRun === true,
    totalBefore: before.total,
    archivedBefore: before.archived,
  };
  if (options.dryRun) {
    return {
      ...base,
      movedRows: 0,
      batches: 0,
      totalAfter: before.total,
      archivedAfter: before.archived,
      durationMs: Math.round(performance.now() - started),
    };
  }

  let moved = 0;
  const planned = plan.legacyRows + wholeRows.reduce((n, p) => n + p.rows, 0);
  options.onProgress?.({ moved, total: planned });
  for (const p of whole) {
    if (options.signal?.aborted) break;
    log.info({ partition: p.name }, 'detaching partition concurrently');
    await client.query(
      `alter table documents detach partition ${client.escapeIdentifier(p.name)} concurrently`,
    );
    await attachToArchive(client, p.name, log);
    moved += wholeRows.find((w) => w.name === p.name)?.rows ?? 0;
    options.onProgress?.({ moved, total: planned });
  }

  let batches = 0;
  // Keyset: each batch starts after the last row moved, so dead index entries left by earlier
  // batches are never walked again.
  let last = { createdAt: '-infinity', id: '0' };
  while (hasLegacy && !options.signal?.aborted) {
    const res = await client.query<{ n: number; last_at: string | null; last_id: string | null }>(
      `with victims as (
         select id, created_at from documents_legacy
          where created_at < $1::timestamptz and (created_at, id) > ($3::timestamptz, $4::bigint)
          order by created_at, id limit $2 for update skip locked),
       moved as (
         delete from documents_legacy d using victims v
          where d.id = v.id and d.created_at = v.created_at
          returning d.*),
       ins as (
         insert into documents_archive (${COLUMNS}) select ${COLUMNS} from moved
         returning created_at, id)
       select count(*)::int as n,
              (select created_at::text from ins order by created_at desc, id desc limit 1) as last_at,
              (select id::text from ins order by created_at desc, id desc limit 1) as last_id
         from ins`,
      [cutoffText, batchSize, last.createdAt, last.id],
    );
    const row = res.rows[0];
    if (!row || row.n === 0 || row.last_at === null || row.last_id === null) break;
    batches++;
    moved += row.n;
    last = { createdAt: row.last_at, id: row.last_id };
    log.debug({ batch: batches, rows: row.n, moved }, 'archived a batch');
    options.onProgress?.({ moved, total: planned });
    if (throttleMs > 0) await new Promise((r) => setTimeout(r, throttleMs));
  }

  const after = await totals();
  const result: ArchiveResult = {
    ...base,
    movedRows: moved,
    batches,
    totalAfter: after.total,
    archivedAfter: after.archived,
    durationMs: Math.round(performance.now() - started),
  };
  if (after.total !== before.total || after.archived !== before.archived + moved)
    throw new PartitionError(
      'ARCHIVE_COUNT_MISMATCH',
      `archive counts disagree: documents + archive ${String(before.total)} before, ${String(after.total)} after; archive ${String(before.archived)} + ${String(moved)} moved ≠ ${String(after.archived)}`,
    );
  log.info(
    { moved, batches, partitions: whole.map((p) => p.name), cutoff: cutoffText },
    'archive finished',
  );
  return result;
}

/**
 * A detached monthly partition joins the archive: its CHECK (created_at range), added when it
 * was created, lets ATTACH skip the scan; its foreign key and its own vector index are dropped.
 */
async function attachToArchive(client: pg.ClientBase, name: string, log: Logger): Promise<void> {
  const bound = await client.query<{ lo: string; hi: string }>(
    `select (regexp_match(pg_get_constraintdef(oid), $re$>= '([^']+)'$re$))[1] as lo,
            (regexp_match(pg_get_constraintdef(oid), $re$< '([^']+)'$re$))[1] as hi
       from pg_constraint where conrelid = $1::regclass and contype = 'c' and conname = $2`,
    [name, `${name}_range`],
  );
  const b = bound.rows[0];
  if (!b?.lo || !b.hi)
    throw new PartitionError(
      'NOT_PARTITIONED',
      `${name} has no ${name}_range check: attach it to documents_archive by hand`,
    );
  await client.query(
    `alter table ${client.escapeIdentifier(name)} drop constraint if exists documents_source_name_fkey`,
  );
  const ann = await client.query<{ name: string }>(
    `select c.relname as name from pg_index i join pg_class c on c.oid = i.indexrelid
      join pg_am a on a.oid = c.relam where i.indrelid = $1::regclass and a.amname = 'hnsw'`,
    [name],
  );
  for (const r of ann.rows) await client.query(`drop index ${client.escapeIdentifier(r.name)}`);
  await client.query(
    `alter table documents_archive attach partition ${client.escapeIdentifier(name)}
       for values from (${client.escapeLiteral(b.lo)}) to (${client.escapeLiteral(b.hi)})`,
  );
  log.info({ partition: name }, 'attached to documents_archive');
}

/** Finishes what an interrupted run left: a pending detach, a detached month not yet archived. */
async function completeInterrupted(client: pg.ClientBase, log: Logger): Promise<void> {
  const pending = (await listPartitions(client, 'documents')).filter((p) => p.detachPending);
  for (const p of pending) {
    log.warn({ partition: p.name }, 'finishing an interrupted detach');
    await client.query(
      `alter table documents detach partition ${client.escapeIdentifier(p.name)} finalize`,
    );
  }
  const orphans = await client.query<{ name: string }>(
    `select c.relname as name from pg_class c
      where c.relkind = 'r' and c.relname ~ '^documents_p[0-9]{6}$'
        and c.relnamespace = (select relnamespace from pg_class where oid = 'documents'::regclass)
        and not exists (select 1 from pg_inherits i where i.inhrelid = c.oid)`,
  );
  for (const r of orphans.rows) await attachToArchive(client, r.name, log);
}
