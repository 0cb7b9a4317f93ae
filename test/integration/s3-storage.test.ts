// Snapshot storage in a real S3-compatible server (SeaweedFS on loopback, hack/seaweedfs.sh):
// streaming a dump up in parts, reading it back byte for byte, listing and deleting per snapshot,
// and the faults a user meets: an upload interrupted mid-way, wrong credentials, a bucket that
// does not exist, an endpoint nobody answers.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { ListMultipartUploadsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createSnapshot,
  listSnapshots,
  readManifest,
  restoreSnapshot,
  verifySnapshot,
} from '../../src/safety/snapshot/snapshot.js';
import { expectFingerprintMatches } from '../helpers/fingerprint.js';
import { adminUrl, createTestDatabase } from '../helpers/database.js';
import { S3SnapshotStorage, type S3StorageOptions } from '../../src/safety/snapshot/s3-storage.js';
import { SnapshotStorageError } from '../../src/safety/snapshot/storage.js';
import { freePort } from '../../tools/control-plane.js';
import { adminClientWithBucket, startS3Server, type S3Server } from '../../tools/seaweedfs.js';

const BUCKET = 'snapshots';
let server: S3Server;
let admin: S3Client;
const opened: S3SnapshotStorage[] = [];

function storage(over: Partial<S3StorageOptions> = {}): S3SnapshotStorage {
  const s = new S3SnapshotStorage({
    bucket: BUCKET,
    prefix: 'tests/',
    endpoint: server.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    partSize: 5 * 1024 * 1024,
    ...over,
  });
  opened.push(s);
  return s;
}

async function sha256Of(s: S3SnapshotStorage, key: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(
    await s.openRead(key),
    new Writable({
      write(chunk: Buffer, _e, done) {
        hash.update(chunk);
        done();
      },
    }),
  );
  return hash.digest('hex');
}

async function keysIn(prefix: string): Promise<string[]> {
  const res = await admin.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  return (res.Contents ?? []).flatMap((o) => (o.Key === undefined ? [] : [o.Key]));
}

async function unfinishedUploads(prefix: string): Promise<number> {
  const res = await admin.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: prefix }));
  return (res.Uploads ?? []).length;
}

beforeAll(async () => {
  server = await startS3Server();
  admin = await adminClientWithBucket(server, BUCKET);
}, 120_000);

afterAll(async () => {
  for (const s of opened) s.destroy();
  admin.destroy();
  await server.stop();
});

describe('S3 snapshot storage (SeaweedFS)', () => {
  it('streams a dump up in parts and reads back the same bytes; lists and deletes per snapshot', async () => {
    const s = storage();
    await s.check();
    const data = randomBytes(12 * 1024 * 1024 + 123);
    const out = await s.openWrite('snap-a/dump.pgdump');
    // Written in chunks, as pg_dump's pipe does; three 5 MiB parts.
    for (let i = 0; i < data.length; i += 64 * 1024)
      out.stream.write(data.subarray(i, i + 64 * 1024));
    out.stream.end();
    await out.commit();
    await s.writeText('snap-a/manifest.json', '{"id":"snap-a"}');
    await s.writeText('snap-b/manifest.json', '{"id":"snap-b"}');

    expect(await s.size('snap-a/dump.pgdump')).toBe(data.length);
    expect(await sha256Of(s, 'snap-a/dump.pgdump')).toBe(
      createHash('sha256').update(data).digest('hex'),
    );
    expect(await s.readText('snap-a/manifest.json')).toBe('{"id":"snap-a"}');
    expect(await s.readText('snap-a/missing.json')).toBeNull();
    expect(await s.size('snap-a/missing.pgdump')).toBeNull();
    expect(await s.listIds()).toEqual(['snap-a', 'snap-b']);
    // Another prefix in the same bucket is another store.
    expect(await storage({ prefix: 'elsewhere' }).listIds()).toEqual([]);

    await s.removeId('snap-a');
    expect(await s.listIds()).toEqual(['snap-b']);
    expect(await keysIn('tests/snap-a/')).toEqual([]);
    expect(await s.size('snap-a/dump.pgdump')).toBeNull();
    await expect(s.openRead('snap-a/dump.pgdump')).rejects.toThrow(/does not exist/);
    await s.removeId('snap-b');
  }, 60_000);

  it('holds a bounded amount of memory however large the dump (parts of 16 MiB, two in flight)', async () => {
    const s = storage({ partSize: 16 * 1024 * 1024 });
    const out = await s.openWrite('snap-big/dump.pgdump');
    const chunk = randomBytes(1024 * 1024);
    const total = 320;
    const base = process.memoryUsage().rss;
    let peak = base;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 20);
    try {
      for (let i = 0; i < total; i++) {
        // Backpressure, as from pg_dump's pipe: wait while the upload is behind.
        if (!out.stream.write(chunk)) await new Promise((r) => out.stream.once('drain', r));
      }
      out.stream.end();
      await out.commit();
    } finally {
      clearInterval(sampler);
    }
    expect(await s.size('snap-big/dump.pgdump')).toBe(total * chunk.length);
    // 320 MiB went through; what stayed resident at once is a few parts, plus garbage the
    // collector had not returned yet: far from the whole dump.
    expect((peak - base) / 1024 / 1024).toBeLessThan(160);
    await s.removeId('snap-big');
  }, 120_000);

  it('leaves no object and no unfinished upload when a dump is interrupted mid-way', async () => {
    const s = storage();
    const out = await s.openWrite('snap-cut/dump.pgdump');
    // More than one part, so the upload is a multipart upload with parts already stored.
    out.stream.write(randomBytes(11 * 1024 * 1024));
    await new Promise((r) => setTimeout(r, 500));
    await out.abort();
    await s.removeIdIfEmpty('snap-cut');
    expect(await s.size('snap-cut/dump.pgdump')).toBeNull();
    expect(await s.listIds()).not.toContain('snap-cut');
    expect(await keysIn('tests/snap-cut/')).toEqual([]);
    expect(await unfinishedUploads('tests/snap-cut/')).toBe(0);
  }, 60_000);

  it('refuses wrong credentials with a clear error that names the bucket, not the secret, and writes nothing', async () => {
    const secret = 'not-the-secret-0123456789';
    const s = storage({
      prefix: 'denied/',
      credentials: { accessKeyId: server.accessKeyId, secretAccessKey: secret },
    });
    const check = await s.check().then(
      () => null,
      (err: unknown) => err,
    );
    expect(check).toBeInstanceOf(SnapshotStorageError);
    expect((check as SnapshotStorageError).code).toBe('STORAGE_ACCESS_DENIED');
    expect((check as Error).message).toContain(`s3://${BUCKET}/denied/`);
    expect((check as Error).message).not.toContain(secret);

    await expect(s.writeText('x/manifest.json', '{}')).rejects.toMatchObject({
      code: 'STORAGE_ACCESS_DENIED',
    });
    const out = await s.openWrite('x/dump.pgdump');
    out.stream.end(randomBytes(1024));
    const commit = await out.commit().then(
      () => null,
      (err: unknown) => err,
    );
    expect(commit).toMatchObject({ code: 'STORAGE_ACCESS_DENIED' });
    expect((commit as Error).message).not.toContain(secret);
    expect(await keysIn('denied/')).toEqual([]);
  }, 60_000);

  it('says when the bucket does not exist', async () => {
    const s = storage({ bucket: 'no-such-bucket' });
    await expect(s.check()).rejects.toMatchObject({
      code: 'STORAGE_BUCKET_NOT_FOUND',
      message: expect.stringContaining('bucket no-such-bucket does not exist') as unknown,
    });
    // (No write is tried: SeaweedFS creates a bucket on the first PUT where S3 refuses; the
    // check above is what stands before every write.)
    await expect(s.listIds()).rejects.toMatchObject({ code: 'STORAGE_BUCKET_NOT_FOUND' });
  }, 60_000);

  it('says when nothing answers at the endpoint', async () => {
    const port = await freePort();
    const s = storage({ endpoint: `http://127.0.0.1:${String(port)}` });
    await expect(s.check()).rejects.toMatchObject({
      code: 'STORAGE_UNREACHABLE',
      message: expect.stringContaining(`127.0.0.1:${String(port)}`) as unknown,
    });
  }, 60_000);
});

describe('snapshots in S3 (SeaweedFS)', () => {
  async function seeded() {
    const db = await createTestDatabase('s3snap');
    await db.query(`
      create extension vector;
      create table docs (id bigint generated always as identity primary key, body text,
                         embedding vector(3));
      insert into docs (body, embedding)
        select 'doc ' || g, format('[%s,%s,%s]', g, g * 0.5, -g)::vector
          from generate_series(1, 2000) g;`);
    return db;
  }

  it('creates a snapshot in the bucket, verifies it by restoring what it reads back, and restores it', async () => {
    const db = await seeded();
    const s = storage({ prefix: 'roundtrip/' });
    const target = `${db.name}_from_s3`;
    const targetUrl = db.url.replace(`/${db.name}`, `/${target}`);
    try {
      const manifest = await createSnapshot({ databaseUrl: db.url, storage: s });
      // The manifest is an object of its own beside the dump, and says the dump's checksum.
      expect(await keysIn(`roundtrip/${manifest.id}/`)).toEqual([
        `roundtrip/${manifest.id}/dump.pgdump`,
        `roundtrip/${manifest.id}/manifest.json`,
      ]);
      expect(await sha256Of(s, `${manifest.id}/dump.pgdump`)).toBe(manifest.dumpSha256);

      const verification = await verifySnapshot({
        storage: s,
        id: manifest.id,
        scratchServerUrl: adminUrl(),
      });
      expect(verification).toMatchObject({ ok: true, mismatches: [] });
      expect((await readManifest(s, manifest.id)).verification?.ok).toBe(true);
      expect((await listSnapshots(s)).manifests.map((m) => m.id)).toEqual([manifest.id]);

      await restoreSnapshot({ storage: s, id: manifest.id, targetUrl });
      await expectFingerprintMatches(targetUrl, manifest.fingerprint);
    } finally {
      const admin = new pg.Client({ connectionString: adminUrl() });
      await admin.connect();
      await admin.query(`drop database if exists ${target} with (force)`);
      await admin.end();
      await db.drop();
    }
  }, 120_000);

  it('an interrupted snapshot leaves no manifest, no dump and no unfinished upload', async () => {
    const db = await seeded();
    const s = storage({ prefix: 'interrupted/' });
    try {
      const controller = new AbortController();
      const pending = createSnapshot({
        databaseUrl: db.url,
        storage: s,
        signal: controller.signal,
        onProgress: (p) => {
          if (p.phase === 'dump') controller.abort(new Error('operator pod deleted'));
        },
      });
      await expect(pending).rejects.toThrow();
      expect(await s.listIds()).toEqual([]);
      expect(await keysIn('interrupted/')).toEqual([]);
      expect(await unfinishedUploads('interrupted/')).toBe(0);
    } finally {
      await db.drop();
    }
  }, 120_000);

  it('dbmigrate snapshot create to s3:// with a wrong secret: exit 7, the bucket named, the secret nowhere, nothing written', async () => {
    const db = await seeded();
    const secret = 'wrong-secret-abcdef0123456789';
    try {
      const cli = (subcommand: string, secretAccessKey: string) =>
        spawnSync(
          process.execPath,
          ['dist/cli/dbmigrate.js', 'snapshot', subcommand, '--storage', `s3://${BUCKET}/cli/`],
          {
            encoding: 'utf8',
            env: {
              ...process.env,
              DATABASE_URL: db.url,
              DBMIGRATE_S3_ENDPOINT: server.endpoint,
              DBMIGRATE_S3_PATH_STYLE: 'true',
              AWS_ACCESS_KEY_ID: server.accessKeyId,
              AWS_SECRET_ACCESS_KEY: secretAccessKey,
              AWS_REGION: 'us-east-1',
            },
          },
        );
      const run = cli('create', secret);
      expect(run.status).toBe(7);
      expect(run.stderr).toMatch(/STORAGE_ACCESS_DENIED/);
      expect(run.stderr).toContain(`s3://${BUCKET}/cli/`);
      expect(run.stderr + run.stdout).not.toContain(secret);
      expect(run.stderr).not.toMatch(/\n\s+at /);
      expect(await keysIn('cli/')).toEqual([]);

      const ok = cli('list', server.secretAccessKey);
      expect(ok.stderr).toBe('');
      expect(ok.stdout).toContain(`no snapshots in s3://${BUCKET}/cli/`);
      expect(ok.status).toBe(0);
    } finally {
      await db.drop();
    }
  }, 120_000);
});
