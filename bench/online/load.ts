// The load that runs while a migration is applied: a rate-limited writer (inserts and updates
// over its own few connections, like an application's pool) and a reader (primary-key point
// lookups, its own connections), in a worker thread so that nothing the main thread does (the
// Migrator, the backfill, result parsing) can delay them.
//
// Open loop: operation i is due at start + i / rate whatever happened before, and its latency
// counts from that due time. A write stuck behind a lock therefore makes every write due after
// it late too, as it would for an application's users, instead of silently not being issued.
// Service time (from the moment a connection took the operation) is recorded next to it.
import { randomBytes } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import pg from 'pg';
import { KIND_CODE, type OpKind, type Samples } from './stats.js';

export interface LoadConfig {
  readonly url: string;
  /** Writes per second, alternately an insert and an update of a random existing row. */
  readonly writeRate: number;
  /** Point lookups per second. */
  readonly readRate: number;
  /** Connections the writes are spread over (an application's pool). */
  readonly writerConnections: number;
  readonly readerConnections: number;
  /** Rows 1..maxId exist when the load starts. */
  readonly maxId: number;
  /** document_sources rows: inserts use source_0001 … source_NNNN. */
  readonly sources: number;
  /** How long stop() waits for operations still in flight before counting them as failed. */
  readonly drainMs: number;
}

export type LoadMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'error'; readonly message: string }
  | {
      readonly type: 'done';
      readonly samples: Samples;
      /** Operations not issued because too many were already queued (a runaway stall). */
      readonly dropped: number;
      /** Operations still in flight when the drain timed out (counted as failed). */
      readonly abandoned: number;
      readonly waits: WaitSamples;
    };

/** What the writer backends were doing, sampled from pg_stat_activity every `intervalMs`. */
export interface WaitSamples {
  readonly intervalMs: number;
  /** Absolute ms of every sample taken (with or without sightings). */
  readonly ticks: Float64Array;
  /** Absolute ms of each sighting of an active writer backend. */
  readonly at: Float64Array;
  /** Index into `labels`: `wait_event_type:wait_event`, or `CPU` when active with no wait event. */
  readonly label: Uint16Array;
  readonly labels: readonly string[];
}

/** Parent → worker: stop issuing operations, drain, send the samples. */
export interface ControlMessage {
  readonly type: 'stop';
}

const now = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

class Recorder {
  private readonly due: number[] = [];
  private readonly latency: number[] = [];
  private readonly service: number[] = [];
  private readonly sentAt: number[] = [];
  private readonly kind: number[] = [];
  private readonly failed: number[] = [];
  readonly pending = new Set<number>();

  start(kind: OpKind, due: number): number {
    const slot = this.due.length;
    this.due.push(due);
    this.latency.push(Number.NaN);
    this.service.push(Number.NaN);
    this.sentAt.push(Number.NaN);
    this.kind.push(KIND_CODE[kind]);
    this.failed.push(0);
    this.pending.add(slot);
    return slot;
  }

  /** A connection took the operation: service time counts from here. */
  sent(slot: number): void {
    this.sentAt[slot] = now();
  }

  finish(slot: number, ok: boolean): void {
    if (!this.pending.delete(slot)) return;
    const t = now();
    this.latency[slot] = t - (this.due[slot] ?? 0);
    const sent = this.sentAt[slot] ?? Number.NaN;
    this.service[slot] = Number.isNaN(sent) ? Number.NaN : t - sent;
    if (!ok) this.failed[slot] = 1;
  }

  abandonPending(): number {
    const n = this.pending.size;
    for (const slot of [...this.pending]) this.finish(slot, false);
    return n;
  }

  samples(): Samples {
    return {
      due: Float64Array.from(this.due),
      latency: Float64Array.from(this.latency),
      service: Float64Array.from(this.service),
      kind: Uint8Array.from(this.kind),
      failed: Uint8Array.from(this.failed),
    };
  }
}

/**
 * Connections of one role (writer or reader) and the operations waiting for one. An operation
 * goes to the first idle connection, in due order; it waits here while all are busy, which is
 * what an application's pool does when a lock holds every connection.
 */
class Lane {
  private readonly queue: ((client: pg.Client) => Promise<void>)[] = [];
  private head = 0;
  private readonly idle: pg.Client[];
  private running = 0;

  constructor(clients: readonly pg.Client[]) {
    this.idle = [...clients];
  }

  get busy(): boolean {
    return this.running > 0 || this.head < this.queue.length;
  }

  submit(job: (client: pg.Client) => Promise<void>): void {
    this.queue.push(job);
    this.pump();
  }

  private pump(): void {
    while (this.idle.length > 0 && this.head < this.queue.length) {
      const client = this.idle.pop() as pg.Client;
      const job = this.queue[this.head] as (client: pg.Client) => Promise<void>;
      this.queue[this.head++] = () => Promise.resolve();
      if (this.head > 4096 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      this.running++;
      void job(client).finally(() => {
        this.running--;
        this.idle.push(client);
        this.pump();
      });
    }
  }
}

async function main(config: LoadConfig): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('load.ts runs as a worker thread');
  const connect = async (name: string): Promise<pg.Client> => {
    const client = new pg.Client({ connectionString: config.url, application_name: name });
    client.on('error', () => undefined);
    await client.connect();
    return client;
  };
  const writers: pg.Client[] = [];
  const readers: pg.Client[] = [];
  for (let i = 0; i < config.writerConnections; i++)
    writers.push(await connect('bench-online:writer'));
  for (let i = 0; i < config.readerConnections; i++)
    readers.push(await connect('bench-online:reader'));
  const pids: number[] = [];
  for (const w of writers) {
    const res = await w.query<{ pid: number }>('select pg_backend_pid() as pid');
    pids.push(res.rows[0]?.pid ?? 0);
  }
  const watcher = await connect('bench-online:watcher');
  const writeLane = new Lane(writers);
  const readLane = new Lane(readers);
  const recorder = new Recorder();
  // Five minutes of operations queued means the database is stuck: stop queueing more.
  const maxQueued = Math.max(1000, (config.writeRate + config.readRate) * 300);
  let dropped = 0;
  let stopping = false;
  // The only control message is ControlMessage 'stop'.
  port.once('message', () => {
    stopping = true;
  });

  const fire = (lane: Lane, kind: OpKind, due: number, sql: string, params: unknown[]) => {
    if (recorder.pending.size >= maxQueued) {
      dropped++;
      return;
    }
    const slot = recorder.start(kind, due);
    lane.submit(async (client) => {
      recorder.sent(slot);
      try {
        await client.query(sql, params);
        recorder.finish(slot, true);
      } catch {
        recorder.finish(slot, false);
      }
    });
  };

  const randomId = () => 1 + Math.floor(Math.random() * config.maxId);
  const source = () =>
    `source_${String(1 + Math.floor(config.sources * Math.random() ** 3)).padStart(4, '0')}`;
  const docTypes = ['article', 'report', 'memo', 'email', 'invoice', 'contract', 'manual', 'note'];
  const docType = () => docTypes[Math.floor(docTypes.length * Math.random() ** 2)] ?? 'note';
  const payload = () => randomBytes(100).toString('hex');

  /** Issues op(i) at start + i·1000/rate until stopped; catches up at once after a stall. */
  const schedule = async (rate: number, op: (i: number, due: number) => void): Promise<void> => {
    if (rate <= 0) return;
    const step = 1000 / rate;
    const start = now();
    let i = 0;
    while (!stopping) {
      const t = now();
      while (start + i * step <= t) {
        op(i, start + i * step);
        i++;
      }
      await sleep(Math.max(0, start + i * step - now()));
    }
  };

  const waitInterval = 10;
  const ticks: number[] = [];
  const waitAt: number[] = [];
  const waitLabel: number[] = [];
  const labels: string[] = [];
  const labelIndex = new Map<string, number>();
  const watch = async (): Promise<void> => {
    while (!stopping) {
      const at = now();
      const res = await watcher.query<{ type: string | null; event: string | null }>(
        `select wait_event_type as type, wait_event as event from pg_stat_activity
          where pid = any($1::int[]) and state = 'active'`,
        [pids],
      );
      ticks.push(at);
      for (const row of res.rows) {
        const label = row.type === null ? 'CPU' : `${row.type}:${row.event ?? '?'}`;
        let index = labelIndex.get(label);
        if (index === undefined) {
          index = labels.length;
          labels.push(label);
          labelIndex.set(label, index);
        }
        waitAt.push(at);
        waitLabel.push(index);
      }
      await sleep(Math.max(0, at + waitInterval - now()));
    }
  };

  port.postMessage({ type: 'ready' } satisfies LoadMessage);
  await Promise.all([
    watch(),
    schedule(config.writeRate, (i, due) => {
      if (i % 2 === 0) {
        fire(
          writeLane,
          'insert',
          due,
          'insert into documents (source_name, doc_type, created_at, payload) values ($1, $2, now(), $3)',
          [source(), docType(), payload()],
        );
      } else {
        fire(
          writeLane,
          'update',
          due,
          'update documents set doc_type = $2, payload = $3 where id = $1',
          [randomId(), docType(), payload()],
        );
      }
    }),
    schedule(config.readRate, (_i, due) => {
      fire(readLane, 'read', due, 'select id, doc_type, created_at from documents where id = $1', [
        randomId(),
      ]);
    }),
  ]);

  const drainUntil = now() + config.drainMs;
  while ((writeLane.busy || readLane.busy) && now() < drainUntil) await sleep(20);
  const abandoned = recorder.abandonPending();
  port.postMessage({
    type: 'done',
    samples: recorder.samples(),
    dropped,
    abandoned,
    waits: {
      intervalMs: waitInterval,
      ticks: Float64Array.from(ticks),
      at: Float64Array.from(waitAt),
      label: Uint16Array.from(waitLabel),
      labels,
    },
  } satisfies LoadMessage);
  // A connection still stuck in a query must not keep the worker alive; the parent terminates it.
  for (const client of [...writers, ...readers, watcher]) void client.end().catch(() => undefined);
}

main(workerData as LoadConfig).catch((err: unknown) => {
  parentPort?.postMessage({
    type: 'error',
    message: err instanceof Error ? err.message : String(err),
  } satisfies LoadMessage);
});
