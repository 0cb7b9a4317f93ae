export * from './errors.js';
export * from './migration.js';
export { parseMigrationFile, isMigrationFileName } from './migration-file.js';
export { migrationChecksum, normaliseSql } from './checksum.js';
export { splitSqlStatements, type SqlStatement } from './sql-splitter.js';
export {
  parserSplitter,
  scanningSplitter,
  statementSplitterFor,
  type StatementSplitter,
} from './statement-splitter.js';
export { loadSqlParser, type SqlParser } from './sql-parser.js';
export { buildMigrationGraph, type MigrationGraph } from './graph.js';
export * from './history.js';
export * from './history-schema.js';
export {
  migrationStatus,
  pendingMigrations,
  rollbackSet,
  validateAgainstHistory,
  type MigrationStatusEntry,
  type MigrationState,
  type InvalidIndex,
} from './plan.js';
export * from './source.js';
export * from './migrator.js';
export * from './startup.js';
