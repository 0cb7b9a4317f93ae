import type { ColumnType } from './ast.js';

interface CheckConstraint {
  readonly columns: readonly string[];
  validated: boolean;
  /** Read from the live database rather than declared by a migration of the set. */
  readonly live: boolean;
}

interface KnownType {
  readonly type: ColumnType;
  readonly live: boolean;
}

/** A table's size in the live database. */
export interface TableSize {
  /** Rows: the planner's estimate, or a bounded count for a table never analysed. */
  readonly rows: number;
  /** pg_table_size: heap, TOAST and free-space maps, without indexes. */
  readonly bytes: number;
}

/** One table as the live database's catalog shows it (src/safety/lint/live-facts.ts reads it). */
export interface LiveTable {
  readonly schema: string;
  readonly name: string;
  /** Unknown (undefined) for a partitioned table, whose rows live in its partitions. */
  readonly size: TableSize | undefined;
  readonly columns: readonly {
    readonly name: string;
    /** Undefined when the catalog's type modifier is one the rules do not read. */
    readonly type: ColumnType | undefined;
    readonly notNull: boolean;
  }[];
  /** CHECK constraints proving columns NOT NULL (`col IS NOT NULL`, ANDed). */
  readonly notNullChecks: readonly {
    readonly name: string;
    readonly columns: readonly string[];
    readonly validated: boolean;
  }[];
}

const key = (table: string, name: string): string => `${table}\u0000${name}`;

/**
 * What the rules know about the schema: what the migrations linted so far declared, seeded
 * with the live database's catalog when one is at hand. CHECK (col IS NOT NULL) constraints and
 * whether they are validated (for SET NOT NULL), column types (to recognise type changes that
 * need no rewrite), columns already NOT NULL and table sizes (live only). Tables are keyed by
 * name without schema. A fact read from the live database says so (`live`), so a finding it
 * clears can name its reason.
 */
export class SchemaFacts {
  private readonly checks = new Map<string, CheckConstraint>();
  private readonly types = new Map<string, KnownType>();
  private readonly notNull = new Set<string>();
  private readonly sizes = new Map<string, TableSize>();

  clone(): SchemaFacts {
    const copy = new SchemaFacts();
    for (const [k, v] of this.checks) copy.checks.set(k, { ...v });
    for (const [k, v] of this.types) copy.types.set(k, v);
    for (const k of this.notNull) copy.notNull.add(k);
    for (const [k, v] of this.sizes) copy.sizes.set(k, v);
    return copy;
  }

  /**
   * Adds the live database's facts. A table name found in two schemas gets the larger size and
   * no column facts: the rules key tables by name alone, and must not clear by the wrong one.
   */
  seedLive(tables: readonly LiveTable[]): void {
    const byName = new Map<string, LiveTable[]>();
    for (const t of tables) byName.set(t.name, [...(byName.get(t.name) ?? []), t]);
    for (const [name, same] of byName) {
      // Any one of unknown size (a partitioned table) leaves the name's size unknown.
      const sizes = same.flatMap((t) => (t.size === undefined ? [] : [t.size]));
      if (sizes.length === same.length)
        this.sizes.set(name, {
          rows: Math.max(...sizes.map((x) => x.rows)),
          bytes: Math.max(...sizes.map((x) => x.bytes)),
        });
      if (same.length > 1) continue;
      for (const t of same) {
        for (const c of t.columns) {
          if (c.type !== undefined) this.types.set(key(name, c.name), { type: c.type, live: true });
          if (c.notNull) this.notNull.add(key(name, c.name));
        }
        for (const c of t.notNullChecks)
          this.checks.set(key(name, c.name), {
            columns: c.columns,
            validated: c.validated,
            live: true,
          });
      }
    }
  }

  addNotNullCheck(table: string, name: string, columns: readonly string[], validated: boolean) {
    this.checks.set(key(table, name), { columns, validated, live: false });
  }

  validateConstraint(table: string, name: string): void {
    const c = this.checks.get(key(table, name));
    if (c) c.validated = true;
  }

  dropConstraint(table: string, name: string): void {
    this.checks.delete(key(table, name));
  }

  hasValidatedNotNullCheck(table: string, column: string): boolean {
    return this.validatedNotNullCheck(table, column) !== undefined;
  }

  /** A validated CHECK proving `column` NOT NULL: its name and whether the live database has it. */
  validatedNotNullCheck(
    table: string,
    column: string,
  ): { readonly name: string; readonly live: boolean } | undefined {
    const prefix = key(table, '');
    for (const [k, c] of this.checks) {
      if (k.startsWith(prefix) && c.validated && c.columns.includes(column))
        return { name: k.slice(prefix.length), live: c.live };
    }
    return undefined;
  }

  /** The live database has the column NOT NULL (and no migration since dropped it). */
  isNotNull(table: string, column: string): boolean {
    return this.notNull.has(key(table, column));
  }

  dropNotNull(table: string, column: string): void {
    this.notNull.delete(key(table, column));
  }

  setColumnType(table: string, column: string, type: ColumnType): void {
    this.types.set(key(table, column), { type, live: false });
  }

  columnType(table: string, column: string): ColumnType | undefined {
    return this.types.get(key(table, column))?.type;
  }

  /** The column's type was read from the live database (no migration of the set changed it). */
  columnTypeIsLive(table: string, column: string): boolean {
    return this.types.get(key(table, column))?.live === true;
  }

  /** The table's size in the live database; undefined when unknown or since changed. */
  tableSize(table: string): TableSize | undefined {
    return this.sizes.get(table);
  }

  /** The migration writes rows into it: the size read before the migrations no longer holds. */
  forgetSize(table: string): void {
    this.sizes.delete(table);
  }

  dropColumn(table: string, column: string): void {
    this.types.delete(key(table, column));
    this.notNull.delete(key(table, column));
    // PostgreSQL drops a CHECK constraint together with the column it uses.
    for (const [k, c] of [...this.checks])
      if (k.startsWith(key(table, '')) && c.columns.includes(column)) this.checks.delete(k);
  }

  renameColumn(table: string, from: string, to: string): void {
    const t = this.types.get(key(table, from));
    this.types.delete(key(table, from));
    if (t) this.types.set(key(table, to), t);
    if (this.notNull.delete(key(table, from))) this.notNull.add(key(table, to));
    for (const [k, c] of this.checks)
      if (k.startsWith(key(table, '')) && c.columns.includes(from))
        this.checks.set(k, { ...c, columns: c.columns.map((x) => (x === from ? to : x)) });
  }

  renameTable(from: string, to: string): void {
    moveTable(this.checks, from, to);
    moveTable(this.types, from, to);
    for (const k of [...this.notNull])
      if (k.startsWith(key(from, ''))) {
        this.notNull.delete(k);
        this.notNull.add(key(to, k.slice(key(from, '').length)));
      }
    const size = this.sizes.get(from);
    this.sizes.delete(from);
    if (size) this.sizes.set(to, size);
  }

  dropTable(table: string): void {
    for (const k of [...this.checks.keys()])
      if (k.startsWith(key(table, ''))) this.checks.delete(k);
    for (const k of [...this.types.keys()]) if (k.startsWith(key(table, ''))) this.types.delete(k);
    for (const k of [...this.notNull]) if (k.startsWith(key(table, ''))) this.notNull.delete(k);
    this.sizes.delete(table);
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

/** One table as the catalog gives it (live-facts.ts reads it; liveTablesOf interprets it). */
export interface CatalogTable {
  readonly schema: string;
  readonly name: string;
  /** r (table), p (partitioned), m (materialised view). */
  readonly kind: string;
  readonly rows: number | undefined;
  readonly bytes: number;
  readonly columns: readonly {
    readonly name: string;
    /** pg_type.typname, of the element for an array. */
    readonly typname: string;
    readonly array: boolean;
    readonly typmod: number;
    readonly notNull: boolean;
  }[];
  /** CHECK constraints: name, pg_get_constraintdef text, validated. */
  readonly checks: readonly {
    readonly name: string;
    readonly definition: string;
    readonly validated: boolean;
  }[];
}

/** PostgreSQL's VARHDRSZ: varchar and numeric type modifiers are offset by it. */
const VARHDRSZ = 4;

/**
 * A column type in the linter's terms from the catalog's name and type modifier; undefined
 * when the modifier is one the rules do not read (a false match could clear a real rewrite).
 */
export function catalogColumnType(
  typname: string,
  array: boolean,
  typmod: number,
): ColumnType | undefined {
  if (typmod < 0) return { name: typname, mods: [], array };
  switch (typname) {
    case 'varchar':
    case 'bpchar':
      return { name: typname, mods: [typmod - VARHDRSZ], array };
    case 'numeric': {
      const m = typmod - VARHDRSZ;
      // The scale is an 11-bit signed field since PostgreSQL 15 (negative scales).
      const scale = ((m & 0x7ff) ^ 1024) - 1024;
      return { name: typname, mods: [(m >> 16) & 0xffff, scale], array };
    }
    case 'varbit':
    case 'bit':
    case 'timestamp':
    case 'timestamptz':
    case 'time':
    case 'timetz':
      return { name: typname, mods: [typmod], array };
    default:
      return undefined;
  }
}

/**
 * The catalog's tables as facts: sizes (none for a partitioned table, whose rows are in its
 * partitions), types and NOT NULL per column, and the CHECK constraints `notNullColumns` finds
 * proving columns NOT NULL (it parses pg_get_constraintdef's text).
 */
export function liveTablesOf(
  catalog: readonly CatalogTable[],
  notNullColumns: (checkDefinition: string) => readonly string[],
): LiveTable[] {
  return catalog.map((t) => ({
    schema: t.schema,
    name: t.name,
    size: t.kind === 'p' || t.rows === undefined ? undefined : { rows: t.rows, bytes: t.bytes },
    columns: t.columns.map((c) => ({
      name: c.name,
      type: catalogColumnType(c.typname, c.array, c.typmod),
      notNull: c.notNull,
    })),
    notNullChecks: t.checks.flatMap((c) => {
      const columns = notNullColumns(c.definition);
      return columns.length === 0 ? [] : [{ name: c.name, columns, validated: c.validated }];
    }),
  }));
}
