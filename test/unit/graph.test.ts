import { describe, it, expect } from 'vitest';
import {
  DependencyCycleError,
  DuplicateMigrationIdError,
  MigrationError,
  MissingDependencyError,
} from '../../src/engine/errors.js';
import { buildMigrationGraph } from '../../src/engine/graph.js';
import {
  compareMigrationIds,
  migrationIdKey,
  sameMigrationId,
} from '../../src/engine/migration.js';
import { migration } from './fixtures.js';

function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

describe('buildMigrationGraph: order', () => {
  it('orders by numeric ID, so 0010 runs after 0009', () => {
    const graph = buildMigrationGraph([
      migration('0010', 'ten'),
      migration('0002', 'two'),
      migration('0009', 'nine'),
      migration('0001', 'one'),
    ]);
    expect(graph.ordered.map((m) => m.id)).toEqual(['0001', '0002', '0009', '0010']);
  });

  it('orders unpadded IDs by number, not as text', () => {
    const graph = buildMigrationGraph([
      migration('10', 'ten'),
      migration('9', 'nine'),
      migration('100', 'hundred'),
      migration('2', 'two'),
    ]);
    expect(graph.ordered.map((m) => m.id)).toEqual(['2', '9', '10', '100']);
  });

  it('handles IDs beyond the safe integer range (timestamps with many digits)', () => {
    const graph = buildMigrationGraph([
      migration('20250101120000000001', 'b'),
      migration('20250101120000000000', 'a'),
    ]);
    expect(graph.ordered.map((m) => m.name)).toEqual(['a', 'b']);
  });

  it('returns an empty graph for no migrations', () => {
    const graph = buildMigrationGraph([]);
    expect(graph.ordered).toEqual([]);
    expect(graph.dependencies.size).toBe(0);
  });

  it('does not reorder the caller’s array', () => {
    const input = [migration('0002', 'b'), migration('0001', 'a')];
    buildMigrationGraph(input);
    expect(input.map((m) => m.id)).toEqual(['0002', '0001']);
  });
});

describe('buildMigrationGraph: dependencies', () => {
  it('makes each migration depend on the one before it', () => {
    const graph = buildMigrationGraph([
      migration('0001', 'a'),
      migration('0002', 'b'),
      migration('0005', 'c'),
    ]);
    expect(graph.dependencies.get('0001')).toEqual([]);
    expect(graph.dependencies.get('0002')).toEqual(['0001']);
    expect(graph.dependencies.get('0005')).toEqual(['0002']);
  });

  it('adds explicit depends= IDs, resolved to the IDs as written in file names', () => {
    const graph = buildMigrationGraph([
      migration('0001', 'a'),
      migration('0002', 'b'),
      migration('0003', 'c'),
      migration('0004', 'd', { header: '-- dbmigrate:depends=1,0002' }),
    ]);
    expect(graph.dependencies.get('0004')).toEqual(['0003', '0001', '0002']);
  });

  it('does not list the previous migration twice when depends= names it', () => {
    const graph = buildMigrationGraph([
      migration('0001', 'a'),
      migration('0002', 'b', { header: '-- dbmigrate:depends=0001,0001' }),
    ]);
    expect(graph.dependencies.get('0002')).toEqual(['0001']);
  });
});

describe('buildMigrationGraph: refusals', () => {
  it('refuses two files with the same number written differently (7 and 0007)', () => {
    const err = thrownBy(() =>
      buildMigrationGraph([migration('0001', 'a'), migration('7', 'x'), migration('0007', 'y')]),
    );
    expect(err).toBeInstanceOf(DuplicateMigrationIdError);
    expect(err).toBeInstanceOf(MigrationError);
    const dup = err as DuplicateMigrationIdError;
    expect(dup.code).toBe('DUPLICATE_ID');
    expect([...dup.files].sort()).toEqual(['migrations/0007_y.sql', 'migrations/7_x.sql']);
    expect(dup.message).toContain('migrations/7_x.sql');
    expect(dup.message).toContain('migrations/0007_y.sql');
    expect(dup.message).toContain('rename one of them');
  });

  it('refuses two files with exactly the same ID', () => {
    const err = thrownBy(() =>
      buildMigrationGraph([migration('0003', 'a'), migration('0003', 'b')]),
    );
    expect((err as DuplicateMigrationIdError).code).toBe('DUPLICATE_ID');
    expect((err as DuplicateMigrationIdError).id).toBe('0003');
  });

  it('refuses a dependency on a migration that does not exist and names the file', () => {
    const err = thrownBy(() =>
      buildMigrationGraph([
        migration('0001', 'a'),
        migration('0002', 'b', { header: '-- dbmigrate:depends=0001,0042' }),
      ]),
    );
    expect(err).toBeInstanceOf(MissingDependencyError);
    const missing = err as MissingDependencyError;
    expect(missing.code).toBe('MISSING_DEPENDENCY');
    expect(missing.file).toBe('migrations/0002_b.sql');
    expect(missing.dependency).toBe('0042');
    expect(missing.message).toMatch(
      /^migrations\/0002_b\.sql: depends on migration 0042, which does not exist/,
    );
  });

  it('refuses a dependency on a higher ID as a cycle and shows the cycle', () => {
    const err = thrownBy(() =>
      buildMigrationGraph([
        migration('0001', 'a', { header: '-- dbmigrate:depends=0002' }),
        migration('0002', 'b'),
      ]),
    );
    expect(err).toBeInstanceOf(DependencyCycleError);
    const cycle = err as DependencyCycleError;
    expect(cycle.code).toBe('DEPENDENCY_CYCLE');
    expect(cycle.cycle).toEqual(['0001', '0002', '0001']);
    expect(cycle.message).toContain('0001 -> 0002 -> 0001');
    expect(cycle.message).toContain('may only depend on migrations with lower IDs');
  });

  it('shows every migration of a longer cycle through the implicit chain', () => {
    const err = thrownBy(() =>
      buildMigrationGraph([
        migration('0001', 'a'),
        migration('0002', 'b', { header: '-- dbmigrate:depends=0004' }),
        migration('0003', 'c'),
        migration('0004', 'd'),
      ]),
    );
    const cycle = err as DependencyCycleError;
    expect(cycle.code).toBe('DEPENDENCY_CYCLE');
    expect(cycle.cycle).toEqual(['0002', '0004', '0003', '0002']);
    expect(cycle.message).toContain('0002 -> 0004 -> 0003 -> 0002');
  });

  it('refuses a migration that depends on itself', () => {
    const err = thrownBy(() =>
      buildMigrationGraph([
        migration('0001', 'a'),
        migration('0002', 'b', { header: '-- dbmigrate:depends=2' }),
      ]),
    );
    expect((err as DependencyCycleError).code).toBe('DEPENDENCY_CYCLE');
    expect((err as DependencyCycleError).cycle).toEqual(['0002', '0002']);
  });
});

describe('migration ID comparison', () => {
  it('compares by number', () => {
    expect(compareMigrationIds('0010', '0009')).toBe(1);
    expect(compareMigrationIds('9', '0010')).toBe(-1);
    expect(compareMigrationIds('7', '0007')).toBe(0);
    expect(sameMigrationId('7', '0007')).toBe(true);
    expect(sameMigrationId('7', '0070')).toBe(false);
  });

  it('orders any digits as BigInt does, beyond 2^53 and with leading zeros', () => {
    const ids = ['0000', '0', '00012', '9', '18446744073709551617', '018446744073709551616', '10'];
    const byBigInt = (a: string, b: string) => {
      const [x, y] = [BigInt(a), BigInt(b)];
      return x < y ? -1 : x > y ? 1 : 0;
    };
    for (const a of ids)
      for (const b of ids) expect(compareMigrationIds(a, b)).toBe(byBigInt(a, b));
    expect(ids.map(migrationIdKey)).toEqual(ids.map((id) => BigInt(id).toString()));
  });

  it('refuses text that is not digits', () => {
    for (const bad of ['0x10', '1e3', '', ' 7', '-1']) {
      expect(() => migrationIdKey(bad)).toThrow(SyntaxError);
      expect(() => compareMigrationIds(bad, '0001')).toThrow(SyntaxError);
    }
  });
});
