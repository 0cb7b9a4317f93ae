import pg from 'pg';
import { z } from 'zod';
import { describeDatabaseUrl } from '../observability/redact.js';

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

/** Validates `input` (naming the bad field, never echoing a password) and builds the pool. */
export function createPool(input: unknown): DocServerPool {
  const parsed = PoolConfigSchema.safeParse(input);
  if (!parsed.success) {
    throw new PoolConfigError(
      `invalid pool config: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
    );
  }
  const config = parsed.data;
  const pool = new pg.Pool({
    connectionString: config.connectionString,
    max: config.max,
    idleTimeoutMillis: config.idleTimeoutMs,
    maxLifetimeSeconds: config.maxLifetimeSeconds,
    connectionTimeoutMillis: config.connectionTimeoutMs,
    application_name: config.applicationName,
    // Server-side limits travel in the startup packet: no extra round trip per connection.
    statement_timeout: config.statementTimeoutMs,
    idle_in_transaction_session_timeout: config.idleInTransactionSessionTimeoutMs,
  });
  // An idle connection dropped by the server must not crash the doc-server.
  pool.on('error', () => undefined);
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
