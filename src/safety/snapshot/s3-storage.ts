// Snapshots in S3-compatible object storage (AWS S3, SeaweedFS, MinIO, Ceph RGW, GCS's S3 API),
// through the AWS SDK v3. Keys are `<prefix><snapshotId>/<file>`. A dump streams up as a
// multipart upload with bounded memory (queueSize × partSize); S3 makes the object visible only
// when the upload completes, which is what `commit()` waits for, so an interrupted dump leaves
// no object (and, since the manifest is written last, no snapshot). Loaded only when a storage
// spec names a bucket: the SDK is large and the directory backend needs none of it.
import { PassThrough, Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  type ServerSideEncryption,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { SnapshotStorageError, type SnapshotStorage } from './storage.js';

export interface S3StorageOptions {
  readonly bucket: string;
  /** Key prefix, e.g. `prod/docserver/`; a trailing slash is added when missing. */
  readonly prefix?: string;
  /** Endpoint URL for non-AWS servers (`http://127.0.0.1:8333`); AWS's own when unset. */
  readonly endpoint?: string;
  readonly region?: string;
  /** Path-style URLs (`endpoint/bucket/key`), which most S3-compatible servers need. */
  readonly forcePathStyle?: boolean;
  /** Static credentials; the SDK's default chain (environment, profile, IRSA) when unset. */
  readonly credentials?: {
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    readonly sessionToken?: string;
  };
  /** Server-side encryption of every object written: `AES256` or `aws:kms` (with kmsKeyId). */
  readonly serverSideEncryption?: 'AES256' | 'aws:kms';
  readonly kmsKeyId?: string;
  /** Multipart part size in bytes (default 16 MiB; S3's minimum is 5 MiB). */
  readonly partSize?: number;
  /** Parts uploaded at once; memory held is about queueSize × partSize (default 2). */
  readonly queueSize?: number;
}

const DEFAULT_PART_SIZE = 16 * 1024 * 1024;
const MIN_PART_SIZE = 5 * 1024 * 1024;

function normalisedPrefix(prefix: string | undefined): string {
  const p = (prefix ?? '').replace(/^\/+/, '');
  return p === '' || p.endsWith('/') ? p : `${p}/`;
}

function isNotFound(err: unknown): boolean {
  return (
    err instanceof S3ServiceException &&
    (err.name === 'NoSuchKey' || err.name === 'NotFound' || err.$metadata.httpStatusCode === 404)
  );
}

export class S3SnapshotStorage implements SnapshotStorage {
  readonly description: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly encryption: {
    ServerSideEncryption?: ServerSideEncryption;
    SSEKMSKeyId?: string;
  };
  private readonly partSize: number;
  private readonly queueSize: number;

  constructor(options: S3StorageOptions) {
    this.bucket = options.bucket;
    this.prefix = normalisedPrefix(options.prefix);
    const where = options.endpoint ?? `AWS${options.region ? ` ${options.region}` : ''}`;
    this.description = `s3://${this.bucket}/${this.prefix} (${where})`;
    this.client = new S3Client({
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      // The SDK needs a region even for servers that ignore it.
      region: options.region ?? 'us-east-1',
      forcePathStyle: options.forcePathStyle ?? false,
      ...(options.credentials === undefined ? {} : { credentials: { ...options.credentials } }),
      // Checksums only where S3 requires them: not every S3-compatible server accepts the
      // flexible-checksum trailers the SDK would add to every upload; the manifest carries the
      // dump's sha256, and restore and verify check it.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 3,
      // The SDK waits forever by default: an endpoint that drops packets would hang a snapshot.
      requestHandler: { connectionTimeout: 10_000, socketTimeout: 120_000 },
    });
    this.encryption =
      options.serverSideEncryption === undefined
        ? {}
        : {
            ServerSideEncryption: options.serverSideEncryption,
            ...(options.kmsKeyId === undefined ? {} : { SSEKMSKeyId: options.kmsKeyId }),
          };
    this.partSize = Math.max(MIN_PART_SIZE, options.partSize ?? DEFAULT_PART_SIZE);
    this.queueSize = Math.max(1, options.queueSize ?? 2);
  }

  private key(key: string): string {
    if (key.startsWith('/') || key.split('/').some((part) => part === '..' || part === ''))
      throw new Error(`storage key is not a plain relative path: ${key}`);
    return `${this.prefix}${key}`;
  }

  /** What S3 said, as an error naming the bucket and the operation, never the credentials. */
  private failure(operation: string, err: unknown): SnapshotStorageError {
    const what = `${operation} in ${this.description}`;
    if (err instanceof S3ServiceException) {
      const status = err.$metadata.httpStatusCode;
      if (err.name === 'NoSuchBucket')
        return new SnapshotStorageError(
          'STORAGE_BUCKET_NOT_FOUND',
          `${what}: bucket ${this.bucket} does not exist`,
          { cause: err },
        );
      if (
        status === 403 ||
        err.name === 'AccessDenied' ||
        err.name === 'InvalidAccessKeyId' ||
        err.name === 'SignatureDoesNotMatch'
      )
        return new SnapshotStorageError(
          'STORAGE_ACCESS_DENIED',
          `${what}: access denied (${err.name}); check the access key, secret and bucket policy`,
          { cause: err },
        );
      return new SnapshotStorageError(
        'STORAGE_REQUEST_FAILED',
        `${what}: ${err.name}${status === undefined ? '' : ` (HTTP ${String(status)})`}`,
        { cause: err },
      );
    }
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    const message = err instanceof Error ? err.message : String(err);
    return new SnapshotStorageError(
      'STORAGE_UNREACHABLE',
      `${what}: ${code ?? 'request failed'}: ${message}`,
      { cause: err },
    );
  }

  private async send<T>(operation: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      throw this.failure(operation, err);
    }
  }

  /**
   * Checks that the bucket exists and these credentials reach it, before a snapshot starts
   * (a dump of hours should not find out at its first part).
   */
  async check(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      // HEAD responses have no body, so S3 reports a missing bucket as a bare 404.
      if (err instanceof S3ServiceException && err.$metadata.httpStatusCode === 404)
        throw new SnapshotStorageError(
          'STORAGE_BUCKET_NOT_FOUND',
          `checking ${this.description}: bucket ${this.bucket} does not exist`,
          { cause: err },
        );
      throw this.failure('checking the bucket', err);
    }
  }

  openWrite(key: string) {
    const fullKey = this.key(key);
    const stream = new PassThrough();
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: fullKey, Body: stream, ...this.encryption },
      partSize: this.partSize,
      queueSize: this.queueSize,
      leavePartsOnError: false,
    });
    // Started now, so parts go up while the writer writes; awaited by commit.
    const done = upload.done();
    // Until commit or abort awaits it, a failed upload must not be an unhandled rejection.
    done.catch(() => undefined);
    return Promise.resolve({
      stream,
      commit: async () => {
        if (!stream.writableEnded) stream.end();
        try {
          await done;
        } catch (err) {
          throw this.failure(`uploading ${key}`, err);
        }
      },
      abort: async () => {
        stream.destroy();
        await upload.abort().catch(() => undefined);
        await done.catch(() => undefined);
      },
    });
  }

  async openRead(key: string): Promise<Readable> {
    let res;
    try {
      res = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.key(key) }),
      );
    } catch (err) {
      // A missing object is the snapshot's problem (its caller says it cannot be restored),
      // not the storage's.
      if (isNotFound(err))
        throw new Error(`${key} does not exist in ${this.description}`, { cause: err });
      throw this.failure(`reading ${key}`, err);
    }
    if (!(res.Body instanceof Readable))
      throw new SnapshotStorageError(
        'STORAGE_REQUEST_FAILED',
        `reading ${key}: no body in the response`,
      );
    return res.Body;
  }

  async readText(key: string): Promise<string | null> {
    try {
      const res = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.key(key) }),
      );
      return (await res.Body?.transformToString('utf8')) ?? '';
    } catch (err) {
      if (isNotFound(err)) return null;
      throw this.failure(`reading ${key}`, err);
    }
  }

  async writeText(key: string, text: string): Promise<void> {
    // One PUT: S3 shows a reader the whole object or none of it.
    await this.send(`writing ${key}`, () =>
      this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.key(key),
          Body: text,
          ContentType: 'application/json',
          ...this.encryption,
        }),
      ),
    );
  }

  async listIds(): Promise<string[]> {
    const ids: string[] = [];
    let token: string | undefined;
    do {
      const res = await this.send('listing snapshots', () =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.prefix,
            Delimiter: '/',
            ...(token === undefined ? {} : { ContinuationToken: token }),
          }),
        ),
      );
      for (const p of res.CommonPrefixes ?? []) {
        const id = p.Prefix?.slice(this.prefix.length).replace(/\/$/, '');
        if (id) ids.push(id);
      }
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token !== undefined);
    return ids.sort();
  }

  private async keysUnder(id: string): Promise<string[]> {
    const prefix = `${this.key(id)}/`;
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const res = await this.send(`listing ${id}`, () =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: prefix,
            ...(token === undefined ? {} : { ContinuationToken: token }),
          }),
        ),
      );
      for (const o of res.Contents ?? []) if (o.Key !== undefined) keys.push(o.Key);
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token !== undefined);
    return keys;
  }

  /** Deletes a snapshot's objects and aborts its unfinished uploads (their parts cost storage). */
  async removeId(id: string): Promise<void> {
    const keys = await this.keysUnder(id);
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      const res = await this.send(`deleting ${id}`, () =>
        this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
        ),
      );
      const failed = res.Errors ?? [];
      if (failed.length > 0)
        throw new SnapshotStorageError(
          'STORAGE_REQUEST_FAILED',
          `deleting ${id} in ${this.description}: ${String(failed.length)} object(s) not deleted (${failed[0]?.Code ?? '?'}: ${failed[0]?.Key ?? '?'})`,
        );
    }
    await this.abortUploads(id);
    // Servers that keep folders (SeaweedFS's filer) would go on listing the emptied one; on
    // S3 this key does not exist and the delete is a no-op.
    await this.send(`deleting ${id}`, () =>
      this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: `${this.key(id)}/` })),
    );
  }

  private async abortUploads(id: string): Promise<void> {
    const prefix = `${this.key(id)}/`;
    const res = await this.send(`listing unfinished uploads of ${id}`, () =>
      this.client.send(new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: prefix })),
    );
    for (const u of res.Uploads ?? []) {
      if (u.Key === undefined || u.UploadId === undefined) continue;
      const { Key, UploadId } = u;
      try {
        await this.client.send(
          new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId }),
        );
      } catch (err) {
        // Its writer aborted it meanwhile: what this wanted.
        if (err instanceof S3ServiceException && err.name === 'NoSuchUpload') continue;
        throw this.failure(`aborting an unfinished upload of ${id}`, err);
      }
    }
  }

  /** S3 has no folders: an aborted snapshot leaves nothing but, perhaps, unfinished uploads. */
  async removeIdIfEmpty(id: string): Promise<void> {
    if ((await this.keysUnder(id)).length === 0) await this.abortUploads(id);
  }

  localPath(): string | null {
    return null;
  }

  async size(key: string): Promise<number | null> {
    try {
      const res = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(key) }),
      );
      return res.ContentLength ?? 0;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw this.failure(`reading the size of ${key}`, err);
    }
  }

  /** Closes the SDK's sockets, so a CLI process can exit at once. */
  destroy(): void {
    this.client.destroy();
  }
}
