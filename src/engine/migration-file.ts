import { migrationChecksum } from './checksum.js';
import { MAX_DURATION_MS, parseDurationMs } from './duration.js';
import { MigrationParseError } from './errors.js';
import type { StatementSplitter } from './statement-splitter.js';
import {
  WAL_COMPRESSIONS,
  type Migration,
  type MigrationDirectives,
  type SqlSection,
  type WalCompression,
} from './migration.js';

const FILE_NAME = /^(\d+)_([A-Za-z0-9][A-Za-z0-9_.-]*)\.sql$/;
const UP_MARKER = /^--\s*migrate:up\s*$/i;
const DOWN_MARKER = /^--\s*migrate:down\s*$/i;
const DIRECTIVE = /^--\s*dbmigrate:(.*)$/i;

export function isMigrationFileName(baseName: string): boolean {
  return FILE_NAME.test(baseName);
}

/**
 * Parses one migration file. `file` is what error messages show (a path or a ConfigMap key);
 * its base name must be `NNNN_name.sql`. Sections are split into statements here, once, so
 * plan, apply, resume and lint all count the same statements.
 */
export function parseMigrationFile(
  file: string,
  text: string,
  splitter: StatementSplitter,
): Migration {
  const baseName = file.split('/').pop() ?? file;
  const nameMatch = FILE_NAME.exec(baseName);
  if (!nameMatch?.[1] || !nameMatch[2]) {
    throw new MigrationParseError(
      file,
      1,
      'file name must look like NNNN_name.sql (digits, underscore, a name of letters, digits, _ . -)',
    );
  }
  const lines = (text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text).split('\n');
  const directives: Mutable<MigrationDirectives> = {
    transaction: true,
    depends: [],
    window: 'none',
  };
  let upLine: number | null = null;
  let walCompressionLine: number | null = null;
  let downLine: number | null = null;

  // An index loop, not entries(): that allocates a pair per line, and status reads every file.
  for (let index = 0; index < lines.length; index++) {
    const lineNo = index + 1;
    const trimmed = (lines[index] ?? '').trim();
    if (UP_MARKER.test(trimmed)) {
      if (upLine !== null)
        throw new MigrationParseError(file, lineNo, 'second -- migrate:up marker');
      if (downLine !== null)
        throw new MigrationParseError(
          file,
          lineNo,
          '-- migrate:up must come before -- migrate:down',
        );
      upLine = lineNo;
      continue;
    }
    if (DOWN_MARKER.test(trimmed)) {
      if (downLine !== null)
        throw new MigrationParseError(file, lineNo, 'second -- migrate:down marker');
      if (upLine === null)
        throw new MigrationParseError(file, lineNo, '-- migrate:down before -- migrate:up');
      downLine = lineNo;
      continue;
    }
    if (upLine !== null) {
      // Read as SQL (a comment), it would silently not apply: transaction=false ignored.
      if (DIRECTIVE.test(trimmed)) {
        throw new MigrationParseError(
          file,
          lineNo,
          'a -- dbmigrate: directive below -- migrate:up is not read; move it above the marker',
        );
      }
      continue;
    }
    const directive = DIRECTIVE.exec(trimmed);
    if (directive) {
      const hadWalCompression = directives.walCompression !== undefined;
      parseDirectiveLine(file, lineNo, directive[1] ?? '', directives);
      if (!hadWalCompression && directives.walCompression !== undefined)
        walCompressionLine = lineNo;
    } else if (trimmed !== '' && !trimmed.startsWith('--')) {
      throw new MigrationParseError(
        file,
        lineNo,
        'SQL before the -- migrate:up marker; put header directives and comments only above it',
      );
    }
  }
  if (upLine === null) {
    throw new MigrationParseError(file, 1, 'missing the -- migrate:up marker line');
  }
  if (walCompressionLine !== null && directives.transaction) {
    // Set for the session of a statement-by-statement run only: it would be ignored here.
    throw new MigrationParseError(
      file,
      walCompressionLine,
      "directive wal_compression: applies to a transaction=false migration only (a transactional one runs with the server's setting)",
    );
  }
  const up = section(lines, upLine, downLine ?? lines.length + 1, splitter);
  if (up.statements.length === 0)
    throw new MigrationParseError(file, upLine, 'the up section is empty');
  const down = downLine === null ? null : section(lines, downLine, lines.length + 1, splitter);

  let checksum: string | undefined;
  return {
    id: nameMatch[1],
    name: nameMatch[2],
    file,
    up,
    down: down && down.statements.length > 0 ? down : null,
    directives,
    // Hashed when first read: `lint` never reads it, and so never loads node:crypto.
    get checksum(): string {
      checksum ??= migrationChecksum(up.sql);
      return checksum;
    },
  };
}

function section(
  lines: readonly string[],
  markerLine: number,
  endLine: number,
  splitter: StatementSplitter,
): SqlSection {
  const sql = lines.slice(markerLine, endLine - 1).join('\n');
  const startLine = markerLine + 1;
  return { sql, startLine, statements: splitter.split(sql, startLine) };
}

function isWalCompression(value: string): value is WalCompression {
  return (WAL_COMPRESSIONS as readonly string[]).includes(value);
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function parseDirectiveLine(
  file: string,
  line: number,
  body: string,
  into: Mutable<MigrationDirectives>,
): void {
  for (const pair of body.trim().split(/\s+/).filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      // `lock_timeout=5 minutes` splits into two words: say how to write it.
      const unit = /^[a-z]+$/i.test(pair) && parseDurationMs(`1${pair}`) !== null;
      throw new MigrationParseError(
        file,
        line,
        `directive "${pair}" must be key=value${unit ? ' (write a duration without spaces, e.g. lock_timeout=5min)' : ''}`,
      );
    }
    const key = pair.slice(0, eq).toLowerCase();
    const value = pair.slice(eq + 1);
    const fail = (why: string): never => {
      throw new MigrationParseError(file, line, `directive ${key}: ${why}`);
    };
    switch (key) {
      case 'transaction':
        if (value !== 'true' && value !== 'false') fail('must be true or false');
        into.transaction = value === 'true';
        break;
      case 'depends': {
        const ids = value.split(',').filter(Boolean);
        if (ids.length === 0 || ids.some((id) => !/^\d+$/.test(id)))
          fail('must be a comma-separated list of migration IDs, e.g. depends=0003,0005');
        into.depends = [...into.depends, ...ids];
        break;
      }
      case 'lock_timeout':
      case 'statement_timeout': {
        const ms = parseDurationMs(value);
        if (ms === null) return fail('must be a duration such as 500ms, 5s or 2min');
        if (ms > MAX_DURATION_MS) fail('is longer than PostgreSQL allows (about 24 days)');
        if (key === 'lock_timeout') into.lockTimeoutMs = ms;
        else into.statementTimeoutMs = ms;
        break;
      }
      case 'lock_retries':
        if (!/^\d+$/.test(value) || Number(value) > 100)
          fail('must be a whole number from 0 to 100');
        into.lockRetries = Number(value);
        break;
      case 'window':
        if (value !== 'required' && value !== 'none') return fail('must be required or none');
        into.window = value;
        break;
      case 'max_parallel_maintenance_workers':
        // PostgreSQL's own limit for the setting.
        if (!/^\d+$/.test(value) || Number(value) > 1024)
          fail('must be a whole number from 0 to 1024');
        into.maxParallelMaintenanceWorkers = Number(value);
        break;
      case 'wal_compression': {
        const v = value.toLowerCase();
        if (!isWalCompression(v)) return fail(`must be one of ${WAL_COMPRESSIONS.join(', ')}`);
        into.walCompression = v;
        break;
      }
      default:
        fail(
          'unknown directive; known: transaction, depends, lock_timeout, statement_timeout, lock_retries, window, max_parallel_maintenance_workers, wal_compression',
        );
    }
  }
}
