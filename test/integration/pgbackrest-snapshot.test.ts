// The `pgbackrest` snapshot method against a real pgBackRest (Debian's package) and a private
// cluster archiving WAL into its repository: take full and incremental backups, verify them
// (pgBackRest's checksums, then a restore that must start and hold the database), restore one
// into a private server for the staging dry-run (a delta restore the second time), and the
// faults: a damaged set, a directory that is not ours, a set that is gone, a wrong stanza.
import { spawnSync } from 'node:child_process';
import { chmod, chown, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InlineMigrationSource } from '../../src/engine/source.js';
import { configSettings, parseConfig } from '../../src/api/config.js';
import { resolveSettings } from '../../src/api/settings.js';
import { runDryRun } from '../../src/safety/dryrun/dry-run.js';
import { runSafeApply } from '../../src/safety/pipeline/safe-apply.js';
import { isVerified, type TableStats } from '../../src/safety/snapshot/manifest.js';
import {
  createPhysicalSnapshot,
  latestVerifiedPhysicalSnapshot,
  restorePhysicalSnapshot,
  verifyPhysicalSnapshot,
} from '../../src/safety/snapshot/physical-snapshot.js';
import { expireBackup } from '../../src/safety/snapshot/pgbackrest.js';
import {
  latestVerifiedSnapshot,
  listSnapshots,
  readManifest,
  restoreSnapshot,
} from '../../src/safety/snapshot/snapshot.js';
import { LocalDirectoryStorage } from '../../src/safety/snapshot/storage.js';
import { serverUser } from '../../src/safety/scratch/local-server.js';
import { startArchivingCluster, type ArchivingCluster } from '../../tools/archiving-cluster.js';
import { migrationText, migratorFor, writeMigrationDir } from '../helpers/migrations.js';

/** `dbmigrate` as a user runs it (the built CLI). */
function dbmigrate(args: readonly string[], env: Record<string, string>) {
  const res = spawnSync(process.execPath, ['dist/cli/dbmigrate.js', ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 180_000,
  });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

async function scalar<T>(url: string, sql: string): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const res = await client.query<{ v: T }>(sql);
    return res.rows[0]?.v as T;
  } finally {
    await client.end();
  }
}

/** Row counts of the application's tables (the history tables aside). */
function rowsOf(tables: readonly TableStats[]): Record<string, number> {
  return Object.fromEntries(
    tables.filter((t) => t.schema === 'public').map((t) => [t.name, t.rowCount]),
  );
}

const BASE = {
  file: '0001_items.sql',
  content: migrationText(`create extension vector;
create table items (id bigint primary key, name text, embedding vector(3));
insert into items select g, 'n' || g, array[g, 0, 1]::vector from generate_series(1, 5000) g;
create index items_name on items (name);`),
};

describe('pgbackrest snapshots', () => {
  let cluster: ArchivingCluster;
  let storageDir: string;
  let storage: LocalDirectoryStorage;

  beforeAll(async () => {
    cluster = await startArchivingCluster();
    await cluster.query('create database docs');
    await cluster.query('create database other');
    // Built by a migration, as production is: the dry-run needs its history.
    const built = await migratorFor(cluster.url('docs'), [BASE]).apply();
    expect([built.applied, built.error]).toEqual([1, null]);
    storageDir = await mkdtemp(join(tmpdir(), 'dbm-pgbr-snapshots-'));
    storage = new LocalDirectoryStorage(storageDir);
  }, 120_000);

  afterAll(async () => {
    await cluster.stop();
    await rm(storageDir, { recursive: true, force: true });
  });

  it('takes a full and an incremental backup, verifies each, and restores the newest into a private server (delta the second time)', async () => {
    const full = await createPhysicalSnapshot({
      databaseUrl: cluster.url('docs'),
      storage,
      pgbackrest: cluster.target,
      type: 'full',
    });
    expect(full.method).toBe('pgbackrest');
    expect(full.pgbackrest.type).toBe('full');
    expect(full.pgbackrest.label).toMatch(/^\d{8}-\d{6}F$/);
    expect(full.pgbackrest.sizeBytes).toBeGreaterThan(1_000_000);
    expect(full.pgbackrest.deltaBytes).toBe(full.pgbackrest.sizeBytes);
    expect(rowsOf(full.fingerprint.tables)).toEqual({ items: 5000 });
    expect(isVerified(full)).toBe(false);

    const verification = await verifyPhysicalSnapshot({
      storage,
      id: full.id,
      pgbackrest: cluster.target,
    });
    expect(verification.mismatches).toEqual([]);
    expect(verification.ok).toBe(true);
    expect(verification.backupLabel).toBe(full.pgbackrest.label);
    expect(isVerified(await readManifest(storage, full.id))).toBe(true);

    await cluster.query(
      "insert into items select g, 'n' || g, array[g, 0, 2]::vector from generate_series(5001, 6000) g",
      'docs',
    );
    const incr = await createPhysicalSnapshot({
      databaseUrl: cluster.url('docs'),
      storage,
      pgbackrest: cluster.target,
    });
    expect(incr.pgbackrest.type).toBe('incr');
    expect(incr.pgbackrest.prior).toBe(full.pgbackrest.label);
    // Only what changed was copied.
    expect(incr.pgbackrest.deltaBytes).toBeLessThan(full.pgbackrest.deltaBytes / 4);
    expect(
      (await verifyPhysicalSnapshot({ storage, id: incr.id, pgbackrest: cluster.target })).ok,
    ).toBe(true);
    const verified = await readManifest(storage, incr.id);
    expect(rowsOf(verified.fingerprint.tables)).toEqual({ items: 6000 });

    // Writes after the backup are not in the copy.
    await cluster.query('delete from items where id > 5500', 'docs');
    const parent = await mkdtemp(join(tmpdir(), 'dbm-pgbr-staging-'));
    // The restore and the copy's server run as the postgres system user: it must reach the copy.
    await chmod(parent, 0o755);
    const directory = join(parent, 'copy');
    try {
      const first = await restorePhysicalSnapshot({
        storage,
        id: incr.id,
        pgbackrest: cluster.target,
        directory,
      });
      try {
        expect(first.delta).toBe(false);
        expect(
          await scalar<string>(first.databaseUrl, 'select count(*)::text as v from items'),
        ).toBe('6000');
        // A copy of production on its own: no TCP port, no archiving into production's repository.
        expect(
          await scalar<string>(
            first.databaseUrl,
            "select current_setting('listen_addresses') as v",
          ),
        ).toBe('');
        expect(
          await scalar<string>(first.databaseUrl, "select current_setting('archive_mode') as v"),
        ).toBe('off');
        expect(await scalar<boolean>(first.databaseUrl, 'select pg_is_in_recovery() as v')).toBe(
          false,
        );
        await scalar(first.databaseUrl, 'alter table items add column note text');
      } finally {
        await first.stop();
      }
      // The second restore into the same directory copies only what differs, and undoes the
      // change the first copy took.
      const second = await restorePhysicalSnapshot({
        storage,
        id: incr.id,
        pgbackrest: cluster.target,
        directory,
      });
      try {
        expect(second.delta).toBe(true);
        expect(
          await scalar<string>(
            second.databaseUrl,
            "select string_agg(attname, ',' order by attnum) as v from pg_attribute where attrelid = 'items'::regclass and attnum > 0 and not attisdropped",
          ),
        ).toBe('id,name,embedding');
      } finally {
        await second.stop();
      }
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
    // Production kept its own rows.
    expect(await scalar<string>(cluster.url('docs'), 'select count(*)::text as v from items')).toBe(
      '5500',
    );
  }, 300_000);

  it('runs the dry-run on a copy restored from the newest verified pgBackRest snapshot, never on production', async () => {
    const files = [
      BASE,
      {
        file: '0002_note.sql',
        content: migrationText('alter table items add column note text;'),
      },
      {
        file: '0003_note_idx.sql',
        content: migrationText(
          'create index concurrently items_note on items (note);',
          undefined,
          '-- dbmigrate:transaction=false',
        ),
      },
    ];
    const report = await runDryRun({
      source: new InlineMigrationSource(files),
      staging: { kind: 'pgbackrest', storage, target: cluster.target },
      productionUrl: cluster.url('docs'),
      windowThresholdMs: 5000,
    });
    const newest = await latestVerifiedPhysicalSnapshot(storage, 'main');
    expect(report.staging).toMatchObject({ from: 'snapshot', snapshotId: newest?.id });
    expect(report.migrations.map((m) => [m.id, m.status, m.error])).toEqual([
      ['0002', 'applied', null],
      ['0003', 'applied', null],
    ]);
    expect(report.ok).toBe(true);
    expect(report.migrations[0]?.locks).toContainEqual(
      expect.objectContaining({ relation: 'items', mode: 'ACCESS EXCLUSIVE' }),
    );
    // Production has neither the column nor the history of it.
    expect(
      await scalar<string>(
        cluster.url('docs'),
        "select count(*)::text as v from information_schema.columns where table_name = 'items' and column_name = 'note'",
      ),
    ).toBe('0');
    expect(
      await scalar<string>(
        cluster.url('docs'),
        "select string_agg(id, ',') as v from dbmigrate.migration_history",
      ),
    ).toBe('0001');
    // Without the stanza, a dry-run asked for that snapshot says what it needs.
    await expect(
      runDryRun({
        source: new InlineMigrationSource(files),
        staging: {
          kind: 'snapshot',
          storage,
          serverUrl: cluster.url(),
          snapshotId: newest?.id ?? '',
        },
      }),
    ).rejects.toMatchObject({
      code: 'SNAPSHOT_REFUSED',
      message: expect.stringContaining('the dry-run restores it through its stanza') as string,
    });
  }, 120_000);

  it('works from the CLI: snapshot create --pgbackrest-stanza --verify, then a dry-run from it, with a delta restore the second time', async () => {
    const migrations = await writeMigrationDir([
      BASE,
      { file: '0002_note.sql', content: migrationText('alter table items add column note text;') },
    ]);
    const parent = await mkdtemp(join(tmpdir(), 'dbm-pgbr-cli-'));
    await chmod(parent, 0o755);
    const env = {
      DATABASE_URL: cluster.url('docs'),
      DBMIGRATE_PGBACKREST: cluster.target.bin ?? '',
      DBMIGRATE_PGBACKREST_CONFIG: cluster.target.config ?? '',
    };
    const common = ['--storage', storageDir, '--restore-dir', join(parent, 'copy')];
    try {
      const created = dbmigrate(
        ['snapshot', 'create', '--pgbackrest-stanza', 'main', '--verify', ...common],
        env,
      );
      expect(created.stderr).not.toMatch(/at .*\.js:\d+/);
      expect(created.status, created.stderr).toBe(0);
      expect(created.stdout).toMatch(
        /^snapshot docs-\S+: pgBackRest incr backup \d{8}-\d{6}F_\d{8}-\d{6}I of stanza main: [\d.]+ [KMG]iB of files, [\d.]+ [KMG]?i?B copied, .* added to the repository, .*; manifest in directory /m,
      );
      expect(created.stdout).toMatch(
        /^verified docs-\S+: pgBackRest found every file and the WAL archive intact/m,
      );
      for (const round of [1, 2]) {
        const dry = dbmigrate(
          ['dry-run', '--pgbackrest-stanza', 'main', '--migrations', migrations, ...common],
          env,
        );
        expect(dry.status, `round ${String(round)}: ${dry.stderr}`).toBe(0);
        expect(dry.stdout).toContain('0002');
      }
      // The copy stays for the next delta restore; nothing runs on it.
      expect((await readdir(join(parent, 'copy'))).sort()).toEqual(
        expect.arrayContaining(['data', 'dbmigrate-staging']) as string[],
      );
      expect(await readdir(join(parent, 'copy', 'data'))).not.toContain('postmaster.pid');
      // Without pgBackRest: a tool failure naming the binary, no stack trace, no password.
      const missing = dbmigrate(['snapshot', 'create', '--pgbackrest-stanza', 'main', ...common], {
        ...env,
        DATABASE_URL: cluster.url('docs').replace('postgres@', 'postgres:Sup3rS3cretPw@'),
        DBMIGRATE_PGBACKREST: '/nonexistent/pgbackrest',
      });
      expect(missing.status).toBe(7);
      expect(missing.stderr).toContain('pgbackrest is not installed at /nonexistent/pgbackrest');
      expect(missing.stderr).not.toMatch(/internal error|at .*\.js:\d+/);
      expect(missing.stderr + missing.stdout).not.toContain('Sup3rS3cretPw');
      // A stanza name pgBackRest would refuse is refused before anything runs.
      const bad = dbmigrate(['snapshot', 'create', '--pgbackrest-stanza', 'a b', ...common], env);
      expect(bad.status).toBe(2);
      expect(bad.stderr).toContain('--pgbackrest-stanza: "a b" is not a stanza name');
      // --keep keeps a pg_dump staging database; it would mean nothing here, so it is refused.
      const keep = dbmigrate(
        ['dry-run', '--pgbackrest-stanza', 'main', '--keep', '--migrations', migrations, ...common],
        env,
      );
      expect(keep.status).toBe(2);
      expect(keep.stderr).toContain('a pgBackRest copy is kept by --restore-dir DIR');
      // --backup-type without a stanza would be ignored by a pg_dump snapshot: refused.
      const typed = dbmigrate(['apply', '--safe', '--backup-type', 'full', ...common], env);
      expect(typed.status).toBe(2);
      expect(typed.stderr).toContain(
        '--backup-type is for pgBackRest snapshots: pass --pgbackrest-stanza too',
      );
      // So would --restore-dir and --pgbackrest-config: refused too, before anything runs.
      const before = await readdir(storageDir, { recursive: true });
      const kept = dbmigrate(['dry-run', '--migrations', migrations, ...common], env);
      expect(kept.status).toBe(2);
      expect(kept.stderr).toContain(
        '--restore-dir is for pgBackRest snapshots: pass --pgbackrest-stanza too',
      );
      const configured = dbmigrate(
        [
          'snapshot',
          'create',
          '--pgbackrest-config',
          '/etc/pgbackrest/x.conf',
          '--storage',
          storageDir,
        ],
        env,
      );
      expect(configured.status).toBe(2);
      expect(configured.stderr).toContain(
        '--pgbackrest-config is for pgBackRest snapshots: pass --pgbackrest-stanza too',
      );
      // A staging database used as it is restores nothing: they would be ignored there too.
      const staged = dbmigrate(
        ['dry-run', '--staging-url', cluster.url('docs'), '--migrations', migrations, ...common],
        env,
      );
      expect(staged.status).toBe(2);
      expect(staged.stderr).toContain(
        '--restore-dir is for pgBackRest snapshots: --staging-url names a staging database; nothing is restored',
      );
      expect(await readdir(storageDir, { recursive: true })).toEqual(before);
    } finally {
      await rm(parent, { recursive: true, force: true });
      await rm(migrations, { recursive: true, force: true });
    }
  }, 240_000);

  it('apply --safe with pgBackRest: backup, verify, dry-run on the restored copy, then apply and post-verify', async () => {
    const files = [
      BASE,
      {
        file: '0002_title.sql',
        content: migrationText('alter table items add column title text;'),
      },
    ];
    // The window verdict is not what this test is about (an ALTER on a loaded machine).
    const config = parseConfig({ windowThresholdMs: 5000 }, 'test');
    const report = await runSafeApply({
      databaseUrl: cluster.url('docs'),
      source: new InlineMigrationSource(files),
      config,
      settings: resolveSettings(configSettings(config)),
      storage,
      snapshotMethod: { kind: 'pgbackrest', target: cluster.target },
    });
    expect(report.steps.map((s) => [s.step, s.status])).toEqual([
      ['plan', 'ok'],
      ['lint', 'ok'],
      ['snapshot', 'ok'],
      ['verify-snapshot', 'ok'],
      ['dry-run', 'ok'],
      ['apply', 'ok'],
      ['post-verify', 'ok'],
    ]);
    expect(report.steps[2]?.detail).toMatch(
      /\(pgBackRest incr backup \d{8}-\d{6}F_\d{8}-\d{6}I, \d+ bytes\)$/,
    );
    expect(report.snapshot?.method).toBe('pgbackrest');
    expect(isVerified(await readManifest(storage, report.snapshot?.id ?? ''))).toBe(true);
    expect(report.dryRun?.staging.snapshotId).toBe(report.snapshot?.id);
    expect(
      await scalar<string>(
        cluster.url('docs'),
        "select string_agg(id, ',' order by id) as v from dbmigrate.migration_history",
      ),
    ).toBe('0001,0002');
  }, 240_000);

  it('refuses to restore a pgBackRest snapshot as a dump, and a dump route never picks one', async () => {
    const { manifests } = await listSnapshots(storage);
    const physical = manifests.find((m) => m.method === 'pgbackrest');
    expect(physical).toBeDefined();
    await expect(
      restoreSnapshot({ storage, id: physical?.id ?? '', targetUrl: cluster.url('restored') }),
    ).rejects.toMatchObject({
      code: 'SNAPSHOT_REFUSED',
      message: expect.stringMatching(
        /is a pgBackRest backup \(stanza main, set \d{8}-\d{6}F/,
      ) as string,
    });
    expect(await latestVerifiedSnapshot(storage)).toBeNull();
  });

  it('refuses a restore into a directory it did not make, and leaves what is there', async () => {
    const { manifests } = await listSnapshots(storage);
    const verified = manifests.find(isVerified);
    const directory = await mkdtemp(join(tmpdir(), 'dbm-pgbr-foreign-'));
    try {
      await writeFile(join(directory, 'precious.txt'), 'keep me');
      await expect(
        restorePhysicalSnapshot({
          storage,
          id: verified?.id ?? '',
          pgbackrest: cluster.target,
          directory,
        }),
      ).rejects.toMatchObject({
        code: 'PGBACKREST_REFUSED',
        message: expect.stringContaining(
          `${directory} is not empty and no earlier dbmigrate restore made it`,
        ) as string,
      });
      expect(await readdir(directory)).toEqual(['precious.txt']);
      expect(await readFile(join(directory, 'precious.txt'), 'utf8')).toBe('keep me');
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('fails verification of a damaged set, which then does not count', async () => {
    const snap = await createPhysicalSnapshot({
      databaseUrl: cluster.url('docs'),
      storage,
      pgbackrest: cluster.target,
      type: 'full',
    });
    // Damage one file of the set in the repository.
    const setDir = join(
      cluster.repository,
      'backup',
      'main',
      snap.pgbackrest.label,
      'pg_data',
      'global',
    );
    const file = (await readdir(setDir)).find((f) => f.endsWith('.gz'));
    expect(file).toBeDefined();
    await writeFile(join(setDir, file ?? ''), 'garbage', { flag: 'a' });
    const verification = await verifyPhysicalSnapshot({
      storage,
      id: snap.id,
      pgbackrest: cluster.target,
    });
    expect(verification.ok).toBe(false);
    expect(verification.mismatches).toEqual([
      expect.stringMatching(
        new RegExp(
          `^backup ${snap.pgbackrest.label} is invalid: \\d+ of \\d+ files valid \\(1 with a wrong checksum\\)$`,
        ),
      ),
    ]);
    await expect(
      restorePhysicalSnapshot({ storage, id: snap.id, pgbackrest: cluster.target }),
    ).rejects.toMatchObject({ code: 'SNAPSHOT_UNVERIFIED' });
  }, 120_000);

  it('says so when the set is gone from the repository', async () => {
    const snap = await createPhysicalSnapshot({
      databaseUrl: cluster.url('docs'),
      storage,
      pgbackrest: cluster.target,
      type: 'full',
    });
    await expireBackup(cluster.target, snap.pgbackrest.label).catch(async () => {
      // pgBackRest will not expire the newest full set: take another to make it older.
      await createPhysicalSnapshot({
        databaseUrl: cluster.url('docs'),
        storage,
        pgbackrest: cluster.target,
        type: 'full',
      });
      await expireBackup(cluster.target, snap.pgbackrest.label);
    });
    await expect(
      verifyPhysicalSnapshot({ storage, id: snap.id, pgbackrest: cluster.target }),
    ).rejects.toMatchObject({
      code: 'SNAPSHOT_NOT_FOUND',
      message: expect.stringContaining(
        `backup set ${snap.pgbackrest.label} is no longer in stanza main's repository`,
      ) as string,
    });
    // `snapshot list` shows it as unreadable, never as a snapshot to restore.
    const env = {
      DBMIGRATE_PGBACKREST: cluster.target.bin ?? '',
      DBMIGRATE_PGBACKREST_CONFIG: cluster.target.config ?? '',
    };
    const list = dbmigrate(['snapshot', 'list', '--storage', storageDir, '--json'], env);
    expect(list.status).toBe(0);
    const listed = JSON.parse(list.stdout) as {
      snapshots: { id: string }[];
      unreadable: { id: string; reason: string }[];
    };
    expect(listed.snapshots.map((s) => s.id)).not.toContain(snap.id);
    expect(listed.unreadable).toContainEqual({
      id: snap.id,
      reason: expect.stringContaining(`backup set ${snap.pgbackrest.label} is no longer`) as string,
    });
    // A repository out of reach is said, and the manifests are listed as they are.
    const blind = dbmigrate(['snapshot', 'list', '--storage', storageDir], {
      ...env,
      DBMIGRATE_PGBACKREST_CONFIG: '/nonexistent/pgbackrest.conf',
    });
    expect(blind.status).toBe(0);
    expect(blind.stdout).toContain(snap.id);
    expect(blind.stderr).toContain("could not check stanza main's backup sets");
  }, 120_000);

  it("restores with a repository host's configuration, whose pg1-host names production (the operator's pod)", async () => {
    const latest = await latestVerifiedPhysicalSnapshot(storage, 'main', 'docs');
    expect(latest).not.toBeNull();
    // The same repository, seen from a repository host: production is a TLS host it reaches.
    const text = await readFile(cluster.target.config ?? '', 'utf8');
    const remote = join(cluster.dir, 'pgbackrest-repo-host.conf');
    await writeFile(
      remote,
      text.replace(/^pg1-path=.*$/m, (line) =>
        [
          line,
          'pg1-host=production.db.invalid',
          'pg1-host-type=tls',
          // Its TLS client's files: read only when it connects, which a restore must not.
          'pg1-host-cert-file=/nonexistent/client.crt',
          'pg1-host-key-file=/nonexistent/client.key',
          'pg1-host-ca-file=/nonexistent/ca.crt',
        ].join('\n'),
      ),
    );
    const user = await serverUser();
    if (user !== null) await chown(remote, user.uid, user.gid);
    const copy = await restorePhysicalSnapshot({
      storage,
      id: latest?.id ?? '',
      pgbackrest: { ...cluster.target, config: remote },
    });
    try {
      expect(
        await scalar<string>(copy.databaseUrl, 'select count(*)::text as v from items'),
      ).toMatch(/^\d+$/);
    } finally {
      await copy.stop();
    }
  }, 120_000);

  it('names the stanza pgBackRest does not know, and records nothing', async () => {
    const before = await storage.listIds();
    await expect(
      createPhysicalSnapshot({
        databaseUrl: cluster.url('docs'),
        storage,
        pgbackrest: { ...cluster.target, stanza: 'nosuch' },
      }),
    ).rejects.toMatchObject({
      code: 'PGBACKREST_FAILED',
      message: expect.stringMatching(
        /^pgbackrest backup of stanza nosuch failed \(exit \d+\): .+/,
      ) as string,
    });
    expect(await storage.listIds()).toEqual(before);
  });

  it("runs the dry-run on the copy as production's role, never as the copy's superuser", async () => {
    await cluster.query('create role app_owner login');
    await cluster.query('create database appdb owner app_owner');
    const asApp = new URL(cluster.url('appdb'));
    asApp.username = 'app_owner';
    const appUrl = asApp.toString();
    const built = await migratorFor(appUrl, [
      { file: '0001_t.sql', content: migrationText('create table t (id int primary key);') },
    ]).apply();
    expect(built.error).toBeNull();
    const snap = await createPhysicalSnapshot({
      databaseUrl: appUrl,
      storage,
      pgbackrest: cluster.target,
      // Full: the sets the earlier tests expired leave no chain for an incremental to follow.
      type: 'full',
    });
    expect(
      (await verifyPhysicalSnapshot({ storage, id: snap.id, pgbackrest: cluster.target })).ok,
    ).toBe(true);
    const report = await runDryRun({
      source: new InlineMigrationSource([
        { file: '0001_t.sql', content: migrationText('create table t (id int primary key);') },
        // What production's role may not do: read the server's files.
        { file: '0002_peek.sql', content: migrationText("select pg_read_file('PG_VERSION');") },
      ]),
      staging: { kind: 'pgbackrest', storage, target: cluster.target, snapshotId: snap.id },
      productionUrl: appUrl,
      windowThresholdMs: 5000,
    });
    expect(report.migrations.map((m) => [m.id, m.status])).toEqual([['0002', 'failed']]);
    expect(report.migrations[0]?.error).toMatch(/permission denied for function pg_read_file/);
    expect(report.ok).toBe(false);
  }, 180_000);

  it('restores over a copy whose server died with its process, and refuses one whose server runs', async () => {
    const latest = await latestVerifiedPhysicalSnapshot(storage, 'main', 'docs');
    const parent = await mkdtemp(join(tmpdir(), 'dbm-pgbr-stale-'));
    await chmod(parent, 0o755);
    const directory = join(parent, 'copy');
    const restore = () =>
      restorePhysicalSnapshot({
        storage,
        id: latest?.id ?? '',
        pgbackrest: cluster.target,
        directory,
      });
    try {
      await (await restore()).stop();
      const pidFile = join(directory, 'data', 'postmaster.pid');
      // A live process in the pid file: a server may be running there.
      await writeFile(pidFile, `${String(process.pid)}\n${join(directory, 'data')}\n`);
      await expect(restore()).rejects.toMatchObject({
        code: 'PGBACKREST_REFUSED',
        message: expect.stringContaining(
          `a server is running on the copy in ${directory}`,
        ) as string,
      });
      // A process that has ended (the container restarted after an OOM kill, say).
      const gone = spawnSync('true').pid;
      await writeFile(pidFile, `${String(gone)}\n${join(directory, 'data')}\n`);
      const copy = await restore();
      try {
        expect(copy.delta).toBe(true);
        expect(await scalar<string>(copy.databaseUrl, 'select 1::text as v')).toBe('1');
      } finally {
        await copy.stop();
      }
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  }, 180_000);
});
