import { describe, expect, it } from 'vitest';
import {
  backupType,
  pgbackrestTarget,
  refusePgBackRestOnlyFlags,
} from '../../src/cli/pgbackrest-target.js';

const io = { stdout: () => undefined, env: {} };

describe('pgBackRest flags', () => {
  it('takes an incremental backup unless --backup-type says otherwise', () => {
    const target = pgbackrestTarget({ 'pgbackrest-stanza': 'main' }, io);
    expect(backupType({}, target)).toBe('incr');
    expect(backupType({ 'backup-type': 'full' }, target)).toBe('full');
    expect(backupType({ 'backup-type': 'diff' }, target)).toBe('diff');
  });

  it('refuses a --backup-type that is not one, or that has no stanza to back up', () => {
    const target = pgbackrestTarget({ 'pgbackrest-stanza': 'main' }, io);
    expect(() => backupType({ 'backup-type': 'FULL' }, target)).toThrow(
      '--backup-type: "FULL" is not one of full, diff, incr',
    );
    expect(() => backupType({ 'backup-type': 'full' }, null)).toThrow(
      '--backup-type is for pgBackRest snapshots: pass --pgbackrest-stanza too',
    );
  });

  it('refuses --restore-dir and --pgbackrest-config where a pg_dump snapshot would ignore them', () => {
    expect(() => {
      refusePgBackRestOnlyFlags({ 'restore-dir': '/copy' }, 'pass --pgbackrest-stanza too');
    }).toThrow('--restore-dir is for pgBackRest snapshots: pass --pgbackrest-stanza too');
    expect(() => {
      refusePgBackRestOnlyFlags({ 'pgbackrest-config': '/etc/x.conf' }, 'why');
    }).toThrow('--pgbackrest-config is for pgBackRest snapshots: why');
    expect(() => {
      refusePgBackRestOnlyFlags({ 'pgbackrest-stanza': 'main' }, 'why');
    }).not.toThrow();
  });

  it('names the flag or variable of a bad stanza name', () => {
    expect(() => pgbackrestTarget({ 'pgbackrest-stanza': 'a b' }, io)).toThrow(
      '--pgbackrest-stanza: "a b" is not a stanza name',
    );
    expect(() =>
      pgbackrestTarget({}, { ...io, env: { DBMIGRATE_PGBACKREST_STANZA: '../x' } }),
    ).toThrow('DBMIGRATE_PGBACKREST_STANZA: "../x" is not a stanza name');
  });
});
