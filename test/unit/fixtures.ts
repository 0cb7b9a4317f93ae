import { statementsChecksum } from '../../src/engine/checksum.js';
import { buildMigrationGraph, type MigrationGraph } from '../../src/engine/graph.js';
import type { HistoryRecord } from '../../src/engine/history.js';
import type { Migration } from '../../src/engine/migration.js';
import { parseMigrationFile } from '../../src/engine/migration-file.js';
import { loadSqlParser } from '../../src/engine/sql-parser.js';
import { parserSplitter } from '../../src/engine/statement-splitter.js';

/** The splitter a source uses whenever a migration can hold several statements. */
export const splitter = parserSplitter(await loadSqlParser());

/** The statements of a piece of SQL, as the executor would run them. */
export function statementTexts(sql: string): string[] {
  return splitter.split(sql, 1).map((s) => s.sql);
}

export interface MigrationSpec {
  readonly up?: string;
  readonly down?: string;
  /** Header directive lines, e.g. `-- dbmigrate:transaction=false`. */
  readonly header?: string;
}

/** Parses a migration `NNNN_name.sql` the way a source would hand it to the engine. */
export function migration(id: string, name: string, spec: MigrationSpec = {}): Migration {
  const up = spec.up ?? `create table t_${id} (id int);`;
  const text = [
    ...(spec.header ? [spec.header] : []),
    '-- migrate:up',
    up,
    ...(spec.down === undefined ? [] : ['-- migrate:down', spec.down]),
    '',
  ].join('\n');
  return parseMigrationFile(`migrations/${id}_${name}.sql`, text, splitter);
}

export function graphOf(...migrations: Migration[]): MigrationGraph {
  return buildMigrationGraph(migrations);
}

/** The `sql` of every statement of the migration's up section, as the executor runs them. */
export function upStatements(m: Migration): string[] {
  return m.up.statements.map((s) => s.sql);
}

/** One history row; defaults describe a transactional migration applied cleanly from `m`. */
export function historyRecord(
  m: Migration | { id: string; name: string; checksum: string },
  overrides: Partial<HistoryRecord> = {},
): HistoryRecord {
  return {
    id: m.id,
    name: m.name,
    checksum: m.checksum,
    status: 'applied',
    transactional: true,
    statementsDone: 1,
    statementsTotal: 1,
    doneChecksum: null,
    startedAt: new Date('2025-01-01T00:00:00Z'),
    finishedAt: new Date('2025-01-01T00:00:01Z'),
    durationMs: 1000,
    appliedBy: 'tester',
    runId: 'run-1',
    error: null,
    source: 'dbmigrate',
    ...overrides,
  };
}

/**
 * A non-transactional migration that stopped after `done` statements, with the done-part
 * fingerprint the executor records (computed from `ranStatements`, defaulting to the file's).
 */
export function partialRecord(
  m: Migration,
  done: number,
  overrides: Partial<HistoryRecord> & { ranStatements?: readonly string[] } = {},
): HistoryRecord {
  const { ranStatements, ...rest } = overrides;
  const statements = ranStatements ?? upStatements(m);
  return historyRecord(m, {
    status: 'failed',
    transactional: false,
    statementsDone: done,
    statementsTotal: statements.length,
    doneChecksum: statementsChecksum(statements, done),
    finishedAt: null,
    durationMs: null,
    error: 'canceling statement due to lock timeout',
    ...rest,
  });
}
