// The facts about the server that a benchmark report must state: its version, and the settings
// that decide whether indexes and TOAST stay in memory.
import type pg from 'pg';

export interface ServerFacts {
  readonly version: string;
  /** e.g. "effective_cache_size 4GB, shared_buffers 128MB, work_mem 4MB" */
  readonly settings: string;
}

export async function serverFacts(client: pg.ClientBase): Promise<ServerFacts> {
  const res = await client.query<{ v: string; s: string }>(
    `select current_setting('server_version') v,
            (select string_agg(name || ' ' || current_setting(name), ', ' order by name)
               from unnest(array['shared_buffers', 'effective_cache_size', 'work_mem']) name) s`,
  );
  return { version: res.rows[0]?.v ?? '?', settings: res.rows[0]?.s ?? '?' };
}
