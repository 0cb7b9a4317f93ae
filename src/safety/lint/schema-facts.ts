import type { ColumnType } from './ast.js';

interface CheckConstraint {
  readonly columns: readonly string[];
  validated: boolean;
}

const key = (table: string, name: string): string => `${table}\u0000${name}`;

/**
 * What the migrations linted so far declared, as far as the rules need it: CHECK (col IS NOT
 * NULL) constraints and whether they are validated (for SET NOT NULL), and column types (to
 * recognise type changes that need no rewrite). Tables are keyed by name without schema.
 */
export class SchemaFacts {
  private readonly checks = new Map<string, CheckConstraint>();
  private readonly types = new Map<string, ColumnType>();

  clone(): SchemaFacts {
    const copy = new SchemaFacts();
    for (const [k, v] of this.checks) copy.checks.set(k, { ...v });
    for (const [k, v] of this.types) copy.types.set(k, v);
    return copy;
  }

  addNotNullCheck(table: string, name: string, columns: readonly string[], validated: boolean) {
    this.checks.set(key(table, name), { columns, validated });
  }

  validateConstraint(table: string, name: string): void {
    const c = this.checks.get(key(table, name));
    if (c) c.validated = true;
  }

  dropConstraint(table: string, name: string): void {
    this.checks.delete(key(table, name));
  }

  hasValidatedNotNullCheck(table: string, column: string): boolean {
    const prefix = key(table, '');
    for (const [k, c] of this.checks) {
      if (k.startsWith(prefix) && c.validated && c.columns.includes(column)) return true;
    }
    return false;
  }

  setColumnType(table: string, column: string, type: ColumnType): void {
    this.types.set(key(table, column), type);
  }

  columnType(table: string, column: string): ColumnType | undefined {
    return this.types.get(key(table, column));
  }

  dropColumn(table: string, column: string): void {
    this.types.delete(key(table, column));
    // PostgreSQL drops a CHECK constraint together with the column it uses.
    for (const [k, c] of [...this.checks])
      if (k.startsWith(key(table, '')) && c.columns.includes(column)) this.checks.delete(k);
  }

  renameColumn(table: string, from: string, to: string): void {
    const t = this.types.get(key(table, from));
    this.types.delete(key(table, from));
    if (t) this.types.set(key(table, to), t);
    for (const [k, c] of this.checks)
      if (k.startsWith(key(table, '')) && c.columns.includes(from))
        this.checks.set(k, { ...c, columns: c.columns.map((x) => (x === from ? to : x)) });
  }

  renameTable(from: string, to: string): void {
    moveTable(this.checks, from, to);
    moveTable(this.types, from, to);
  }

  dropTable(table: string): void {
    for (const k of [...this.checks.keys()])
      if (k.startsWith(key(table, ''))) this.checks.delete(k);
    for (const k of [...this.types.keys()]) if (k.startsWith(key(table, ''))) this.types.delete(k);
  }
}

function moveTable<V>(map: Map<string, V>, from: string, to: string): void {
  const prefix = key(from, '');
  for (const [k, v] of [...map]) {
    if (!k.startsWith(prefix)) continue;
    map.delete(k);
    map.set(key(to, k.slice(prefix.length)), v);
  }
}
