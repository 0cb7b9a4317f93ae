import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/api/config.js';
import { defaultHealthConfig } from '../../src/api/health-config.js';

describe('the health section of dbmigrate.json', () => {
  it('fills every threshold from its one default when the section is absent', () => {
    const health = parseConfig({}, 'dbmigrate.json').health;
    expect(health).toEqual(defaultHealthConfig());
    expect(health.connections).toEqual({ warning: 0.8, critical: 0.9 });
    expect(health.cacheHitRatio).toEqual({ warning: 0.9, critical: 0.8, minBlocks: 100_000 });
    expect(health.queryTimeoutMs).toBe(2000);
  });

  it('keeps the defaults of the keys a file leaves out', () => {
    const health = parseConfig(
      { health: { connections: { warning: 0.5 } } },
      'dbmigrate.json',
    ).health;
    expect(health.connections).toEqual({ warning: 0.5, critical: 0.9 });
    expect(health.lockWaitSeconds).toEqual({ warning: 5, critical: 60 });
  });

  it('names the file and field of a critical threshold milder than its warning', () => {
    expect(() =>
      parseConfig({ health: { connections: { warning: 0.95 } } }, 'dbmigrate.json'),
    ).toThrow(
      'dbmigrate.json: health.connections.critical: must be at least the warning threshold',
    );
    expect(() =>
      parseConfig(
        { health: { cacheHitRatio: { warning: 0.5, critical: 0.9 } } },
        'conf/dbmigrate.json',
      ),
    ).toThrow(/^conf\/dbmigrate\.json: health\.cacheHitRatio\.critical: must be at most/);
  });

  it('refuses unknown keys and wrong types with the field named', () => {
    expect(() => parseConfig({ health: { bogus: 1 } }, 'dbmigrate.json')).toThrow(
      /^dbmigrate\.json: health: Unrecognized key: "bogus"/,
    );
    expect(() =>
      parseConfig({ health: { lockWaitSeconds: { warning: 'soon' } } }, 'dbmigrate.json'),
    ).toThrow(/^dbmigrate\.json: health\.lockWaitSeconds\.warning: /);
  });
});
