// Throwaway databases for the benchmark, all named dbm_bench_engine_<pid>_<n> and all dropped
// at the end (also after a failure), so a run never touches any other database's data.
import pg from 'pg';

export class BenchDatabases {
  private readonly created = new Set<string>();
  private next = 1;

  private constructor(
    private readonly admin: pg.Client,
    private readonly adminUrl: URL,
  ) {}

  /** Connects to `adminUrl` only to issue CREATE/DROP DATABASE. */
  static async connect(adminUrl: string): Promise<BenchDatabases> {
    const admin = new pg.Client({ connectionString: adminUrl, application_name: 'bench-engine' });
    await admin.connect();
    return new BenchDatabases(admin, new URL(adminUrl));
  }

  /** `select version()`-style facts for the report. */
  async serverVersion(): Promise<string> {
    const res = await this.admin.query<{ server_version: string }>('show server_version');
    return res.rows[0]?.server_version ?? 'unknown';
  }

  /** Creates a fresh empty database and returns its URL. */
  async create(): Promise<{ name: string; url: string }> {
    const name = `dbm_bench_engine_${String(process.pid)}_${String(this.next++)}`;
    await this.admin.query(`create database ${name}`);
    this.created.add(name);
    const url = new URL(this.adminUrl);
    url.pathname = `/${name}`;
    return { name, url: url.toString() };
  }

  async drop(name: string): Promise<void> {
    await this.admin.query(`drop database if exists ${name} with (force)`);
    this.created.delete(name);
  }

  /** How many tables `t_NNNN` a run created: proof that the tool really did the work. */
  async countBenchTables(url: string): Promise<number> {
    const client = new pg.Client({ connectionString: url, application_name: 'bench-engine' });
    await client.connect();
    try {
      const res = await client.query<{ n: string }>(
        `select count(*) as n from pg_tables where schemaname = 'public' and tablename like 't\\_%'`,
      );
      return Number(res.rows[0]?.n ?? 0);
    } finally {
      await client.end();
    }
  }

  async close(): Promise<void> {
    for (const name of [...this.created]) {
      await this.drop(name).catch((err: unknown) => {
        process.stderr.write(`bench: could not drop ${name}: ${String(err)}\n`);
      });
    }
    await this.admin.end();
  }
}
