// The pgBackRest target a resource's spec names: its stanza, and its configuration from a
// Secret written to a private file for as long as the work runs (it may hold the repository's
// credentials, so it is never left on disk, logged or put in status), or the operator pod's
// own /etc/pgbackrest/pgbackrest.conf.
import { chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PgBackRestSpec } from '../api/v1alpha1/backup-snapshot.js';
import { serverUser } from '../safety/scratch/local-server.js';
import type { PgBackRestTarget } from '../safety/snapshot/pgbackrest.js';
import type { ResourceApi } from './kube.js';
import { ResourceProblem } from './migration-source.js';

export interface OpenedPgBackRestTarget {
  readonly target: PgBackRestTarget;
  /** Removes the configuration file written for it, if any. */
  close(): Promise<void>;
}

/**
 * Where restores go under spec.restorePath: verifications in a folder per stanza, dry-runs in a
 * folder per stanza and database. Each is kept for the next restore there, a delta that copies
 * only what changed; the task lanes keep two restores out of one folder.
 */
export function restoreDirectory(
  spec: PgBackRestSpec,
  use: { readonly verify: true } | { readonly stagingFor: string },
): string {
  const safe = (text: string): string => text.replace(/[^A-Za-z0-9_.-]/g, '_');
  return join(
    spec.restorePath,
    'verify' in use
      ? `${safe(spec.stanza)}-verify`
      : `${safe(spec.stanza)}-${safe(use.stagingFor)}-staging`,
  );
}

export async function openPgBackRestTarget(
  api: ResourceApi,
  namespace: string,
  spec: PgBackRestSpec,
  field: string,
): Promise<OpenedPgBackRestTarget> {
  const base = {
    stanza: spec.stanza,
    ...(spec.processMax !== undefined && { processMax: spec.processMax }),
  };
  const ref = spec.config;
  if (ref === undefined) return { target: base, close: () => Promise.resolve() };
  const text = await api.readSecretKey(namespace, ref.name, ref.key);
  if (text === null || text.trim() === '') {
    throw new ResourceProblem(
      'SecretMissing',
      `${field}.config: Secret ${namespace}/${ref.name} does not exist or has no key ${ref.key}; it holds pgbackrest.conf`,
    );
  }
  const dir = await mkdtemp(join(tmpdir(), 'dbm-pgbackrest-'));
  try {
    const file = join(dir, 'pgbackrest.conf');
    await writeFile(file, text, { mode: 0o600 });
    // As root, pgBackRest runs as the postgres system user (pgbackrest.ts): it must read it.
    const user = await serverUser();
    if (user !== null) {
      await chown(dir, user.uid, user.gid);
      await chown(file, user.uid, user.gid);
    }
    return {
      target: { ...base, config: file },
      close: () => rm(dir, { recursive: true, force: true }),
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
