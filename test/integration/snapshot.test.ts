import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  applyRetention,
  createSnapshot,
  listSnapshots,
  readManifest,
  restoreSnapshot,
  verifySnapshot,
} from '../../src/safety/snapshot/snapshot.js';
import { LocalDirectoryStorage } from '../../src/safety/snapshot/storage.js';
import pg from 'pg';
import { expectFingerprintMatches } from '../helpers/fingerprint.js';
import { adminUrl, createTestDatabase, type TestDatabase } from '../helpers/database.js';

async function seed(db: TestDatabase): Promise<void> {
  await db.query(`
    create extension vector;
    create table sources (name text primary key);
    create table docs (
      id bigint generated always as identity primary key,
      source text not null references sources (name),
      body text, meta jsonb, at timestamptz default now(), embedding vector(3));
    create index docs_source_idx on docs (source);
    insert into sources values ('a'), ('b');
    insert into docs (source, body, meta, embedding)
      select case when g % 3 = 0 then 'a' else 'b' end, 'doc ' || g, jsonb_build_object('g', g),
             format('[%s,%s,%s]', g, g * 0.5, -g)::vector
        from generate_series(1, 500) g;`);
}

describe('snapshots', () => {
  let db: TestDatabase;
  let storage: LocalDirectoryStorage;
  let dir: string;
  const restored: string[] = [];
  beforeEach(async () => {
    db = await createTestDatabase('snap');
    await seed(db);
    dir = await mkdtemp(join(tmpdir(), 'dbm-snapshots-'));
    storage = new LocalDirectoryStorage(dir);
  });
  afterEach(async () => {
    await db.drop();
    const admin = new pg.Client({ connectionString: adminUrl() });
    await admin.connect();
    for (const name of restored.splice(0))
      await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  });

  it('writes a dump and a manifest, verifies it, and restores to identical counts and checksums', async () => {
    const manifest = await createSnapshot({ databaseUrl: db.url, storage });
    expect(manifest.fingerprint.tables.map((t) => [t.name, t.rowCount])).toEqual([
      ['docs', 500],
      ['sources', 2],
    ]);
    expect(manifest.fingerprint.extensions.map((e) => e.name)).toContain('vector');
    expect(manifest.dumpSizeBytes).toBeGreaterThan(1000);
    expect(manifest.source).not.toContain('password');

    const verification = await verifySnapshot({
      storage,
      id: manifest.id,
      scratchServerUrl: adminUrl(),
    });
    expect(verification).toMatchObject({ ok: true, mismatches: [] });
    expect((await readManifest(storage, manifest.id)).verification?.ok).toBe(true);
    // The scratch database is gone.
    const scratch = await db.query('select 1 from pg_database where datname = $1', [
      verification.scratchDatabase,
    ]);
    expect(scratch.rowCount).toBe(0);

    const target = `${db.name}_restored`;
    restored.push(target);
    const targetUrl = db.url.replace(`/${db.name}`, `/${target}`);
    await restoreSnapshot({ storage, id: manifest.id, targetUrl });
    await expectFingerprintMatches(targetUrl, manifest.fingerprint);
  });

  it('describes exactly what the dump holds even while writes continue', async () => {
    const state = { writing: true };
    const writer = (async () => {
      let n = 0;
      while (state.writing && n < 2000) {
        await db.query("insert into docs (source, body) values ('a', 'concurrent')");
        n++;
      }
      return n;
    })();
    const manifest = await createSnapshot({ databaseUrl: db.url, storage });
    state.writing = false;
    const written = await writer;
    expect(written).toBeGreaterThan(0);
    const verification = await verifySnapshot({
      storage,
      id: manifest.id,
      scratchServerUrl: adminUrl(),
    });
    expect(verification.mismatches).toEqual([]);
  });

  it('fails verification for a corrupted dump and for a truncated one', async () => {
    const a = await createSnapshot({ databaseUrl: db.url, storage });
    const path = join(dir, a.id, a.dumpFile);
    const bytes = await readFile(path);
    const middle = Math.floor(bytes.length / 2);
    bytes.writeUInt8(bytes.readUInt8(middle) ^ 0xff, middle);
    await writeFile(path, bytes);
    const corrupt = await verifySnapshot({ storage, id: a.id, scratchServerUrl: adminUrl() });
    expect(corrupt.ok).toBe(false);
    expect(corrupt.mismatches[0]).toMatch(/dump file is damaged/);

    const b = await createSnapshot({ databaseUrl: db.url, storage });
    await truncate(join(dir, b.id, b.dumpFile), Math.floor(b.dumpSizeBytes / 3));
    const truncated = await verifySnapshot({ storage, id: b.id, scratchServerUrl: adminUrl() });
    expect(truncated.ok).toBe(false);
    expect((await readManifest(storage, b.id)).verification?.ok).toBe(false);
    await expect(
      restoreSnapshot({
        storage,
        id: b.id,
        targetUrl: db.url.replace(`/${db.name}`, `/${db.name}_x`),
      }),
    ).rejects.toThrow(/is not verified/);
  });

  it('catches a restore whose rows differ from the manifest', async () => {
    const m = await createSnapshot({ databaseUrl: db.url, storage });
    // Tamper with the manifest's recorded count, as if the dump had lost rows.
    const key = join(dir, m.id, 'manifest.json');
    const json = JSON.parse(await readFile(key, 'utf8')) as {
      fingerprint: { tables: { rowCount: number }[] };
    };
    const docs = json.fingerprint.tables[0];
    if (docs) docs.rowCount += 1;
    await writeFile(key, JSON.stringify(json));
    const v = await verifySnapshot({ storage, id: m.id, scratchServerUrl: adminUrl() });
    expect(v.mismatches).toEqual(['table public.docs has 500 rows, expected 501']);
  });

  it('refuses to restore over a database that holds tables', async () => {
    const m = await createSnapshot({ databaseUrl: db.url, storage });
    await verifySnapshot({ storage, id: m.id, scratchServerUrl: adminUrl() });
    await expect(restoreSnapshot({ storage, id: m.id, targetUrl: db.url })).rejects.toThrow(
      /already holds 2 tables; restore only into a new or empty database/,
    );
  });

  it('lists snapshots newest first and applies retention, keeping the newest verified one', async () => {
    const first = await createSnapshot({ databaseUrl: db.url, storage, checksums: 'counts' });
    await verifySnapshot({ storage, id: first.id, scratchServerUrl: adminUrl() });
    const second = await createSnapshot({ databaseUrl: db.url, storage, checksums: 'counts' });
    const third = await createSnapshot({ databaseUrl: db.url, storage, checksums: 'counts' });
    await writeFile(join(dir, 'broken-one'), '');
    const { manifests } = await listSnapshots(storage);
    expect(manifests.map((m) => m.id)).toEqual([third.id, second.id, first.id]);
    const removed = await applyRetention(
      storage,
      { keepLast: 1 },
      { databaseUrl: db.url, owner: 'cli' },
    );
    expect(removed).toEqual([second.id]);
    expect((await listSnapshots(storage)).manifests.map((m) => m.id)).toEqual([third.id, first.id]);
  });

  it("retention never selects another database's or another owner's snapshots", async () => {
    const other = await createTestDatabase('snap_other');
    try {
      await seed(other);
      const others = [
        await createSnapshot({ databaseUrl: other.url, storage, checksums: 'counts' }),
        await createSnapshot({ databaseUrl: other.url, storage, checksums: 'counts' }),
      ];
      const operators = [
        await createSnapshot({
          databaseUrl: db.url,
          storage,
          checksums: 'counts',
          owner: 'kubernetes:team-a',
        }),
        await createSnapshot({
          databaseUrl: db.url,
          storage,
          checksums: 'counts',
          owner: 'kubernetes:team-a',
        }),
      ];
      const mine = [
        await createSnapshot({ databaseUrl: db.url, storage, checksums: 'counts' }),
        await createSnapshot({ databaseUrl: db.url, storage, checksums: 'counts' }),
        await createSnapshot({ databaseUrl: db.url, storage, checksums: 'counts' }),
      ];
      // The same database reached as another role is still the same database.
      const asOtherRole = new URL(db.url);
      asOtherRole.username = 'someone_else';
      const removed = await applyRetention(
        storage,
        { keepLast: 1 },
        { databaseUrl: asOtherRole.toString(), owner: 'cli' },
      );
      expect(removed.sort()).toEqual([mine[0]?.id, mine[1]?.id].sort());
      const left = (await listSnapshots(storage)).manifests.map((m) => m.id);
      for (const kept of [...others, ...operators, mine[2]]) expect(left).toContain(kept?.id);
    } finally {
      await other.drop();
    }
  });

  it('does not list a snapshot whose dump is gone as usable, and says why', async () => {
    const m = await createSnapshot({ databaseUrl: db.url, storage, checksums: 'counts' });
    await verifySnapshot({ storage, id: m.id, scratchServerUrl: adminUrl() });
    await rm(join(dir, m.id, 'dump.pgdump'));
    const { manifests, unreadable } = await listSnapshots(storage);
    expect(manifests).toEqual([]);
    expect(unreadable).toEqual([
      { id: m.id, reason: `snapshot ${m.id}: its dump file is missing; it cannot be restored` },
    ]);
  });

  it('leaves no manifest behind when the snapshot is removed while it is being verified', async () => {
    const m = await createSnapshot({ databaseUrl: db.url, storage, checksums: 'counts' });
    // The removal lands after the dump was read for the restore, before the result is written.
    const racing = Object.assign(Object.create(storage) as LocalDirectoryStorage, {
      openRead: async (key: string) => {
        const stream = await storage.openRead(key);
        stream.once('end', () => void storage.removeId(m.id));
        return stream;
      },
    });
    await expect(
      verifySnapshot({ storage: racing, id: m.id, scratchServerUrl: adminUrl() }),
    ).rejects.toThrow(
      /its dump file is missing; it cannot be restored \(removed while it was being verified\)/,
    );
    expect(await storage.listIds()).toEqual([]);
  });

  it('an aborted snapshot leaves neither a dump nor a manifest', async () => {
    const controller = new AbortController();
    const pending = createSnapshot({
      databaseUrl: db.url,
      storage,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.phase === 'dump' || p.phase === 'checksum') controller.abort(new Error('deleted'));
      },
    });
    await expect(pending).rejects.toThrow();
    expect(await storage.listIds()).toEqual([]);
  });
});
