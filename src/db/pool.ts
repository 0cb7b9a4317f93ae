import pg from 'pg';
import { z } from 'zod';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { describeDatabaseUrl, redactSecrets } from '../observability/redact.js';

/** The doc-server's pool settings; every field is validated with a message naming it. */
export const PoolConfigSchema = z
  .object({
    connectionString: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL'),
    max: z.number().int().min(1).max(1000).default(10),
    /** Connections kept open even when idle (pg.Pool has no native minimum; see warm()). */
    min: z.number().int().min(0).default(0),
    idleTimeoutMs: z.number().int().min(0).default(30_000),
    /** Recycle a connection after this long, so server-side memory and plan caches stay bounded. */
    maxLifetimeSeconds: z.number().int().min(0).default(1800),
    connectionTimeoutMs: z.number().int().min(1).default(5000),
    statementTimeoutMs: z.number().int().min(0).default(10_000),
    idleInTransactionSessionTimeoutMs: z.number().int().min(0).default(30_000),
    applicationName: z.string().min(1).max(63).default('doc-server'),
  })
  .strict()
  .refine((c) => c.min <= c.max, { message: 'min must not exceed max', path: ['min'] });
export type PoolConfig = z.infer<typeof PoolConfigSchema>;

export class PoolConfigError extends Error {
  readonly code = 'CONFIG_ERROR';

  constructor(message: string) {
    super(message);
    this.name = 'PoolConfigError';
  }
}

export interface PoolGauges {
  readonly total: number;
  readonly idle: number;
  readonly waiting: number;
}

export interface DocServerPool {
  readonly pool: pg.Pool;
  readonly config: PoolConfig;
  gauges(): PoolGauges;
  /** Opens `min` connections now, so the first requests do not pay for connecting. */
  warm(): Promise<void>;
  end(): Promise<void>;
}

/** Where the pool reports: its metrics into the server's registry, its errors into its log. */
export interface PoolObservers {
  readonly registry?: Registry;
  readonly logger?: Logger;
}

/** A pg.Pool that times every checkout, including those pool.query() makes. */
class MeasuredPool extends pg.Pool {
  constructor(
    config: pg.PoolConfig,
    private readonly onAcquired: (seconds: number, ok: boolean) => void,
  ) {
    super(config);
  }

  override connect(): Promise<pg.PoolClient>;
  override connect(
    callback: (
      err: Error | undefined,
      client: pg.PoolClient | undefined,
      done: (release?: unknown) => void,
    ) => void,
  ): void;
  override connect(
    callback?: (
      err: Error | undefined,
      client: pg.PoolClient | undefined,
      done: (release?: unknown) => void,
    ) => void,
  ): Promise<pg.PoolClient> | undefined {
    const started = performance.now();
    const seconds = (): number => (performance.now() - started) / 1000;
    if (callback) {
      super.connect((err, client, done) => {
        this.onAcquired(seconds(), err === undefined);
        callback(err, client, done);
      });
      return undefined;
    }
    return super.connect().then(
      (client) => {
        this.onAcquired(seconds(), true);
        return client;
      },
      (err: unknown) => {
        this.onAcquired(seconds(), false);
        throw err;
      },
    );
  }
}

/**
 * The pool's metrics in `registry`: connections by state and waiting clients read at scrape
 * time, checkout wait as a histogram, and errors of idle connections counted.
 */
function poolMetrics(registry: Registry, pool: () => pg.Pool, name: string) {
  const registers = [registry];
  const labels = { pool: name };
  new Gauge({
    name: 'docserver_pool_connections',
    help: 'Connections the doc-server pool holds, by state (idle, in_use).',
    labelNames: ['pool', 'state'],
    registers,
    collect() {
      const p = pool();
      this.set({ ...labels, state: 'idle' }, p.idleCount);
      this.set({ ...labels, state: 'in_use' }, p.totalCount - p.idleCount);
    },
  });
  new Gauge({
    name: 'docserver_pool_waiting_clients',
    help: 'Requests waiting for a connection from the doc-server pool.',
    labelNames: ['pool'],
    registers,
    collect() {
      this.set(labels, pool().waitingCount);
    },
  });
  new Gauge({
    name: 'docserver_pool_max_connections',
    help: 'The pool size limit (its max setting).',
    labelNames: ['pool'],
    registers,
    collect() {
      this.set(labels, pool().options.max);
    },
  });
  const acquire = new Histogram({
    name: 'docserver_pool_acquire_seconds',
    help: 'How long a request waited for a connection, by outcome (ok, error: timed out or refused).',
    labelNames: ['pool', 'outcome'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  });
  const errors = new Counter({
    name: 'docserver_pool_errors_total',
    help: 'Errors on idle pooled connections (server restart, network loss, terminated backend).',
    labelNames: ['pool'],
    registers,
  });
  return {
    acquired: (seconds: number, ok: boolean) => {
      acquire.observe({ ...labels, outcome: ok ? 'ok' : 'error' }, seconds);
    },
    error: () => {
      errors.inc(labels);
    },
  };
}

/** Validates `input` (naming the bad field, never echoing a password) and builds the pool. */
export function createPool(input: unknown, observers: PoolObservers = {}): DocServerPool {
  const parsed = PoolConfigSchema.safeParse(input);
  if (!parsed.success) {
    throw new PoolConfigError(
      `invalid pool config: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
    );
  }
  const config = parsed.data;
  const metrics = observers.registry
    ? poolMetrics(observers.registry, () => pool, config.applicationName)
    : null;
  const pool: pg.Pool = new MeasuredPool(
    {
      connectionString: config.connectionString,
      max: config.max,
      idleTimeoutMillis: config.idleTimeoutMs,
      maxLifetimeSeconds: config.maxLifetimeSeconds,
      connectionTimeoutMillis: config.connectionTimeoutMs,
      application_name: config.applicationName,
      // Server-side limits travel in the startup packet: no extra round trip per connection.
      statement_timeout: config.statementTimeoutMs,
      idle_in_transaction_session_timeout: config.idleInTransactionSessionTimeoutMs,
    },
    (seconds, ok) => metrics?.acquired(seconds, ok),
  );
  // An idle connection dropped by the server must not crash the doc-server, nor pass unseen.
  pool.on('error', (err) => {
    metrics?.error();
    observers.logger?.warn(
      { err: { message: redactSecrets(err.message), code: (err as { code?: string }).code } },
      'idle pooled connection failed; the pool replaces it',
    );
  });
  return {
    pool,
    config,
    gauges: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    async warm() {
      const clients = await Promise.all(Array.from({ length: config.min }, () => pool.connect()));
      for (const c of clients) c.release();
    },
    end: () => pool.end(),
  };
}

export function describePool(config: PoolConfig): string {
  return `${describeDatabaseUrl(config.connectionString)} (max ${config.max})`;
}
