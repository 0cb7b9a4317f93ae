// Small, typed readers over libpg-query's parse tree (the @pgsql/types shapes it re-exports).
import type { ColumnDef, Constraint, Node, RangeVar, TypeName } from 'libpg-query';

export function stringOf(node: Node | undefined): string | undefined {
  return node !== undefined && 'String' in node ? node.String.sval : undefined;
}

export function stringsOf(nodes: readonly Node[] | undefined): string[] {
  const out: string[] = [];
  for (const n of nodes ?? []) {
    const s = stringOf(n);
    if (s !== undefined) out.push(s);
  }
  return out;
}

export function integerOf(node: Node | undefined): number | undefined {
  if (node === undefined) return undefined;
  if ('Integer' in node) return node.Integer.ival ?? 0;
  // Protobuf JSON leaves out zero values: `{"ival":{}}` is 0.
  if ('A_Const' in node && node.A_Const.ival !== undefined) return node.A_Const.ival.ival ?? 0;
  return undefined;
}

/** A table (or index, view …) name as written: schema only when the SQL qualified it. */
export interface RelationName {
  readonly schema: string | undefined;
  readonly name: string;
}

export function relationOf(rv: RangeVar | undefined): RelationName | undefined {
  if (rv?.relname === undefined) return undefined;
  return { schema: rv.schemaname, name: rv.relname };
}

/** `DROP TABLE a, s.b` lists each name as a List of Strings. */
export function relationFromList(node: Node): RelationName | undefined {
  const parts = 'List' in node ? stringsOf(node.List.items) : stringsOf([node]);
  const name = parts.at(-1);
  if (name === undefined) return undefined;
  return { schema: parts.length > 1 ? parts.at(-2) : undefined, name };
}

export function displayName(r: RelationName): string {
  return r.schema === undefined ? r.name : `${r.schema}.${r.name}`;
}

/** Relations known by name; an unqualified name matches the same name in any schema. */
export class RelationSet {
  private readonly items: RelationName[] = [];

  add(r: RelationName): void {
    if (!this.has(r)) this.items.push(r);
  }

  has(r: RelationName): boolean {
    return this.items.some(
      (x) =>
        x.name === r.name &&
        (x.schema === undefined || r.schema === undefined || x.schema === r.schema),
    );
  }
}

/** A column type reduced to what the rules look at. */
export interface ColumnType {
  /** Canonical name: int4, int8, varchar, timestamp, serial, a user type's name … */
  readonly name: string;
  readonly mods: readonly number[];
  readonly array: boolean;
}

const ALIASES: Readonly<Record<string, string>> = {
  int: 'int4',
  integer: 'int4',
  smallint: 'int2',
  bigint: 'int8',
  serial4: 'serial',
  serial2: 'smallserial',
  serial8: 'bigserial',
  'character varying': 'varchar',
  character: 'bpchar',
  'timestamp without time zone': 'timestamp',
  'timestamp with time zone': 'timestamptz',
};

export function columnTypeOf(t: TypeName | undefined): ColumnType | undefined {
  const parts = stringsOf(t?.names);
  const last = parts.at(-1);
  if (t === undefined || last === undefined) return undefined;
  // The parser spells built-in types pg_catalog.<name>; a bare "char" is the internal type.
  const name = parts.length === 1 && last === 'char' ? '"char"' : (ALIASES[last] ?? last);
  const mods: number[] = [];
  for (const m of t.typmods ?? []) {
    const v = integerOf(m);
    if (v !== undefined) mods.push(v);
  }
  return { name, mods, array: (t.arrayBounds?.length ?? 0) > 0 };
}

const LABELS: Readonly<Record<string, string>> = {
  int2: 'smallint',
  int4: 'integer',
  int8: 'bigint',
  bpchar: 'char',
  bool: 'boolean',
  float4: 'real',
  float8: 'double precision',
};

export function typeLabel(t: ColumnType): string {
  const base = LABELS[t.name] ?? t.name;
  return `${base}${t.mods.length > 0 ? `(${t.mods.join(',')})` : ''}${t.array ? '[]' : ''}`;
}

export function constraintsOf(col: ColumnDef): Constraint[] {
  const out: Constraint[] = [];
  for (const n of col.constraints ?? []) if ('Constraint' in n) out.push(n.Constraint);
  return out;
}

/** Columns that `expr` proves NOT NULL: `col IS NOT NULL`, possibly ANDed with more. */
export function notNullColumnsOf(expr: Node | undefined): string[] {
  if (expr === undefined) return [];
  if ('NullTest' in expr) {
    const t = expr.NullTest;
    if (t.nulltesttype !== 'IS_NOT_NULL' || t.arg === undefined || !('ColumnRef' in t.arg))
      return [];
    const col = stringsOf(t.arg.ColumnRef.fields).at(-1);
    return col === undefined ? [] : [col];
  }
  if ('BoolExpr' in expr && expr.BoolExpr.boolop === 'AND_EXPR') {
    return (expr.BoolExpr.args ?? []).flatMap(notNullColumnsOf);
  }
  return [];
}

/** True for a DefElem option list that switches `name` on (`(FULL)`, `(CONCURRENTLY true)`). */
export function optionEnabled(options: readonly Node[] | undefined, name: string): boolean {
  for (const o of options ?? []) {
    if (!('DefElem' in o) || o.DefElem.defname !== name) continue;
    const arg = o.DefElem.arg;
    if (arg === undefined) return true;
    if ('Boolean' in arg) return arg.Boolean.boolval === true;
    if ('Integer' in arg) return (arg.Integer.ival ?? 0) !== 0;
    const s = stringOf(arg)?.toLowerCase();
    return s === undefined || !['false', 'off', '0', 'no'].includes(s);
  }
  return false;
}
