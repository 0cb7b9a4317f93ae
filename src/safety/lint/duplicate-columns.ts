// ban-duplicate-column-assignments: a column named twice where PostgreSQL refuses the statement
// when it runs (42701 "column … specified more than once", or "multiple assignments to same
// column"), found before the migration is half-applied.
//
//   create table t (a bigint, a text);             -- defined twice
//   create view v (a, a) as select 1, 2;           -- output names of views, CREATE TABLE AS,
//   create view v as select t.a, u.a from t, u;    --   materialized views and SELECT INTO
//   insert into t (a, a) values (1, 2);            -- insert column lists (also MERGE … INSERT)
//   update t set a = 1, a = 2;                     -- SET lists (also ON CONFLICT, MERGE … UPDATE)
//
// Assignments to parts of one column (`set a[1] = 1, a[2] = 2`, `set c.x = 1, c.y = 2`) are
// allowed: PostgreSQL merges them. Names compare as the parser left them, already folded to
// lower case and truncated to 63 bytes, so two long names that truncate alike count as one.
import type { Node, ResTarget, SelectStmt } from 'libpg-query';
import { stringOf, stringsOf } from './ast.js';

export interface DuplicateColumn {
  /** The column name, as PostgreSQL stores it. */
  readonly name: string;
  /** What names it twice: `CREATE TABLE t`, `UPDATE t` … */
  readonly where: string;
  /** `defined`, `assigned` … for the message. */
  readonly verb: string;
  /** Parser location (relative to the parsed string) of its second occurrence. */
  readonly location: number | undefined;
}

interface Named {
  readonly name: string;
  readonly location: number | undefined;
  /** An assignment to an element or field of the column, not to all of it. */
  readonly partial: boolean;
}

/** Every duplicated column of `node` and the statements nested in it (CTEs, subqueries). */
export function duplicateColumns(node: Node): DuplicateColumn[] {
  const out: DuplicateColumn[] = [];
  const check = (names: readonly Named[], where: string, verb: string): void => {
    out.push(...duplicatesIn(names, where, verb));
  };
  visitNodes(node, (n) => {
    if ('CreateStmt' in n) {
      const s = n.CreateStmt;
      const columns: Named[] = [];
      for (const e of s.tableElts ?? [])
        if ('ColumnDef' in e && e.ColumnDef.colname !== undefined)
          columns.push({
            name: e.ColumnDef.colname,
            location: e.ColumnDef.location,
            partial: false,
          });
      check(columns, `CREATE TABLE ${s.relation?.relname ?? ''}`, 'defined');
    } else if ('InsertStmt' in n) {
      const s = n.InsertStmt;
      const table = s.relation?.relname ?? '';
      check(targets(s.cols), `INSERT INTO ${table}`, 'listed');
      check(
        targets(s.onConflictClause?.targetList),
        `ON CONFLICT DO UPDATE of ${table}`,
        'assigned',
      );
    } else if ('UpdateStmt' in n) {
      check(
        targets(n.UpdateStmt.targetList),
        `UPDATE ${n.UpdateStmt.relation?.relname ?? ''}`,
        'assigned',
      );
    } else if ('MergeStmt' in n) {
      const table = n.MergeStmt.relation?.relname ?? '';
      for (const w of n.MergeStmt.mergeWhenClauses ?? []) {
        if (!('MergeWhenClause' in w)) continue;
        const insert = w.MergeWhenClause.commandType === 'CMD_INSERT';
        check(
          targets(w.MergeWhenClause.targetList),
          `MERGE INTO ${table} … ${insert ? 'INSERT' : 'UPDATE'}`,
          insert ? 'listed' : 'assigned',
        );
      }
    } else if ('ViewStmt' in n) {
      const s = n.ViewStmt;
      check(
        outputNames(s.query, stringsOf(s.aliases)),
        `CREATE VIEW ${s.view?.relname ?? ''}`,
        'named',
      );
    } else if ('CreateTableAsStmt' in n) {
      const s = n.CreateTableAsStmt;
      const kind = s.objtype === 'OBJECT_MATVIEW' ? 'CREATE MATERIALIZED VIEW' : 'CREATE TABLE';
      check(
        outputNames(s.query, stringsOf(s.into?.colNames)),
        `${kind} ${s.into?.rel?.relname ?? ''} AS`,
        'named',
      );
    } else if ('SelectStmt' in n && n.SelectStmt.intoClause !== undefined) {
      check(
        outputNames(n, []),
        `SELECT … INTO ${n.SelectStmt.intoClause.rel?.relname ?? ''}`,
        'named',
      );
    }
  });
  return out;
}

function duplicatesIn(names: readonly Named[], where: string, verb: string): DuplicateColumn[] {
  const byName = new Map<string, Named[]>();
  for (const n of names) byName.set(n.name, [...(byName.get(n.name) ?? []), n]);
  const out: DuplicateColumn[] = [];
  for (const [name, all] of byName) {
    if (all.length < 2 || all.every((n) => n.partial)) continue;
    out.push({ name, where, verb, location: all[1]?.location });
  }
  return out;
}

function targets(list: readonly Node[] | undefined): Named[] {
  const out: Named[] = [];
  for (const n of list ?? []) {
    if (!('ResTarget' in n) || n.ResTarget.name === undefined) continue;
    const t = n.ResTarget;
    out.push({
      name: t.name ?? '',
      location: t.location,
      partial: (t.indirection?.length ?? 0) > 0,
    });
  }
  return out;
}

/**
 * The column names a query produces, as PostgreSQL names them, with `explicit` names (a view's
 * column list, CREATE TABLE AS (…)) replacing the first ones. A column whose name takes more
 * than an alias, a column reference or a function call to work out is left out.
 */
function outputNames(query: Node | undefined, explicit: readonly string[]): Named[] {
  let select: SelectStmt | undefined =
    query !== undefined && 'SelectStmt' in query ? query.SelectStmt : undefined;
  // A UNION, INTERSECT or EXCEPT takes its names from its leftmost branch.
  while (select?.larg !== undefined && select.op !== undefined && select.op !== 'SETOP_NONE')
    select = select.larg;
  const derived: (Named | undefined)[] = (select?.targetList ?? []).map((n) =>
    'ResTarget' in n ? outputName(n.ResTarget) : undefined,
  );
  const out: Named[] = [];
  const count = Math.max(derived.length, explicit.length);
  for (let i = 0; i < count; i++) {
    const given = explicit[i];
    const name =
      given !== undefined ? { name: given, location: undefined, partial: false } : derived[i];
    if (name !== undefined) out.push(name);
  }
  return out;
}

function outputName(t: ResTarget): Named | undefined {
  const named = (name: string | undefined): Named | undefined =>
    name === undefined ? undefined : { name, location: t.location, partial: false };
  if (t.name !== undefined) return named(t.name);
  const v = t.val;
  if (v === undefined) return undefined;
  if ('ColumnRef' in v) return named(stringOf(v.ColumnRef.fields?.at(-1)));
  if ('FuncCall' in v) return named(stringsOf(v.FuncCall.funcname).at(-1));
  return undefined;
}

/** Calls `visit` on `node` and on every node nested in it. */
function visitNodes(node: unknown, visit: (n: Node) => void): void {
  if (Array.isArray(node)) {
    for (const item of node) visitNodes(item, visit);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const keys = Object.keys(node);
  // A Node is an object with one key, the node type's name: { "UpdateStmt": { … } }.
  if (keys.length === 1 && /^[A-Z]/.test(keys[0] ?? '')) visit(node as Node);
  for (const value of Object.values(node)) visitNodes(value, visit);
}
