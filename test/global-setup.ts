import pg from 'pg';
import { adminUrl } from './helpers/database.js';

/** Fails the whole run at once, with the fix, when PostgreSQL or pgvector is not usable. */
export default async function setup(): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl() });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(
      `integration tests need PostgreSQL at ${adminUrl()} (${(err as Error).message}); run \`make setup\` (hack/setup-postgres.sh) first`,
      { cause: err },
    );
  }
  try {
    const res = await client.query<{ n: number }>(
      "select count(*)::int as n from pg_available_extensions where name = 'vector'",
    );
    if (res.rows[0]?.n !== 1) {
      throw new Error('pgvector is not installed; run `make setup` (hack/setup-postgres.sh) first');
    }
  } finally {
    await client.end();
  }
}
