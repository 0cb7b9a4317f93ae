import { describe, it, expect } from 'vitest';
import { statementsChecksum } from '../../src/engine/checksum.js';
import { UnknownTargetError, type ValidationIssue } from '../../src/engine/errors.js';
import {
  concurrentIndexNames,
  dependencyClosure,
  migrationStatus,
  pendingMigrations,
  quoteIdent,
  resumePoints,
  rollbackSet,
  validateAgainstHistory,
  type InvalidIndex,
  type ValidationContext,
} from '../../src/engine/plan.js';
import {
  graphOf,
  historyRecord,
  migration,
  partialRecord,
  upStatements,
  statementTexts,
} from './fixtures.js';

const m1 = migration('0001', 'create_users', { up: 'create table users (id int);' });
const m2 = migration('0002', 'add_email', { up: 'alter table users add column email text;' });
const m3 = migration('0003', 'create_orders', { up: 'create table orders (id int);' });

/** A non-transactional migration of three statements, the last one building an index. */
const nonTx = migration('0004', 'index_users', {
  header: '-- dbmigrate:transaction=false',
  up: [
    'create table audit (id int);',
    'alter table users add column name text;',
    'create index concurrently users_name on users (name);',
  ].join('\n'),
});

const idx = (name: string, schema = 'public', table = 'users'): InvalidIndex => ({
  schema,
  name,
  table,
});

function context(overrides: Partial<ValidationContext> = {}): ValidationContext {
  return { invalidIndexes: [], allowOutOfOrder: false, resume: false, ...overrides };
}

const codes = (issues: readonly ValidationIssue[]) => issues.map((i) => [i.code, i.migrationId]);

function unknownTarget(fn: () => unknown): UnknownTargetError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UnknownTargetError);
    return err as UnknownTargetError;
  }
  throw new Error('expected UnknownTargetError');
}

describe('migrationStatus', () => {
  it('lists every file as pending on a fresh database', () => {
    const status = migrationStatus(graphOf(m1, m2), []);
    expect(status.map((s) => [s.id, s.state, s.file, s.appliedChecksum])).toEqual([
      ['0001', 'pending', 'migrations/0001_create_users.sql', null],
      ['0002', 'pending', 'migrations/0002_add_email.sql', null],
    ]);
    expect(status.every((s) => !s.drifted)).toBe(true);
  });

  it('shows applied migrations with when they finished and how long they took', () => {
    const finishedAt = new Date('2025-03-04T05:06:07Z');
    const [entry] = migrationStatus(graphOf(m1), [
      historyRecord(m1, { finishedAt, durationMs: 42 }),
    ]);
    expect(entry).toMatchObject({
      id: '0001',
      name: 'create_users',
      state: 'applied',
      checksum: m1.checksum,
      appliedChecksum: m1.checksum,
      drifted: false,
      finishedAt,
      durationMs: 42,
      transactional: true,
    });
  });

  it('flags an applied migration whose file changed since as drifted', () => {
    const [entry] = migrationStatus(graphOf(m1), [historyRecord(m1, { checksum: 'f'.repeat(64) })]);
    expect(entry?.state).toBe('applied');
    expect(entry?.drifted).toBe(true);
    expect(entry?.appliedChecksum).toBe('f'.repeat(64));
  });

  it('flags a baselined migration whose file changed as drifted', () => {
    const [entry] = migrationStatus(graphOf(m1), [
      historyRecord(m1, { status: 'baselined', checksum: 'f'.repeat(64), source: 'baseline' }),
    ]);
    expect(entry?.state).toBe('baselined');
    expect(entry?.drifted).toBe(true);
  });

  it('does not call a failed or rolled-back migration drifted', () => {
    const status = migrationStatus(graphOf(m1, m2), [
      historyRecord(m1, { status: 'rolled_back', checksum: 'a'.repeat(64) }),
      historyRecord(m2, { status: 'failed', checksum: 'b'.repeat(64) }),
    ]);
    expect(status.map((s) => [s.state, s.drifted])).toEqual([
      ['rolled_back', false],
      ['failed', false],
    ]);
  });

  it('shows a transactional migration left running (the runner died) as failed', () => {
    const [entry] = migrationStatus(graphOf(m1), [historyRecord(m1, { status: 'running' })]);
    expect(entry?.state).toBe('failed');
  });

  it('shows a non-transactional migration that stopped part-way as partial', () => {
    const status = migrationStatus(graphOf(m1, m2, m3, nonTx), [
      historyRecord(m1),
      historyRecord(m2),
      historyRecord(m3),
      partialRecord(nonTx, 1),
    ]);
    expect(status[3]).toMatchObject({ id: '0004', state: 'partial', transactional: false });
    const running = migrationStatus(graphOf(m1, m2, m3, nonTx), [
      partialRecord(nonTx, 1, { status: 'running' }),
    ]);
    expect(running[3]?.state).toBe('partial');
  });

  it('matches history rows to files by number (7 is 0007)', () => {
    const m7 = migration('0007', 'seven');
    const [entry] = migrationStatus(graphOf(m7), [historyRecord({ ...m7, id: '7' })]);
    expect(entry?.state).toBe('applied');
    expect(entry?.id).toBe('0007');
  });

  it('lists applied migrations whose file is gone as missing_file, in ID order', () => {
    const gone = { id: '0002', name: 'add_email', checksum: m2.checksum };
    const status = migrationStatus(graphOf(m1, m3), [
      historyRecord(m1),
      historyRecord(gone, { finishedAt: null, durationMs: null }),
      historyRecord(m3),
    ]);
    expect(status.map((s) => [s.id, s.state, s.file])).toEqual([
      ['0001', 'applied', 'migrations/0001_create_users.sql'],
      ['0002', 'missing_file', null],
      ['0003', 'applied', 'migrations/0003_create_orders.sql'],
    ]);
    expect(status[1]).toMatchObject({
      name: 'add_email',
      checksum: null,
      appliedChecksum: m2.checksum,
    });
  });

  it('shows a partial migration whose file is gone as missing_file', () => {
    const gone = { id: '0009', name: 'x', checksum: 'c'.repeat(64) };
    const status = migrationStatus(graphOf(m1), [
      historyRecord(gone, { status: 'failed', transactional: false }),
    ]);
    expect(status[1]).toMatchObject({ id: '0009', state: 'missing_file', transactional: false });
  });

  it('keeps the real state of a rolled-back migration whose file is gone', () => {
    const gone = { id: '0009', name: 'x', checksum: 'c'.repeat(64) };
    const status = migrationStatus(graphOf(m1), [historyRecord(gone, { status: 'rolled_back' })]);
    expect(status[1]?.state).toBe('rolled_back');
  });

  it('reports the file’s transaction mode', () => {
    const status = migrationStatus(graphOf(m1, m2, m3, nonTx), []);
    expect(status.map((s) => s.transactional)).toEqual([true, true, true, false]);
  });
});

describe('pendingMigrations', () => {
  const graph = graphOf(m1, m2, m3, nonTx);

  it('returns every migration in order on a fresh database', () => {
    expect(pendingMigrations(graph, []).map((m) => m.id)).toEqual(['0001', '0002', '0003', '0004']);
  });

  it('skips applied and baselined migrations', () => {
    const pending = pendingMigrations(graph, [
      historyRecord(m1, { status: 'baselined' }),
      historyRecord(m2),
    ]);
    expect(pending.map((m) => m.id)).toEqual(['0003', '0004']);
  });

  it('keeps failed, rolled-back and partial migrations pending', () => {
    const pending = pendingMigrations(graph, [
      historyRecord(m1),
      historyRecord(m2, { status: 'rolled_back' }),
      historyRecord(m3, { status: 'failed' }),
      partialRecord(nonTx, 2),
    ]);
    expect(pending.map((m) => m.id)).toEqual(['0002', '0003', '0004']);
  });

  it('stops at the target and includes what it needs', () => {
    expect(pendingMigrations(graph, [], '0002').map((m) => m.id)).toEqual(['0001', '0002']);
    expect(pendingMigrations(graph, [historyRecord(m1)], '0003').map((m) => m.id)).toEqual([
      '0002',
      '0003',
    ]);
  });

  it('accepts a target written without leading zeros', () => {
    expect(pendingMigrations(graph, [], '2').map((m) => m.id)).toEqual(['0001', '0002']);
  });

  it('returns nothing when the target is already applied', () => {
    expect(pendingMigrations(graph, [historyRecord(m1), historyRecord(m2)], '0002')).toEqual([]);
  });

  it('refuses a target that no migration has', () => {
    const err = unknownTarget(() => pendingMigrations(graph, [], '0042'));
    expect(err.code).toBe('UNKNOWN_TARGET');
    expect(err.message).toContain('0042');
  });
});

describe('dependencyClosure', () => {
  it('is the target and everything before it through the implicit chain', () => {
    const graph = graphOf(m1, m2, m3, nonTx);
    expect([...dependencyClosure(graph, '0003')].sort()).toEqual(['0001', '0002', '0003']);
    expect([...dependencyClosure(graph, '1')]).toEqual(['0001']);
  });

  it('follows explicit depends= lists', () => {
    const a = migration('0001', 'a');
    const b = migration('0002', 'b');
    const c = migration('0003', 'c', { header: '-- dbmigrate:depends=0001' });
    const graph = graphOf(a, b, c);
    expect([...dependencyClosure(graph, '0003')].sort()).toEqual(['0001', '0002', '0003']);
  });

  it('refuses an unknown target', () => {
    expect(unknownTarget(() => dependencyClosure(graphOf(m1), '0002')).target).toBe('0002');
  });
});

describe('rollbackSet', () => {
  const graph = graphOf(m1, m2, m3, nonTx);

  it('undoes the applied migrations above the target, newest first, keeping the target', () => {
    const set = rollbackSet(
      graph,
      [historyRecord(m1), historyRecord(m2), historyRecord(m3), historyRecord(nonTx)],
      '0002',
    );
    expect(set.map((m) => m.id)).toEqual(['0004', '0003']);
  });

  it('accepts the target without leading zeros', () => {
    const set = rollbackSet(graph, [historyRecord(m1), historyRecord(m2)], '1');
    expect(set.map((m) => m.id)).toEqual(['0002']);
  });

  it('leaves out migrations that are not applied: pending, failed, rolled back, baselined', () => {
    const set = rollbackSet(
      graph,
      [
        historyRecord(m1),
        historyRecord(m2, { status: 'baselined' }),
        historyRecord(m3, { status: 'rolled_back' }),
        partialRecord(nonTx, 1),
      ],
      '0001',
    );
    expect(set).toEqual([]);
  });

  it('is empty when rolling back to the newest migration', () => {
    expect(rollbackSet(graph, [historyRecord(m1), historyRecord(m2)], '0004')).toEqual([]);
  });

  it('refuses an unknown target', () => {
    expect(unknownTarget(() => rollbackSet(graph, [], '0042')).code).toBe('UNKNOWN_TARGET');
    expect(unknownTarget(() => rollbackSet(graph, [], 'abc')).message).toMatch(
      /^"abc" is not a migration ID/,
    );
  });

  it('takes 0 as "before the first migration": everything applied, newest first', () => {
    const history = [historyRecord(m1), historyRecord(m2)];
    expect(rollbackSet(graph, history, '0').map((m) => m.id)).toEqual(['0002', '0001']);
    expect(rollbackSet(graph, history, '0000').map((m) => m.id)).toEqual(['0002', '0001']);
  });
});

describe('resumePoints', () => {
  const graph = graphOf(m1, m2, m3, nonTx);
  const applied = [historyRecord(m1), historyRecord(m2), historyRecord(m3)];

  it('resumes a failed non-transactional migration after its last completed statement', () => {
    const record = partialRecord(nonTx, 2);
    const points = resumePoints(graph, [...applied, record]);
    expect(points).toHaveLength(1);
    expect(points[0]?.migration.id).toBe('0004');
    expect(points[0]?.record).toBe(record);
    expect(points[0]?.fromStatement).toBe(2);
  });

  it('resumes an interrupted (still running) migration too', () => {
    const points = resumePoints(graph, [
      ...applied,
      partialRecord(nonTx, 1, { status: 'running' }),
    ]);
    expect(points.map((p) => p.fromStatement)).toEqual([1]);
  });

  it('resumes from the first statement when none had completed', () => {
    const points = resumePoints(graph, [...applied, partialRecord(nonTx, 0)]);
    expect(points.map((p) => p.fromStatement)).toEqual([0]);
  });

  it('still resumes when only statements not yet run were edited', () => {
    const ran = upStatements(nonTx);
    const edited = migration('0004', 'index_users', {
      header: '-- dbmigrate:transaction=false',
      up: `${ran[0] ?? ''};\n${ran[1] ?? ''};\ncreate index concurrently users_name on users (lower(name));`,
    });
    const points = resumePoints(graphOf(m1, m2, m3, edited), [
      ...applied,
      partialRecord(nonTx, 2, { ranStatements: ran }),
    ]);
    expect(points.map((p) => p.fromStatement)).toEqual([2]);
  });

  it('does not resume when a statement that already ran was edited', () => {
    const ran = upStatements(nonTx);
    const edited = migration('0004', 'index_users', {
      header: '-- dbmigrate:transaction=false',
      up: nonTx.up.sql.replace('create table audit (id int)', 'create table audit (id bigint)'),
    });
    expect(
      resumePoints(graphOf(m1, m2, m3, edited), [
        ...applied,
        partialRecord(nonTx, 2, { ranStatements: ran }),
      ]),
    ).toEqual([]);
  });

  it('does not resume when the file now has fewer statements than were done', () => {
    const shorter = migration('0004', 'index_users', {
      header: '-- dbmigrate:transaction=false',
      up: 'create table audit (id int);',
    });
    const record = partialRecord(nonTx, 2);
    expect(resumePoints(graphOf(m1, m2, m3, shorter), [...applied, record])).toEqual([]);
  });

  it('does not resume a record that claims more statements done than the file has', () => {
    const statements = upStatements(nonTx);
    const record = partialRecord(nonTx, 4, {
      statementsTotal: 4,
      doneChecksum: statementsChecksum(statements, 4),
    });
    expect(resumePoints(graph, [...applied, record])).toEqual([]);
  });

  it('does not resume without a recorded fingerprint of the done part', () => {
    expect(
      resumePoints(graph, [...applied, partialRecord(nonTx, 2, { doneChecksum: null })]),
    ).toEqual([]);
  });

  it('never resumes transactional migrations or finished ones', () => {
    expect(
      resumePoints(graph, [
        historyRecord(m1, { status: 'failed' }),
        historyRecord(m2, { status: 'running' }),
        historyRecord(m3),
        partialRecord(nonTx, 3, { status: 'applied' }),
      ]),
    ).toEqual([]);
  });

  it('does not resume a migration whose file now says transaction=true', () => {
    const nowTx = migration('0004', 'index_users', { up: nonTx.up.sql });
    expect(resumePoints(graphOf(m1, m2, m3, nowTx), [...applied, partialRecord(nonTx, 1)])).toEqual(
      [],
    );
  });
});

describe('concurrentIndexNames', () => {
  it('finds the names CREATE INDEX CONCURRENTLY statements build', () => {
    expect(
      concurrentIndexNames(
        statementTexts(
          [
            'create index concurrently a_idx on t (a);',
            'CREATE UNIQUE INDEX CONCURRENTLY b_idx ON t (b);',
            'create index concurrently if not exists c_idx on t (c);',
            'create\n  index\n  concurrently\n  d_idx on t (d);',
          ].join('\n'),
        ),
      ),
    ).toEqual(['a_idx', 'b_idx', 'c_idx', 'd_idx']);
  });

  it('folds unquoted names to lower case, as PostgreSQL does', () => {
    expect(
      concurrentIndexNames(
        statementTexts('CREATE INDEX CONCURRENTLY Users_Email ON users (email)'),
      ),
    ).toEqual(['users_email']);
  });

  it('keeps quoted names exact and unescapes doubled quotes', () => {
    expect(
      concurrentIndexNames(
        statementTexts('create index concurrently "Mixed ""Case"" idx" on t (a);'),
      ),
    ).toEqual(['Mixed "Case" idx']);
  });

  it('ignores indexes built without CONCURRENTLY and other statements', () => {
    expect(
      concurrentIndexNames(
        statementTexts(
          "create index plain_idx on t (a);\ncreate table concurrently_t (a int);\nselect 'create index concurrently x on t (a)';",
        ),
      ),
    ).toEqual([]);
  });
});

describe('quoteIdent', () => {
  it('leaves plain lower-case names bare and quotes the rest', () => {
    expect(quoteIdent('users_email')).toBe('users_email');
    expect(quoteIdent('_x$1')).toBe('_x$1');
    expect(quoteIdent('Users')).toBe('"Users"');
    expect(quoteIdent('1abc')).toBe('"1abc"');
    expect(quoteIdent('a "b"')).toBe('"a ""b"""');
  });
});

describe('validateAgainstHistory', () => {
  const graph = graphOf(m1, m2, m3, nonTx);
  const allApplied = [
    historyRecord(m1),
    historyRecord(m2),
    historyRecord(m3),
    historyRecord(nonTx),
  ];

  it('finds nothing wrong on a fresh database', () => {
    expect(validateAgainstHistory(graph, [], context())).toEqual([]);
  });

  it('finds nothing wrong when history matches the files', () => {
    expect(validateAgainstHistory(graph, allApplied, context())).toEqual([]);
  });

  it('finds nothing wrong when only newer migrations are pending', () => {
    expect(
      validateAgainstHistory(graph, [historyRecord(m1), historyRecord(m2)], context()),
    ).toEqual([]);
  });

  describe('CHECKSUM_DRIFT', () => {
    it('reports an applied migration whose file changed and how to fix it', () => {
      const recorded = 'abcdef0123456789'.repeat(4);
      const issues = validateAgainstHistory(
        graph,
        [historyRecord(m1), historyRecord(m2, { checksum: recorded })],
        context(),
      );
      expect(codes(issues)).toEqual([['CHECKSUM_DRIFT', '0002']]);
      expect(issues[0]?.message).toContain('migrations/0002_add_email.sql');
      expect(issues[0]?.message).toContain(recorded.slice(0, 12));
      expect(issues[0]?.message).toContain(m2.checksum.slice(0, 12));
      expect(issues[0]?.fix).toContain('dbmigrate repair 0002');
    });

    it('reports drift of a baselined migration', () => {
      const issues = validateAgainstHistory(
        graph,
        [historyRecord(m1, { status: 'baselined', checksum: '0'.repeat(64) })],
        context(),
      );
      expect(codes(issues)).toEqual([['CHECKSUM_DRIFT', '0001']]);
    });

    it('does not report drift for a transactional migration that failed or was rolled back', () => {
      const issues = validateAgainstHistory(
        graph,
        [
          historyRecord(m1, { status: 'rolled_back', checksum: '0'.repeat(64) }),
          historyRecord(m2, { status: 'failed', checksum: '1'.repeat(64) }),
        ],
        context(),
      );
      expect(issues).toEqual([]);
    });

    it('does not report drift for a CRLF checkout of an applied LF file', () => {
      const lf = migration('0001', 'create_users', { up: 'create table users (id int);\n' });
      const crlfGraph = graphOf(
        migration('0001', 'create_users', { up: 'create table users (id int);  \r\n' }),
      );
      expect(validateAgainstHistory(crlfGraph, [historyRecord(lf)], context())).toEqual([]);
    });
  });

  describe('MISSING_FILE', () => {
    it('reports an applied migration whose file was deleted', () => {
      const issues = validateAgainstHistory(
        graphOf(m1, m3),
        [historyRecord(m1), historyRecord(m2), historyRecord(m3)],
        context(),
      );
      expect(codes(issues)).toEqual([['MISSING_FILE', '0002']]);
      expect(issues[0]?.message).toContain('migration 0002 (add_email) is recorded as applied');
      expect(issues[0]?.fix).toContain('restore 0002_add_email.sql');
      expect(issues[0]?.fix).toContain(m2.checksum.slice(0, 12));
    });

    it('reports a baselined or partial migration whose file is gone', () => {
      const issues = validateAgainstHistory(
        graphOf(m1),
        [historyRecord(m1), historyRecord(m2, { status: 'baselined' }), partialRecord(nonTx, 1)],
        context({ allowOutOfOrder: true }),
      );
      expect(codes(issues)).toEqual([
        ['MISSING_FILE', '0002'],
        ['MISSING_FILE', '0004'],
      ]);
    });

    it('does not mind a missing file for a migration that was rolled back or failed in a transaction', () => {
      const issues = validateAgainstHistory(
        graphOf(m1),
        [
          historyRecord(m1),
          historyRecord(m2, { status: 'rolled_back' }),
          historyRecord(m3, { status: 'failed' }),
        ],
        context(),
      );
      expect(issues).toEqual([]);
    });
  });

  describe('OUT_OF_ORDER', () => {
    it('reports a new migration numbered below one already applied', () => {
      const issues = validateAgainstHistory(
        graph,
        [historyRecord(m1), historyRecord(m3)],
        context(),
      );
      expect(codes(issues)).toEqual([['OUT_OF_ORDER', '0002']]);
      expect(issues[0]?.message).toContain('sorts before 0003');
      expect(issues[0]?.fix).toContain('--out-of-order');
    });

    it('compares by number, not text (0010 applied, 9 new)', () => {
      const nine = migration('9', 'nine');
      const ten = migration('0010', 'ten');
      const issues = validateAgainstHistory(graphOf(nine, ten), [historyRecord(ten)], context());
      expect(codes(issues)).toEqual([['OUT_OF_ORDER', '9']]);
    });

    it('counts a baselined migration as applied', () => {
      const issues = validateAgainstHistory(
        graph,
        [historyRecord(m3, { status: 'baselined' })],
        context(),
      );
      expect(codes(issues)).toEqual([
        ['OUT_OF_ORDER', '0001'],
        ['OUT_OF_ORDER', '0002'],
      ]);
    });

    it('reports a migration that was rolled back below an applied one', () => {
      const issues = validateAgainstHistory(
        graph,
        [historyRecord(m1, { status: 'rolled_back' }), historyRecord(m2)],
        context(),
      );
      expect(codes(issues)).toEqual([['OUT_OF_ORDER', '0001']]);
    });

    it('allows it with allowOutOfOrder', () => {
      expect(
        validateAgainstHistory(
          graph,
          [historyRecord(m1), historyRecord(m3)],
          context({ allowOutOfOrder: true }),
        ),
      ).toEqual([]);
    });

    it('does not report a partial migration as out of order', () => {
      const issues = validateAgainstHistory(
        graphOf(m1, nonTx, migration('0005', 'later')),
        [historyRecord(m1), partialRecord(nonTx, 1), historyRecord(migration('0005', 'later'))],
        context({ resume: true }),
      );
      expect(issues).toEqual([]);
    });
  });

  describe('partial non-transactional migrations', () => {
    const before = [historyRecord(m1), historyRecord(m2), historyRecord(m3)];

    it('reports a failed one as HALF_APPLIED without --resume, with where it stopped', () => {
      const issues = validateAgainstHistory(
        graph,
        [...before, partialRecord(nonTx, 2, { error: 'deadlock detected' })],
        context(),
      );
      expect(codes(issues)).toEqual([['HALF_APPLIED', '0004']]);
      expect(issues[0]?.message).toContain('failed after 2 of 3 statements');
      expect(issues[0]?.message).toContain('deadlock detected');
      expect(issues[0]?.fix).toContain('dbmigrate apply --resume');
      expect(issues[0]?.fix).toContain('statement 3');
      expect(issues[0]?.fix).toContain('dbmigrate repair 0004');
    });

    it('reports an interrupted one (still marked running) as INTERRUPTED without --resume', () => {
      const issues = validateAgainstHistory(
        graph,
        [...before, partialRecord(nonTx, 1, { status: 'running', error: null })],
        context(),
      );
      expect(codes(issues)).toEqual([['INTERRUPTED', '0004']]);
      expect(issues[0]?.message).toContain('was interrupted after 1 of 3 statements');
      expect(issues[0]?.fix).toContain('statement 2');
    });

    it('lets --resume continue one whose done part is unchanged', () => {
      expect(
        validateAgainstHistory(
          graph,
          [...before, partialRecord(nonTx, 2)],
          context({ resume: true }),
        ),
      ).toEqual([]);
      expect(
        validateAgainstHistory(
          graph,
          [...before, partialRecord(nonTx, 1, { status: 'running' })],
          context({ resume: true }),
        ),
      ).toEqual([]);
    });

    it('refuses --resume as HALF_APPLIED when the done part of the file changed', () => {
      const ran = upStatements(nonTx);
      const edited = migration('0004', 'index_users', {
        header: '-- dbmigrate:transaction=false',
        up: nonTx.up.sql.replace('add column name text', 'add column name varchar(100)'),
      });
      const issues = validateAgainstHistory(
        graphOf(m1, m2, m3, edited),
        [...before, partialRecord(nonTx, 2, { ranStatements: ran })],
        context({ resume: true }),
      );
      expect(codes(issues)).toEqual([['HALF_APPLIED', '0004']]);
      expect(issues[0]?.message).toContain('cannot be resumed');
      expect(issues[0]?.fix).toContain('restore the first 2 statements');
    });

    it('does not report drift for a partial migration whose not-yet-run part changed', () => {
      const ran = upStatements(nonTx);
      const edited = migration('0004', 'index_users', {
        header: '-- dbmigrate:transaction=false',
        up: nonTx.up.sql.replace('(name)', '(lower(name))'),
      });
      const record = partialRecord(nonTx, 2, { ranStatements: ran });
      expect(record.checksum).not.toBe(edited.checksum);
      expect(
        validateAgainstHistory(
          graphOf(m1, m2, m3, edited),
          [...before, record],
          context({ resume: true }),
        ),
      ).toEqual([]);
    });
  });

  describe('INVALID_INDEX', () => {
    it('reports an invalid index left by a failed CREATE INDEX CONCURRENTLY', () => {
      const issues = validateAgainstHistory(
        graph,
        allApplied,
        context({ invalidIndexes: [idx('users_name')] }),
      );
      expect(codes(issues)).toEqual([['INVALID_INDEX', null]]);
      expect(issues[0]?.message).toContain('public.users_name on users is INVALID');
      expect(issues[0]?.fix).toContain('DROP INDEX CONCURRENTLY public.users_name');
      expect(issues[0]?.fix).toContain('--resume');
    });

    it('quotes index and schema names that need it in the fix', () => {
      const issues = validateAgainstHistory(
        graph,
        [],
        context({ invalidIndexes: [idx('Bad Name', 'App')] }),
      );
      expect(issues[0]?.fix).toContain('DROP INDEX CONCURRENTLY "App"."Bad Name"');
    });

    it('reports every invalid index', () => {
      const issues = validateAgainstHistory(
        graph,
        [],
        context({ invalidIndexes: [idx('a_idx'), idx('b_idx', 'other', 'orders')] }),
      );
      expect(issues.map((i) => i.message)).toEqual([
        expect.stringContaining('public.a_idx on users'),
        expect.stringContaining('other.b_idx on orders'),
      ]);
    });

    it('does not report an index that a resumed migration will drop and rebuild', () => {
      const issues = validateAgainstHistory(
        graph,
        [historyRecord(m1), historyRecord(m2), historyRecord(m3), partialRecord(nonTx, 2)],
        context({ resume: true, invalidIndexes: [idx('users_name')] }),
      );
      expect(issues).toEqual([]);
    });

    it('matches a quoted mixed-case index name exactly when deciding it will be rebuilt', () => {
      const quoted = migration('0004', 'quoted', {
        header: '-- dbmigrate:transaction=false',
        up: 'select 1;\ncreate index concurrently "Users_Name" on users (name);',
      });
      const issues = validateAgainstHistory(
        graphOf(m1, m2, m3, quoted),
        [historyRecord(m1), historyRecord(m2), historyRecord(m3), partialRecord(quoted, 1)],
        context({ resume: true, invalidIndexes: [idx('Users_Name'), idx('users_name')] }),
      );
      expect(codes(issues)).toEqual([['INVALID_INDEX', null]]);
      expect(issues[0]?.message).toContain('public.users_name');
    });

    it('still reports the index without --resume, next to the half-applied migration', () => {
      const issues = validateAgainstHistory(
        graph,
        [historyRecord(m1), historyRecord(m2), historyRecord(m3), partialRecord(nonTx, 2)],
        context({ invalidIndexes: [idx('users_name')] }),
      );
      expect(codes(issues)).toEqual([
        ['HALF_APPLIED', '0004'],
        ['INVALID_INDEX', null],
      ]);
    });

    it('reports an index that the resumable migration does not build', () => {
      const issues = validateAgainstHistory(
        graph,
        [historyRecord(m1), historyRecord(m2), historyRecord(m3), partialRecord(nonTx, 2)],
        context({ resume: true, invalidIndexes: [idx('orders_total')] }),
      );
      expect(codes(issues)).toEqual([['INVALID_INDEX', null]]);
      expect(issues[0]?.fix).not.toContain('--resume');
    });

    it('reports an index built by a partial migration that cannot be resumed', () => {
      const edited = migration('0004', 'index_users', {
        header: '-- dbmigrate:transaction=false',
        up: nonTx.up.sql.replace('create table audit (id int)', 'create table audit2 (id int)'),
      });
      const issues = validateAgainstHistory(
        graphOf(m1, m2, m3, edited),
        [
          historyRecord(m1),
          historyRecord(m2),
          historyRecord(m3),
          partialRecord(nonTx, 2, { ranStatements: upStatements(nonTx) }),
        ],
        context({ resume: true, invalidIndexes: [idx('users_name')] }),
      );
      expect(codes(issues)).toEqual([
        ['HALF_APPLIED', '0004'],
        ['INVALID_INDEX', null],
      ]);
    });
  });

  it('reports every problem at once', () => {
    const issues = validateAgainstHistory(
      graphOf(m1, m2, nonTx),
      [historyRecord(m1, { checksum: '9'.repeat(64) }), historyRecord(m3), partialRecord(nonTx, 1)],
      context({ invalidIndexes: [idx('stale_idx')] }),
    );
    expect(codes(issues).sort()).toEqual(
      [
        ['CHECKSUM_DRIFT', '0001'],
        ['MISSING_FILE', '0003'],
        ['HALF_APPLIED', '0004'],
        ['OUT_OF_ORDER', '0002'],
        ['INVALID_INDEX', null],
      ].sort(),
    );
  });

  it('records the same done-part fingerprint the validator checks', () => {
    // Guards the fixture: a partial record built from the file's own statements is resumable.
    const record = partialRecord(nonTx, 2);
    expect(record.doneChecksum).toBe(statementsChecksum(upStatements(nonTx), 2));
  });
});

describe('concurrentIndexTarget', () => {
  it('names the index and table of a CREATE INDEX CONCURRENTLY, folded as PostgreSQL does', async () => {
    const { concurrentIndexTarget } = await import('../../src/engine/plan.js');
    expect(
      concurrentIndexTarget('create index concurrently Items_Name_Idx on Items (name)'),
    ).toEqual({
      index: 'items_name_idx',
      table: 'items',
    });
    expect(
      concurrentIndexTarget(
        'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "Odd Idx" ON ONLY public."Docs" USING btree (id)',
      ),
    ).toEqual({ index: 'Odd Idx', table: 'Docs' });
    expect(concurrentIndexTarget('create index items_idx on items (name)')).toBeNull();
    expect(concurrentIndexTarget('alter table items add column x int')).toBeNull();
  });
});
