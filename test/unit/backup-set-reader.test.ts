import { describe, expect, it } from 'vitest';
import type { PgBackRestSpec } from '../../src/api/v1alpha1/backup-snapshot.js';
import { BackupSetReader, type PgBackRestSettings } from '../../src/operator/pgbackrest-target.js';
import type { SnapshotManifest } from '../../src/safety/snapshot/manifest.js';
import type { BackupSet } from '../../src/safety/snapshot/pgbackrest-output.js';

const settings = (configText: string | null): PgBackRestSettings => ({
  spec: { stanza: 'main', restorePath: '/restores' } as PgBackRestSpec,
  configText,
});
const set = (label: string) => ({ label }) as BackupSet;
/** A snapshot whose backup finished at `finishedAt` (the reader's clock). */
const manifest = (label: string, finishedAt = -1000) =>
  ({
    id: `docs-${label}`,
    method: 'pgbackrest',
    createdAt: new Date(finishedAt - 500).toISOString(),
    durationMs: 500,
    pgbackrest: { label },
  }) as SnapshotManifest;

/** A reader over a repository whose sets the test changes, counting the `pgbackrest info` runs. */
function repository(ttlMs = 60_000) {
  const state = { now: 0, reads: 0, labels: ['20261203-010000F'], fail: false };
  const reader = new BackupSetReader(
    ttlMs,
    () => {
      state.reads++;
      return state.fail
        ? Promise.reject(new Error('repository out of reach'))
        : Promise.resolve(state.labels.map(set));
    },
    () => state.now,
  );
  return { state, reader };
}

describe('BackupSetReader', () => {
  it('reads a repository once a minute however many snapshots are on it', async () => {
    const { state, reader } = repository();
    const checks = Array.from({ length: 30 }, () =>
      reader.problem('docs', settings('[main]'), manifest('20261203-010000F')),
    );
    expect(await Promise.all(checks)).toEqual(Array(30).fill(null));
    expect(state.reads).toBe(1);
    state.now = 59_000;
    await reader.problem('docs', settings('[main]'), manifest('20261203-010000F'));
    expect(state.reads).toBe(1);
    state.now = 60_000;
    await reader.problem('docs', settings('[main]'), manifest('20261203-010000F'));
    expect(state.reads).toBe(2);
  });

  it('keeps namespaces and configurations apart', async () => {
    const { state, reader } = repository();
    await reader.problem('docs', settings('[main]\nrepo1-path=/a'), manifest('20261203-010000F'));
    await reader.problem('docs', settings('[main]\nrepo1-path=/b'), manifest('20261203-010000F'));
    await reader.problem('shop', settings('[main]\nrepo1-path=/a'), manifest('20261203-010000F'));
    await reader.problem('shop', settings(null), manifest('20261203-010000F'));
    expect(state.reads).toBe(4);
  });

  it('reads again for a set newer than its kept read, not for one the read knew and lost', async () => {
    const { state, reader } = repository();
    state.now = 10_000;
    await reader.problem('docs', settings(null), manifest('20261203-010000F'));
    // A backup that finished after that read: not in it, but in the repository.
    state.labels.push('20261203-020000F');
    expect(
      await reader.problem('docs', settings(null), manifest('20261203-020000F', 20_000)),
    ).toBeNull();
    expect(state.reads).toBe(2);
    // Expired: said from the kept read, which began after the backup, within the minute.
    state.labels = ['20261203-020000F'];
    state.now = 30_000;
    expect(await reader.problem('docs', settings(null), manifest('20261203-010000F'))).toBeNull();
    state.now = 80_000;
    const gone =
      "snapshot docs-20261203-010000F: backup set 20261203-010000F is no longer in stanza main's repository (expired or removed); it cannot be restored";
    const checks = Array.from({ length: 10 }, () =>
      reader.problem('docs', settings(null), manifest('20261203-010000F')),
    );
    expect(await Promise.all(checks)).toEqual(Array(10).fill(gone));
    expect(state.reads).toBe(3);
  });

  it('keeps no failed read', async () => {
    const { state, reader } = repository();
    state.fail = true;
    await expect(
      reader.problem('docs', settings(null), manifest('20261203-010000F')),
    ).rejects.toThrow('repository out of reach');
    state.fail = false;
    expect(await reader.problem('docs', settings(null), manifest('20261203-010000F'))).toBeNull();
    expect(state.reads).toBe(2);
  });
});
