import { spawn } from 'node:child_process';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cachedTool } from './cached-tool.js';
import { freePort } from './control-plane.js';

/** A real S3-compatible server (SeaweedFS `weed server -s3`) on loopback, for storage tests. */
export interface S3Server {
  /** `http://127.0.0.1:PORT`, for path-style requests. */
  readonly endpoint: string;
  /** The identity allowed everything (admin). */
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  stop(): Promise<void>;
}

/** The `weed` binary hack/seaweedfs.sh builds (cached by version). */
export function weedBinary(): string {
  return cachedTool('DBM_WEED_BIN', 'hack/seaweedfs.sh', 'SeaweedFS (weed)');
}

/**
 * Whether the S3 gateway answers: with identities configured, an unsigned request is refused
 * with 403, which is an answer.
 */
function answers(endpoint: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(`${endpoint}/`, { method: 'GET', timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode !== undefined && res.statusCode < 500);
    });
    req.on('error', () => {
      resolve(false);
    });
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

/**
 * Starts master, volume server, filer and S3 gateway in one `weed server` process on loopback
 * ports, with one admin identity (S3 without identities would accept anonymous requests, and
 * the credential tests need refusals), data in a temporary directory removed by `stop()`.
 */
export async function startS3Server(): Promise<S3Server> {
  const weed = weedBinary();
  const dir = await mkdtemp(join(tmpdir(), 'dbm-weed-'));
  const accessKeyId = `AKDBM${Math.random().toString(36).slice(2, 12).toUpperCase()}`;
  const secretAccessKey = `secret-${Math.random().toString(36).slice(2)}`;
  const config = join(dir, 's3.json');
  await writeFile(
    config,
    JSON.stringify({
      identities: [
        {
          name: 'admin',
          credentials: [{ accessKey: accessKeyId, secretKey: secretAccessKey }],
          actions: ['Admin', 'Read', 'Write', 'List', 'Tagging'],
        },
      ],
    }),
  );
  const ports: number[] = [];
  for (let i = 0; i < 8; i++) ports.push(await freePort());
  const [master, masterGrpc, volume, volumeGrpc, filer, filerGrpc, s3, s3Grpc] = ports.map(String);
  let log = '';
  const child = spawn(
    weed,
    [
      'server',
      `-dir=${dir}`,
      '-ip=127.0.0.1',
      '-ip.bind=127.0.0.1',
      `-master.port=${master ?? ''}`,
      `-master.port.grpc=${masterGrpc ?? ''}`,
      // Small volumes: the default reserves 30 GB per volume of a test's disk.
      '-master.volumeSizeLimitMB=64',
      `-volume.port=${volume ?? ''}`,
      `-volume.port.grpc=${volumeGrpc ?? ''}`,
      '-volume.max=8',
      '-filer',
      `-filer.port=${filer ?? ''}`,
      `-filer.port.grpc=${filerGrpc ?? ''}`,
      '-s3',
      `-s3.port=${s3 ?? ''}`,
      `-s3.port.grpc=${s3Grpc ?? ''}`,
      `-s3.config=${config}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const capture = (chunk: Buffer): void => {
    log = (log + chunk.toString()).slice(-20_000);
  };
  child.stdout.on('data', capture);
  child.stderr.on('data', capture);
  const endpoint = `http://127.0.0.1:${s3 ?? ''}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`weed server exited (${String(child.exitCode)}):\n${log}`);
    }
    if (await answers(endpoint)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`SeaweedFS S3 was not answering at ${endpoint} within 60 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { endpoint, accessKeyId, secretAccessKey, stop };
}

/**
 * A client of `server` with its admin identity (path-style), after creating `bucket`: a fresh
 * server may have no writable volume for a moment, so the creation is retried for 10 s.
 */
export async function adminClientWithBucket(server: S3Server, bucket: string): Promise<S3Client> {
  const client = new S3Client({
    endpoint: server.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  });
  for (let attempt = 0; ; attempt++) {
    try {
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
      return client;
    } catch (err) {
      if (attempt >= 40) {
        client.destroy();
        throw err;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
