import pg from 'pg';
import { describeDatabaseUrl, redactSecrets } from '../observability/redact.js';

/** One dedicated server session; the engine's advisory lock lives exactly as long as it. */
export interface DatabaseSession {
  readonly client: pg.ClientBase;
  release(): Promise<void>;
}

/** Where sessions come from: a URL (CLI, operator) or the doc-server's own pool. */
export interface DatabaseConnector {
  connect(applicationName: string): Promise<DatabaseSession>;
  /** Which database, without credentials, for messages. */
  readonly description: string;
}

/** Raised when no session could be opened; the message never contains a password. */
export class DatabaseUnreachableError extends Error {
  readonly code = 'CONNECTION_ERROR';

  constructor(
    readonly target: string,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(`cannot connect to ${target}: ${redactSecrets(detail)}`, options);
    this.name = 'DatabaseUnreachableError';
  }
}

/**
 * A connected session on `url`, or DatabaseUnreachableError (no password in it). An idle
 * session that drops must not crash the process, so its 'error' events are absorbed; the
 * next query reports the failure.
 */
export async function openClient(
  url: string,
  applicationName: string,
  options: { connectTimeoutMs?: number } = {},
): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: url,
    application_name: applicationName.slice(0, 63),
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw new DatabaseUnreachableError(describeDatabaseUrl(url), errorText(err), { cause: err });
  }
  return client;
}

export function connectorFromUrl(
  url: string,
  options: { connectTimeoutMs?: number } = {},
): DatabaseConnector {
  return {
    description: describeDatabaseUrl(url),
    async connect(applicationName) {
      const client = await openClient(url, applicationName, options);
      return {
        client,
        release: async () => {
          await client.end().catch(() => undefined);
        },
      };
    },
  };
}

/** `user@host:port/db` of a pool's settings (its connection string, else its fields), no password. */
export function describePoolDatabase(pool: pg.Pool): string {
  const o = pool.options as pg.PoolConfig;
  if (o.connectionString) return describeDatabaseUrl(o.connectionString);
  const user = o.user ?? process.env['PGUSER'];
  const host = o.host ?? process.env['PGHOST'] ?? 'localhost';
  const port = o.port ?? process.env['PGPORT'];
  return `${user ? `${user}@` : ''}${host}${port ? `:${String(port)}` : ''}/${o.database ?? process.env['PGDATABASE'] ?? ''}`;
}

/** Sessions borrowed from an existing pool; application_name is set for the borrow and reset. */
export function connectorFromPool(
  pool: pg.Pool,
  description = describePoolDatabase(pool),
): DatabaseConnector {
  return {
    description,
    async connect(applicationName) {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (err) {
        throw new DatabaseUnreachableError(description, errorText(err), { cause: err });
      }
      try {
        await client.query('select set_config($1, $2, false)', [
          'application_name',
          applicationName.slice(0, 63),
        ]);
      } catch (err) {
        client.release(err instanceof Error ? err : true);
        throw new DatabaseUnreachableError(description, errorText(err), { cause: err });
      }
      return {
        client,
        release: async () => {
          try {
            // Session state (advisory locks, settings) must not leak into the pool.
            await client.query('select pg_advisory_unlock_all(); reset all');
            client.release();
          } catch (err) {
            client.release(err instanceof Error ? err : true);
          }
        },
      };
    },
  };
}

export function errorText(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) {
    return err.errors.map((e: unknown) => errorText(e)).join('; ');
  }
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
