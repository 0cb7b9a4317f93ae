import { splitter } from './fixtures.js';
import { describe, it, expect } from 'vitest';
import { migrationChecksum } from '../../src/engine/checksum.js';
import { MigrationError, MigrationParseError } from '../../src/engine/errors.js';
import { isMigrationFileName, parseMigrationFile } from '../../src/engine/migration-file.js';

/** Runs the parser and returns the MigrationParseError it must throw. */
function parseError(file: string, text: string): MigrationParseError {
  try {
    parseMigrationFile(file, text, splitter);
  } catch (err) {
    expect(err).toBeInstanceOf(MigrationParseError);
    return err as MigrationParseError;
  }
  throw new Error(`expected ${file} to be refused, but it parsed`);
}

function lines(...l: string[]): string {
  return l.join('\n');
}

describe('parseMigrationFile: a well-formed file', () => {
  it('takes the ID and name from the file name and the up SQL from below the marker', () => {
    const m = parseMigrationFile(
      'migrations/0001_create_users.sql',
      lines('-- migrate:up', 'create table users (id int);', ''),
      splitter,
    );
    expect(m.id).toBe('0001');
    expect(m.name).toBe('create_users');
    expect(m.file).toBe('migrations/0001_create_users.sql');
    expect(m.up).toEqual({
      sql: 'create table users (id int);\n',
      startLine: 2,
      statements: [{ sql: 'create table users (id int)', line: 2 }],
    });
    expect(m.down).toBeNull();
  });

  it('keeps the ID exactly as written, leading zeros included', () => {
    expect(parseMigrationFile('007_x.sql', '-- migrate:up\nselect 1;', splitter).id).toBe('007');
    expect(parseMigrationFile('12_x.sql', '-- migrate:up\nselect 1;', splitter).id).toBe('12');
  });

  it('accepts names with digits, dots and dashes', () => {
    const m = parseMigrationFile('0002_add.v2-index_1.sql', '-- migrate:up\nselect 1;', splitter);
    expect(m.name).toBe('add.v2-index_1');
  });

  it('defaults to a transactional migration with no dependencies, timeouts or window', () => {
    const m = parseMigrationFile('0001_x.sql', '-- migrate:up\nselect 1;', splitter);
    expect(m.directives).toEqual({ transaction: true, depends: [], window: 'none' });
  });

  it('records the checksum of the up section', () => {
    const m = parseMigrationFile(
      '0001_x.sql',
      '-- migrate:up\nselect 1;\n-- migrate:down\nselect 2;',
      splitter,
    );
    expect(m.checksum).toBe(migrationChecksum('select 1;'));
    expect(m.checksum).toMatch(/^[0-9a-f]{64}$/);
  });

  it('splits up and down sections and gives each its first file line', () => {
    const text = lines(
      '-- a comment about this migration',
      '-- migrate:up',
      'create table a (id int);',
      'create table b (id int);',
      '-- migrate:down',
      'drop table b;',
      'drop table a;',
    );
    const m = parseMigrationFile('0003_ab.sql', text, splitter);
    expect(m.up.startLine).toBe(3);
    expect(m.up.sql).toBe('create table a (id int);\ncreate table b (id int);');
    expect(m.down).toEqual({
      sql: 'drop table b;\ndrop table a;',
      startLine: 6,
      statements: [
        { sql: 'drop table b', line: 6 },
        { sql: 'drop table a', line: 7 },
      ],
    });
  });

  it('reports statements of the up section on their real file lines', () => {
    const text = lines(
      '-- dbmigrate:transaction=false',
      '',
      '-- migrate:up',
      'create table a (id int);',
      '',
      'create index concurrently a_id on a (id);',
    );
    const m = parseMigrationFile('0004_idx.sql', text, splitter);
    expect(m.up.statements.map((s) => s.line)).toEqual([4, 6]);
  });

  it('treats a down section that holds only comments as no down section', () => {
    const m = parseMigrationFile(
      '0001_x.sql',
      lines(
        '-- migrate:up',
        'select 1;',
        '-- migrate:down',
        '-- irreversible',
        '/* on purpose */',
        '',
      ),
      splitter,
    );
    expect(m.down).toBeNull();
  });

  it('accepts markers without a space, in any case and with surrounding blanks', () => {
    const m = parseMigrationFile(
      '0001_x.sql',
      lines('  --migrate:up  ', 'select 1;', '\t-- MIGRATE:DOWN', 'select 2;'),
      splitter,
    );
    expect(m.up.sql).toBe('select 1;');
    expect(m.down?.sql).toBe('select 2;');
  });

  it('allows comments and blank lines above the up marker', () => {
    const m = parseMigrationFile(
      '0001_x.sql',
      lines(
        '-- Adds the users table.',
        '',
        '-- Owner: platform team',
        '-- migrate:up',
        'select 1;',
      ),
      splitter,
    );
    expect(m.up.startLine).toBe(5);
  });
});

describe('parseMigrationFile: header directives', () => {
  it('reads every directive from one header line', () => {
    const m = parseMigrationFile(
      '0003_x.sql',
      lines(
        '-- dbmigrate:transaction=false depends=0001,0002 lock_timeout=5s statement_timeout=1min lock_retries=2 window=required',
        '-- migrate:up',
        'create index concurrently i on t (c);',
      ),
      splitter,
    );
    expect(m.directives).toEqual({
      transaction: false,
      depends: ['0001', '0002'],
      lockTimeoutMs: 5_000,
      statementTimeoutMs: 60_000,
      lockRetries: 2,
      window: 'required',
    });
  });

  it('reads max_parallel_maintenance_workers, and leaves it unset when not given', () => {
    const m = parseMigrationFile(
      '0004_x.sql',
      lines(
        '-- dbmigrate:transaction=false max_parallel_maintenance_workers=2',
        '-- migrate:up',
        'create index concurrently i on t (c);',
      ),
      splitter,
    );
    expect(m.directives.maxParallelMaintenanceWorkers).toBe(2);
    const plain = parseMigrationFile('0005_x.sql', lines('-- migrate:up', 'select 1;'), splitter);
    expect(plain.directives).not.toHaveProperty('maxParallelMaintenanceWorkers');
  });

  it('reads wal_compression, refusing a value PostgreSQL does not take with the line', () => {
    const m = parseMigrationFile(
      '0004_x.sql',
      lines(
        '-- dbmigrate:transaction=false wal_compression=ZSTD',
        '-- migrate:up',
        'create index concurrently i on t (c);',
      ),
      splitter,
    );
    expect(m.directives.walCompression).toBe('zstd');
    const plain = parseMigrationFile('0005_x.sql', lines('-- migrate:up', 'select 1;'), splitter);
    expect(plain.directives).not.toHaveProperty('walCompression');
    expect(() =>
      parseMigrationFile(
        '0006_x.sql',
        lines('-- dbmigrate:wal_compression=gzip', '-- migrate:up', 'select 1;'),
        splitter,
      ),
    ).toThrow('0006_x.sql:1: directive wal_compression: must be one of off, on, pglz, lz4, zstd');
    // On a transactional migration it would be ignored: refused, naming its line.
    expect(() =>
      parseMigrationFile(
        '0007_x.sql',
        lines('-- a comment', '-- dbmigrate:wal_compression=lz4', '-- migrate:up', 'select 1;'),
        splitter,
      ),
    ).toThrow(
      '0007_x.sql:2: directive wal_compression: applies to a transaction=false migration only',
    );
  });

  it('reads directives spread over several header lines and merges depends lists', () => {
    const m = parseMigrationFile(
      '0005_x.sql',
      lines(
        '-- dbmigrate:depends=0001',
        '-- some prose in between',
        '-- dbmigrate:depends=0003 lock_timeout=500ms',
        '-- dbmigrate:transaction=true',
        '-- migrate:up',
        'select 1;',
      ),
      splitter,
    );
    expect(m.directives.depends).toEqual(['0001', '0003']);
    expect(m.directives.lockTimeoutMs).toBe(500);
    expect(m.directives.transaction).toBe(true);
  });

  it('tolerates a trailing comma in a depends list', () => {
    const m = parseMigrationFile(
      '0003_x.sql',
      lines('-- dbmigrate:depends=0001,0002,', '-- migrate:up', 'select 1;'),
      splitter,
    );
    expect(m.directives.depends).toEqual(['0001', '0002']);
  });

  it('accepts directive keys in any case', () => {
    const m = parseMigrationFile(
      '0001_x.sql',
      lines('-- DBMIGRATE:Transaction=false Lock_Timeout=2s', '-- migrate:up', 'select 1;'),
      splitter,
    );
    expect(m.directives.transaction).toBe(false);
    expect(m.directives.lockTimeoutMs).toBe(2_000);
  });

  it('reads a bare number as milliseconds and lock_retries=0 as no retries', () => {
    const m = parseMigrationFile(
      '0001_x.sql',
      lines('-- dbmigrate:statement_timeout=250 lock_retries=0', '-- migrate:up', 'select 1;'),
      splitter,
    );
    expect(m.directives.statementTimeoutMs).toBe(250);
    expect(m.directives.lockRetries).toBe(0);
  });

  it('accepts window=none explicitly', () => {
    const m = parseMigrationFile(
      '0001_x.sql',
      lines('-- dbmigrate:window=none', '-- migrate:up', 'select 1;'),
      splitter,
    );
    expect(m.directives.window).toBe('none');
  });
});

describe('parseMigrationFile: refusals name the file and line', () => {
  it('refuses SQL above the up marker and names line 3', () => {
    const err = parseError(
      'migrations/0001_x.sql',
      lines(
        '-- dbmigrate:transaction=false',
        '',
        'create table t (id int);',
        '-- migrate:up',
        'select 1;',
      ),
    );
    expect(err.code).toBe('PARSE_ERROR');
    expect(err.file).toBe('migrations/0001_x.sql');
    expect(err.line).toBe(3);
    expect(err.message).toMatch(/^migrations\/0001_x\.sql:3: SQL before the -- migrate:up marker/);
  });

  it('is a MigrationError named MigrationParseError', () => {
    const err = parseError('0001_x.sql', 'select 1;');
    expect(err).toBeInstanceOf(MigrationError);
    expect(err.name).toBe('MigrationParseError');
  });

  it('refuses an unknown directive on line 2 and lists the known ones', () => {
    const err = parseError(
      '0001_x.sql',
      lines('-- header', '-- dbmigrate:transactional=false', '-- migrate:up', 'select 1;'),
    );
    expect(err.line).toBe(2);
    expect(err.message).toContain('directive transactional: unknown directive');
    expect(err.message).toContain('lock_timeout');
  });

  it('refuses a directive without a value', () => {
    const err = parseError(
      '0001_x.sql',
      lines('-- dbmigrate:transaction', '-- migrate:up', 'select 1;'),
    );
    expect(err.line).toBe(1);
    expect(err.message).toContain('"transaction" must be key=value');
  });

  it('refuses a directive below the up marker instead of silently reading it as SQL', () => {
    const err = parseError(
      '0001_x.sql',
      lines(
        '-- migrate:up',
        '-- dbmigrate:transaction=false',
        'create index concurrently i on t (a);',
      ),
    );
    expect(err.message).toBe(
      '0001_x.sql:2: a -- dbmigrate: directive below -- migrate:up is not read; move it above the marker',
    );
  });

  it('says how to write a duration that was split by a space', () => {
    const err = parseError(
      '0001_x.sql',
      lines('-- dbmigrate:lock_timeout=5 minutes', '-- migrate:up', 'select 1;'),
    );
    expect(err.message).toBe(
      '0001_x.sql:1: directive "minutes" must be key=value (write a duration without spaces, e.g. lock_timeout=5min)',
    );
  });

  it('refuses a directive with an empty key', () => {
    const err = parseError(
      '0001_x.sql',
      lines('', '-- dbmigrate:=5s', '-- migrate:up', 'select 1;'),
    );
    expect(err.line).toBe(2);
    expect(err.message).toContain('must be key=value');
  });

  it.each([
    ['lock_timeout=5years', 'lock_timeout'],
    ['lock_timeout=fast', 'lock_timeout'],
    ['lock_timeout=30m1h', 'lock_timeout'],
    ['statement_timeout=2mo', 'statement_timeout'],
    ['statement_timeout=-1s', 'statement_timeout'],
  ])('refuses the bad duration %s on its line', (directive, key) => {
    const err = parseError(
      '0001_x.sql',
      lines(
        '-- ok',
        '-- dbmigrate:transaction=true',
        `-- dbmigrate:${directive}`,
        '-- migrate:up',
        'select 1;',
      ),
    );
    expect(err.line).toBe(3);
    expect(err.message).toContain(`directive ${key}: must be a duration`);
  });

  it.each([
    ['transaction=yes', 'transaction: must be true or false'],
    ['transaction=FALSE', 'transaction: must be true or false'],
    ['depends=abc', 'depends: must be a comma-separated list'],
    ['depends=0001,x2', 'depends: must be a comma-separated list'],
    ['depends=', 'depends: must be a comma-separated list'],
    ['depends=,', 'depends: must be a comma-separated list'],
    ['lock_retries=two', 'lock_retries: must be a whole number'],
    ['lock_retries=-1', 'lock_retries: must be a whole number'],
    ['window=sometimes', 'window: must be required or none'],
    ['max_parallel_maintenance_workers=two', 'max_parallel_maintenance_workers: must be a whole'],
    ['max_parallel_maintenance_workers=2000', 'max_parallel_maintenance_workers: must be a whole'],
  ])('refuses %s and says why', (directive, why) => {
    const err = parseError(
      '0001_x.sql',
      lines(`-- dbmigrate:${directive}`, '-- migrate:up', 'select 1;'),
    );
    expect(err.line).toBe(1);
    expect(err.message).toContain(why);
  });

  it('refuses a file without an up marker and points at line 1', () => {
    const err = parseError('0001_x.sql', lines('-- just a comment', '-- another'));
    expect(err.line).toBe(1);
    expect(err.message).toContain('missing the -- migrate:up marker');
  });

  it('refuses an empty file', () => {
    const err = parseError('0001_x.sql', '');
    expect(err.message).toContain('missing the -- migrate:up marker');
  });

  it('refuses a down marker before the up marker and names the down line', () => {
    const err = parseError(
      '0001_x.sql',
      lines('-- header', '-- migrate:down', 'drop table t;', '-- migrate:up', 'create table t ();'),
    );
    expect(err.line).toBe(2);
    expect(err.message).toContain('-- migrate:down before -- migrate:up');
  });

  it('refuses a second up marker and names its line', () => {
    const err = parseError(
      '0001_x.sql',
      lines('-- migrate:up', 'select 1;', '-- migrate:up', 'select 2;'),
    );
    expect(err.line).toBe(3);
    expect(err.message).toContain('second -- migrate:up marker');
  });

  it('refuses an up marker after the down section and names its line', () => {
    const err = parseError(
      '0001_x.sql',
      lines('-- migrate:up', 'select 1;', '-- migrate:down', 'select 2;', '-- migrate:up'),
    );
    expect(err.line).toBe(5);
  });

  it('refuses a second down marker and names its line', () => {
    const err = parseError(
      '0001_x.sql',
      lines(
        '-- migrate:up',
        'select 1;',
        '-- migrate:down',
        'select 2;',
        '',
        '-- migrate:down',
        'select 3;',
      ),
    );
    expect(err.line).toBe(6);
    expect(err.message).toContain('second -- migrate:down marker');
  });

  it('refuses an empty up section and names the up marker line', () => {
    const err = parseError(
      '0001_x.sql',
      lines('-- dbmigrate:window=required', '-- migrate:up', '', '-- migrate:down', 'select 1;'),
    );
    expect(err.line).toBe(2);
    expect(err.message).toContain('the up section is empty');
  });

  it('refuses an up section that holds only comments', () => {
    const err = parseError(
      '0001_x.sql',
      lines('-- migrate:up', '-- TODO: write this', '/* later */', '   '),
    );
    expect(err.line).toBe(1);
    expect(err.message).toContain('the up section is empty');
  });

  it.each([
    'create_users.sql',
    '0001-create_users.sql',
    '0001_.sql',
    '0001_create_users.txt',
    '0001_create_users.sql.bak',
    'v1_create_users.sql',
    '0001__leading_underscore.sql',
    '0001_has space.sql',
  ])('refuses the file name %s on line 1', (name) => {
    const err = parseError(`migrations/${name}`, '-- migrate:up\nselect 1;');
    expect(err.file).toBe(`migrations/${name}`);
    expect(err.line).toBe(1);
    expect(err.message).toContain('NNNN_name.sql');
  });

  it('checks the file name before the content', () => {
    const err = parseError('bad.sql', 'create table t ();');
    expect(err.message).toContain('file name must look like NNNN_name.sql');
  });
});

describe('parseMigrationFile: CRLF files', () => {
  const lf = lines(
    '-- dbmigrate:lock_timeout=5s',
    '-- migrate:up',
    'create table t (id int);',
    'insert into t values (1);',
    '-- migrate:down',
    'drop table t;',
    '',
  );
  const crlf = lf.replace(/\n/g, '\r\n');

  it('parses a CRLF file exactly like its LF twin', () => {
    const a = parseMigrationFile('0001_x.sql', lf, splitter);
    const b = parseMigrationFile('0001_x.sql', crlf, splitter);
    expect(b).toEqual(a);
    expect(b.up.sql).not.toContain('\r');
    expect(b.down?.sql).not.toContain('\r');
  });

  it('parses old Mac CR-only line endings too', () => {
    const a = parseMigrationFile('0001_x.sql', lf, splitter);
    const b = parseMigrationFile('0001_x.sql', lf.replace(/\n/g, '\r'), splitter);
    expect(b).toEqual(a);
  });

  it('names the same line in a CRLF file as in an LF file', () => {
    const bad = lines('-- ok', '-- dbmigrate:lock_timeout=soon', '-- migrate:up', 'select 1;');
    expect(parseError('0001_x.sql', bad.replace(/\n/g, '\r\n')).line).toBe(2);
  });
});

describe('isMigrationFileName', () => {
  it('accepts NNNN_name.sql and rejects everything else', () => {
    expect(isMigrationFileName('0001_init.sql')).toBe(true);
    expect(isMigrationFileName('1_a.sql')).toBe(true);
    expect(isMigrationFileName('README.md')).toBe(false);
    expect(isMigrationFileName('0001_init.down.sql.orig')).toBe(false);
    expect(isMigrationFileName('init.sql')).toBe(false);
  });
});
