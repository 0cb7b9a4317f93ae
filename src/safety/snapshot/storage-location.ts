// Where the CLI keeps snapshots, from one text: a directory, or `s3://bucket/prefix` with the
// S3 settings from the environment (the AWS SDK's own variables for credentials and region,
// DBMIGRATE_S3_* for what it has none for). The operator builds the same locations from a
// BackupSnapshot's spec. Opening an S3 location loads the AWS SDK; a directory never does.
import type { S3StorageOptions } from './s3-storage.js';
import { LocalDirectoryStorage, type SnapshotStorage } from './storage.js';

export type StorageLocation =
  | { readonly kind: 'directory'; readonly path: string }
  | ({ readonly kind: 's3' } & S3StorageOptions);

export class StorageLocationError extends Error {
  readonly code = 'USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'StorageLocationError';
  }
}

// S3's bucket naming rules (3-63 lowercase letters, digits, dots and hyphens).
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off', '']);

/**
 * Pure: whether a key prefix stays inside itself: no `..` part and no empty part but a
 * trailing slash (`a//b` and `/a` are refused; `a/b/` is fine).
 */
export function isSafeS3Prefix(prefix: string): boolean {
  return !prefix
    .split('/')
    .some((part, i, all) => part === '..' || (part === '' && i < all.length - 1));
}

/**
 * Pure: the location `text` names. `s3://bucket[/prefix]` is object storage, with
 * DBMIGRATE_S3_ENDPOINT, DBMIGRATE_S3_REGION (else AWS_REGION), DBMIGRATE_S3_PATH_STYLE,
 * DBMIGRATE_S3_SSE (AES256 or aws:kms) and DBMIGRATE_S3_KMS_KEY_ID from `env`; anything else is
 * a directory. `source` names where the text came from, for the error.
 */
export function parseStorageLocation(
  text: string,
  env: Readonly<Record<string, string | undefined>>,
  source: string,
): StorageLocation {
  if (!/^s3:\/\//i.test(text)) return { kind: 'directory', path: text };
  const rest = text.slice('s3://'.length);
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const prefix = slash < 0 ? '' : rest.slice(slash + 1);
  if (!BUCKET.test(bucket))
    throw new StorageLocationError(
      `${source}: "${text}" does not name an S3 bucket (s3://BUCKET/PREFIX; a bucket is 3-63 lowercase letters, digits, dots and hyphens)`,
    );
  if (!isSafeS3Prefix(prefix))
    throw new StorageLocationError(`${source}: the prefix of "${text}" has an empty or ".." part`);
  const pathStyle = (env['DBMIGRATE_S3_PATH_STYLE'] ?? '').toLowerCase();
  if (!TRUE.has(pathStyle) && !FALSE.has(pathStyle))
    throw new StorageLocationError(`DBMIGRATE_S3_PATH_STYLE: "${pathStyle}" is not true or false`);
  const sse = env['DBMIGRATE_S3_SSE'];
  if (sse !== undefined && sse !== '' && sse !== 'AES256' && sse !== 'aws:kms')
    throw new StorageLocationError(`DBMIGRATE_S3_SSE: "${sse}" is not AES256 or aws:kms`);
  const endpoint = env['DBMIGRATE_S3_ENDPOINT'];
  if (endpoint !== undefined && endpoint !== '' && !/^https?:\/\/[^\s/]+/.test(endpoint))
    throw new StorageLocationError(
      `DBMIGRATE_S3_ENDPOINT: "${endpoint}" is not an http:// or https:// URL`,
    );
  const region = env['DBMIGRATE_S3_REGION'] ?? env['AWS_REGION'];
  const kmsKeyId = env['DBMIGRATE_S3_KMS_KEY_ID'];
  return {
    kind: 's3',
    bucket,
    prefix,
    forcePathStyle: TRUE.has(pathStyle),
    ...(endpoint ? { endpoint } : {}),
    ...(region ? { region } : {}),
    ...(sse ? { serverSideEncryption: sse } : {}),
    ...(kmsKeyId ? { kmsKeyId } : {}),
  };
}

/** A storage handle; `close()` releases what it holds open (S3's sockets). */
export type OpenedStorage = SnapshotStorage & { close(): void };

/**
 * Opens the location. An S3 location is checked first (the bucket exists and the credentials
 * reach it), so a snapshot of hours does not find out at its first part.
 */
export async function openStorage(location: StorageLocation): Promise<OpenedStorage> {
  if (location.kind === 'directory') {
    const dir = new LocalDirectoryStorage(location.path);
    return Object.assign(dir, { close: () => undefined });
  }
  const { S3SnapshotStorage } = await import('./s3-storage.js');
  const s3 = new S3SnapshotStorage(location);
  try {
    await s3.check();
  } catch (err) {
    s3.destroy();
    throw err;
  }
  return Object.assign(s3, {
    close: () => {
      s3.destroy();
    },
  });
}
