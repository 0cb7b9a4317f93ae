import {
  DependencyCycleError,
  DuplicateMigrationIdError,
  MissingDependencyError,
} from './errors.js';
import { compareMigrationIds, migrationIdKey, type Migration } from './migration.js';

/** Migrations in the order they apply, with each one's dependencies resolved to IDs as written. */
export interface MigrationGraph {
  readonly ordered: readonly Migration[];
  readonly dependencies: ReadonlyMap<string, readonly string[]>;
}

/**
 * Each migration depends on the one with the next lower ID and on its `depends=` list.
 * Rejects duplicate IDs, dependencies on missing migrations and cycles (a depends= pointing at a
 * higher ID closes one through the implicit chain).
 */
export function buildMigrationGraph(migrations: readonly Migration[]): MigrationGraph {
  const sorted = [...migrations].sort((a, b) => compareMigrationIds(a.id, b.id));
  const byKey = new Map<string, Migration>();
  for (const m of sorted) {
    const key = migrationIdKey(m.id);
    const existing = byKey.get(key);
    if (existing) throw new DuplicateMigrationIdError(m.id, [existing.file, m.file]);
    byKey.set(key, m);
  }

  const dependencies = new Map<string, string[]>();
  sorted.forEach((m, index) => {
    const deps: string[] = [];
    const previous = sorted[index - 1];
    if (previous) deps.push(previous.id);
    for (const dep of m.directives.depends) {
      const target = byKey.get(migrationIdKey(dep));
      if (!target) throw new MissingDependencyError(m.file, dep);
      if (!deps.includes(target.id)) deps.push(target.id);
    }
    dependencies.set(m.id, deps);
  });

  const cycle = findCycle(
    sorted.map((m) => m.id),
    dependencies,
  );
  if (cycle) throw new DependencyCycleError(cycle);

  // Kahn's algorithm, lowest ID first among the ready ones.
  const remaining = new Map(sorted.map((m) => [m.id, dependencies.get(m.id)?.length ?? 0]));
  const dependents = new Map<string, string[]>();
  for (const [id, deps] of dependencies) {
    for (const d of deps) dependents.set(d, [...(dependents.get(d) ?? []), id]);
  }
  const ready = sorted.filter((m) => remaining.get(m.id) === 0).map((m) => m.id);
  const ordered: Migration[] = [];
  const byId = new Map(sorted.map((m) => [m.id, m]));
  while (ready.length > 0) {
    ready.sort(compareMigrationIds);
    const id = ready.shift() as string;
    ordered.push(byId.get(id) as Migration);
    for (const next of dependents.get(id) ?? []) {
      const left = (remaining.get(next) ?? 0) - 1;
      remaining.set(next, left);
      if (left === 0) ready.push(next);
    }
  }
  return { ordered, dependencies };
}

function findCycle(
  ids: readonly string[],
  dependencies: ReadonlyMap<string, readonly string[]>,
): string[] | null {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (id: string): string[] | null => {
    const s = state.get(id);
    if (s === 'done') return null;
    if (s === 'visiting') return [...stack.slice(stack.indexOf(id)), id];
    state.set(id, 'visiting');
    stack.push(id);
    for (const dep of dependencies.get(id) ?? []) {
      const found = visit(dep);
      if (found) return found;
    }
    stack.pop();
    state.set(id, 'done');
    return null;
  };
  for (const id of ids) {
    const found = visit(id);
    if (found) return found;
  }
  return null;
}
