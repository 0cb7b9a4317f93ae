import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { migrationText, migratorFor } from '../helpers/migrations.js';

function captureLogger(component: string): {
  lines: () => Record<string, unknown>[];
  logger: ReturnType<typeof createLogger>;
} {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return {
    logger: createLogger({ component, destination }),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('structured logs', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase('logs');
  });
  afterEach(async () => {
    await db.drop();
  });

  it('writes one line per migration step and one summary line, all with component and run id', async () => {
    const { logger, lines } = captureLogger('test.apply');
    const files = [
      { file: '0001_a.sql', content: migrationText('create table a (id int);') },
      { file: '0002_b.sql', content: migrationText('select 1/0;') },
    ];
    const run = await migratorFor(db.url, files, { logger }).apply();
    const log = lines();
    expect(log.every((l) => l['component'] === 'test.apply' && l['run_id'] === run.runId)).toBe(
      true,
    );
    expect(log.map((l) => [l['msg'], l['migration']])).toEqual([
      ['migration start', '0001'],
      ['migration applied', '0001'],
      ['migration start', '0002'],
      ['migration failed', '0002'],
      ['apply finished', undefined],
    ]);
    expect(log[1]?.['duration_ms']).toEqual(expect.any(Number));
    expect(log[4]).toMatchObject({ applied: 1, skipped: 0, failed: 1, error_code: 'SQL_ERROR' });
    expect(log[4]?.['total_ms']).toEqual(expect.any(Number));
  });

  it('never writes a password, whether in a URL, a message or an error', async () => {
    const { logger, lines } = captureLogger('test.redact');
    const url = 'postgres://app:Sup3rS3cret@127.0.0.1:1/nowhere';
    await migratorFor(url, [{ file: '0001_a.sql', content: migrationText('select 1;') }], {
      logger,
    }).apply();
    logger.info({ databaseUrl: url, conn: 'host=db password=Sup3rS3cret' }, `connecting to ${url}`);
    logger.error({ err: new Error(`failed for ${url}`) }, 'boom');
    const text = JSON.stringify(lines());
    expect(text).not.toContain('Sup3rS3cret');
    expect(text).toContain('postgres://app:***@127.0.0.1:1/nowhere');
    expect(lines()[0]).toMatchObject({ msg: 'apply refused', error_code: 'CONNECTION_ERROR' });
    // An expected refusal is not a bug: no stack trace in the log.
    expect(JSON.stringify(lines()[0])).not.toMatch(/"stack"|\\n\s+at /);
    expect(lines()[1]).toMatchObject({ msg: 'apply finished', error_code: 'CONNECTION_ERROR' });
  });
});
