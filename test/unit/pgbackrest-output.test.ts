// Reading pgBackRest's output: `info --output=json` into backup sets, and `verify`'s text,
// whose exit code is 0 even when it finds damage, into a verdict per set.
import { describe, expect, it } from 'vitest';
import {
  backupMadeSince,
  parseBackupInfo,
  parseVerifyText,
  verifyProblems,
} from '../../src/safety/snapshot/pgbackrest-output.js';

/** pgBackRest 2.45's `info --output=json` after a full and an incremental backup (trimmed). */
const INFO = `[{"archive":[{"database":{"id":1,"repo-key":1},"id":"15-1","max":"000000010000000000000004","min":"000000010000000000000001"}],
"backup":[
{"archive":{"start":"000000010000000000000002","stop":"000000010000000000000002"},"backrest":{"format":5,"version":"2.45"},"database":{"id":1,"repo-key":1},"error":false,"info":{"delta":26842714,"repository":{"delta":3494484,"size":3494484},"size":26842714},"label":"20261202-181241F","lsn":{"start":"0/2000028","stop":"0/2000100"},"prior":null,"reference":null,"timestamp":{"start":1796235161,"stop":1796235171},"type":"full"},
{"archive":{"start":"000000010000000000000004","stop":"000000010000000000000004"},"backrest":{"format":5,"version":"2.45"},"database":{"id":1,"repo-key":1},"error":false,"info":{"delta":8192,"repository":{"delta":512,"size":3494996},"size":26842714},"label":"20261202-181241F_20261202-181328I","lsn":{"start":"0/4000028","stop":"0/4000100"},"prior":"20261202-181241F","reference":["20261202-181241F"],"timestamp":{"start":1796235208,"stop":1796235218},"type":"incr"}],
"cipher":"none","db":[{"id":1,"repo-key":1,"system-id":7714771253180337512,"version":"15"}],"name":"main",
"repo":[{"cipher":"none","key":1,"status":{"code":0,"message":"ok"}}],"status":{"code":0,"lock":{"backup":{"held":false}},"message":"ok"}}]`;

const VERIFY_OK = `stanza: main
status: ok
  archiveId: 15-1, total WAL checked: 2, total valid WAL: 2
    missing: 0, checksum invalid: 0, size invalid: 0, other: 0
  backup: 20261202-181241F, status: valid, total files checked: 965, total valid files: 965
    missing: 0, checksum invalid: 0, size invalid: 0, other: 0
`;

const VERIFY_DAMAGED = `stanza: main
status: error
  archiveId: 15-1, total WAL checked: 4, total valid WAL: 3
    missing: 1, checksum invalid: 0, size invalid: 0, other: 0
  backup: 20261202-181241F, status: invalid, total files checked: 965, total valid files: 964
    missing: 0, checksum invalid: 1, size invalid: 0, other: 0
  backup: 20261202-181241F_20261202-181328I, status: valid, total files checked: 965, total valid files: 965
    missing: 0, checksum invalid: 0, size invalid: 0, other: 0
`;

describe('pgbackrest info', () => {
  it('reads each set with its sizes, times, prior set and versions', () => {
    const sets = parseBackupInfo(INFO, 'main');
    expect(sets.map((s) => [s.label, s.type, s.prior])).toEqual([
      ['20261202-181241F', 'full', null],
      ['20261202-181241F_20261202-181328I', 'incr', '20261202-181241F'],
    ]);
    expect(sets[1]).toMatchObject({
      sizeBytes: 26842714,
      deltaBytes: 8192,
      repositorySizeBytes: 3494996,
      repositoryDeltaBytes: 512,
      lsnStart: '0/4000028',
      pgVersion: '15',
      pgbackrestVersion: '2.45',
      error: false,
    });
    expect(sets[1]?.startedAt.toISOString()).toBe('2026-12-02T18:13:28.000Z');
  });

  it('finds the set a backup made: the first started at or after its start (whole seconds)', () => {
    const sets = parseBackupInfo(INFO, 'main');
    expect(backupMadeSince(sets, new Date('2026-12-02T18:13:28.400Z'))?.type).toBe('incr');
    expect(backupMadeSince(sets, new Date('2026-12-02T18:12:00Z'))?.type).toBe('full');
    expect(backupMadeSince(sets, new Date('2026-12-02T18:14:00Z'))).toBeNull();
  });

  it('names a stanza it does not list, and output that is not its JSON', () => {
    expect(() => parseBackupInfo(INFO, 'other')).toThrow('pgbackrest info knows no stanza other');
    expect(() => parseBackupInfo('ERROR: [055]: unable to load info file', 'main')).toThrow(
      /^pgbackrest info did not print JSON: ERROR: \[055\]/,
    );
    expect(() => parseBackupInfo('[{"name":"main"}]', 'main')).toThrow(
      /^pgbackrest info printed JSON of an unexpected shape \(0\.status: /,
    );
  });
});

describe('pgbackrest verify', () => {
  it('passes a valid set with an intact archive', () => {
    expect(verifyProblems(parseVerifyText(VERIFY_OK), '20261202-181241F')).toEqual([]);
  });

  it('fails a damaged set and any damage in the WAL archive, in words', () => {
    const report = parseVerifyText(VERIFY_DAMAGED);
    expect(report.status).toBe('error');
    expect(verifyProblems(report, '20261202-181241F')).toEqual([
      'backup 20261202-181241F is invalid: 964 of 965 files valid (1 with a wrong checksum)',
      'WAL archive 15-1: 1 missing',
    ]);
    // A valid set still needs the archive to recover.
    expect(verifyProblems(report, '20261202-181241F_20261202-181328I')).toEqual([
      'WAL archive 15-1: 1 missing',
    ]);
  });

  it('fails a set it did not check, and output without a status', () => {
    expect(verifyProblems(parseVerifyText(VERIFY_OK), '20990101-000000F')).toEqual([
      'pgbackrest verify did not check backup 20990101-000000F',
    ]);
    expect(() => parseVerifyText('')).toThrow('pgbackrest verify printed no status line');
  });
});
