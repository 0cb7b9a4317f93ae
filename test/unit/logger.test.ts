import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, silentLogger } from '../../src/observability/logger.js';

function collecting(level: string): {
  lines: Record<string, unknown>[];
  log: ReturnType<typeof createLogger>;
} {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, log: createLogger({ component: 'test', level, destination }) };
}

describe('loggers made on first use', () => {
  it('writes what is at or above the level, with the component and a child’s bindings', () => {
    const { lines, log } = collecting('info');
    const run = log.child({ run_id: 'r1' });
    run.debug('hidden');
    run.info({ migration: '0001' }, 'applied');
    log.warn('careful');
    expect(
      lines.map((l) => [l['level'], l['msg'], l['component'], l['run_id'], l['migration']]),
    ).toEqual([
      ['info', 'applied', 'test', 'r1', '0001'],
      ['warn', 'careful', 'test', undefined, undefined],
    ]);
  });

  it('answers level questions without making the logger, and follows a level set later', () => {
    const { lines, log } = collecting('warn');
    expect(log.level).toBe('warn');
    expect(log.isLevelEnabled('info')).toBe(false);
    expect(log.isLevelEnabled('error')).toBe(true);
    log.info('dropped');
    log.level = 'debug';
    log.debug('kept');
    expect(lines.map((l) => l['msg'])).toEqual(['kept']);
  });

  it('redacts a password from a message and a field, whenever the logger is made', () => {
    const { lines, log } = collecting('info');
    log
      .child({ url: 'postgres://app:Sup3rS3cret@db/app' })
      .error('cannot connect to postgres://app:Sup3rS3cret@db/app');
    expect(JSON.stringify(lines)).not.toContain('Sup3rS3cret');
    expect(lines).toHaveLength(1);
  });

  it('a silent logger writes nothing and still answers', () => {
    const log = silentLogger();
    log.error('nothing');
    expect(log.level).toBe('silent');
    expect(log.child({ a: 1 }).isLevelEnabled('fatal')).toBe(false);
  });
});
