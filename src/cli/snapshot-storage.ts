// The snapshot storage a CLI command uses: --storage, else DBMIGRATE_SNAPSHOT_DIR, else
// "snapshots.storage" in dbmigrate.json; a directory or s3://bucket/prefix (S3 settings from
// the environment: src/safety/snapshot/storage-location.ts).
import {
  openStorage,
  parseStorageLocation,
  type OpenedStorage,
} from '../safety/snapshot/storage-location.js';
import type { CommandIo } from './context.js';

export function snapshotStorage(
  flag: string | undefined,
  io: Pick<CommandIo, 'env'>,
  configured: string,
): Promise<OpenedStorage> {
  const fromEnv = io.env['DBMIGRATE_SNAPSHOT_DIR'];
  const [text, source] =
    flag !== undefined
      ? [flag, '--storage']
      : fromEnv !== undefined
        ? [fromEnv, 'DBMIGRATE_SNAPSHOT_DIR']
        : [configured, '"snapshots.storage" in dbmigrate.json'];
  return openStorage(parseStorageLocation(text, io.env, source));
}
