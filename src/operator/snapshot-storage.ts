// Where a BackupSnapshot's files live, from its spec.storage: a directory on a mounted volume,
// or S3-compatible object storage with credentials from the resource's namespace. The same
// locations and storage backends as the CLI's --storage (src/safety/snapshot/storage-location.ts).
import type { SnapshotStorageSpec } from '../api/v1alpha1/backup-snapshot.js';
import { SnapshotStorageError } from '../safety/snapshot/storage.js';
import {
  openStorage,
  type OpenedStorage,
  type StorageLocation,
} from '../safety/snapshot/storage-location.js';
import type { ResourceApi } from './kube.js';
import { ResourceProblem } from './migration-source.js';

/** Pure: the text status shows for a snapshot's location (never a credential). */
export function snapshotLocationText(spec: SnapshotStorageSpec, id: string): string {
  if (spec.s3) {
    const prefix = (spec.s3.prefix ?? '').replace(/^\/+/, '');
    const sep = prefix === '' || prefix.endsWith('/') ? '' : '/';
    return `s3://${spec.s3.bucket}/${prefix}${sep}${id}`;
  }
  return `${spec.path ?? ''}/${id}`;
}

/**
 * The location spec.storage names, credentials read from their Secrets. A missing Secret or
 * key is a ResourceProblem naming the field and the Secret, never a value.
 */
export async function snapshotStorageLocation(
  api: ResourceApi,
  namespace: string,
  spec: SnapshotStorageSpec,
  field: string,
): Promise<StorageLocation> {
  const s3 = spec.s3;
  if (!s3) {
    if (spec.path === undefined)
      throw new ResourceProblem('StorageInvalid', `${field}: set exactly one of path or s3`);
    return { kind: 'directory', path: spec.path };
  }
  const read = async (
    ref: { readonly name: string; readonly key: string },
    what: string,
  ): Promise<string> => {
    const value = await api.readSecretKey(namespace, ref.name, ref.key);
    if (value === null || value.trim() === '')
      throw new ResourceProblem(
        'SecretMissing',
        `${field}.s3.credentials.${what}: Secret ${namespace}/${ref.name} does not exist or has no key ${ref.key}`,
      );
    return value.trim();
  };
  const c = s3.credentials;
  const credentials = c && {
    accessKeyId: await read(c.accessKeyId, 'accessKeyId'),
    secretAccessKey: await read(c.secretAccessKey, 'secretAccessKey'),
    ...(c.sessionToken && { sessionToken: await read(c.sessionToken, 'sessionToken') }),
  };
  return {
    kind: 's3',
    bucket: s3.bucket,
    prefix: s3.prefix ?? '',
    forcePathStyle: s3.forcePathStyle === true,
    ...(s3.endpoint !== undefined && { endpoint: s3.endpoint }),
    ...(s3.region !== undefined && { region: s3.region }),
    ...(credentials && { credentials }),
    ...(s3.serverSideEncryption !== undefined && {
      serverSideEncryption: s3.serverSideEncryption,
    }),
    ...(s3.kmsKeyId !== undefined && { kmsKeyId: s3.kmsKeyId }),
  };
}

/**
 * Opens spec.storage for one use; the caller closes it. A store that refuses or cannot be
 * reached is a ResourceProblem (StorageUnavailable) with the store's own message, which names
 * the bucket and endpoint and never a credential.
 */
export async function openSnapshotStorage(
  api: ResourceApi,
  namespace: string,
  spec: SnapshotStorageSpec,
  field: string,
): Promise<OpenedStorage> {
  const location = await snapshotStorageLocation(api, namespace, spec, field);
  try {
    return await openStorage(location);
  } catch (err) {
    if (err instanceof SnapshotStorageError)
      throw new ResourceProblem('StorageUnavailable', `${field}: ${err.message}`);
    throw err;
  }
}

/** Runs `work` with spec.storage open, and closes it after. */
export async function withSnapshotStorage<T>(
  api: ResourceApi,
  namespace: string,
  spec: SnapshotStorageSpec,
  field: string,
  work: (storage: OpenedStorage) => Promise<T>,
): Promise<T> {
  const storage = await openSnapshotStorage(api, namespace, spec, field);
  try {
    return await work(storage);
  } finally {
    storage.close();
  }
}
