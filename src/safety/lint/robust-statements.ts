// prefer-robust-stmts: in a transaction=false migration every statement commits on its own and
// the engine records progress after it, so a runner lost in between (crash, lost connection,
// killed pod) leaves a statement that ran but is not recorded, and `apply --resume` runs it
// again. Statements that fail the second time ("already exists", "does not exist") are flagged
// with the guard that makes them repeatable. Statements that repeat harmlessly (SET NOT NULL,
// VALIDATE CONSTRAINT, ALTER COLUMN … TYPE …) are not.
import type { AlterTableCmd, Node, RangeVar } from 'libpg-query';
import { displayName, relationOf, stringsOf } from './ast.js';

export interface NotRepeatable {
  /** The statement or subcommand and what it lacks, e.g. `CREATE TABLE t without IF NOT EXISTS`. */
  readonly what: string;
  /** Parser location (relative to the parsed string), when the AST has one. */
  readonly location: number | undefined;
}

/** Remembers, across the statements of one migration, the constraints dropped IF EXISTS. */
export class RepeatabilityCheck {
  /** `table\0constraint` dropped with IF EXISTS earlier (ADD CONSTRAINT after it repeats fine). */
  private readonly droppedIfExists = new Set<string>();

  /** What in `node` would fail if the statement ran a second time. */
  check(node: Node): NotRepeatable[] {
    const out: NotRepeatable[] = [];
    const flag = (what: string, location?: number): void => {
      out.push({ what, location });
    };
    if ('CreateStmt' in node) {
      const s = node.CreateStmt;
      if (s.if_not_exists !== true && !temporary(s.relation))
        flag(`CREATE TABLE ${tableName(s.relation)} without IF NOT EXISTS`);
    } else if ('CreateTableAsStmt' in node) {
      const s = node.CreateTableAsStmt;
      const kind = s.objtype === 'OBJECT_MATVIEW' ? 'CREATE MATERIALIZED VIEW' : 'CREATE TABLE';
      if (s.if_not_exists !== true && !s.is_select_into && !temporary(s.into?.rel))
        flag(`${kind} ${tableName(s.into?.rel)} … AS without IF NOT EXISTS`);
    } else if ('IndexStmt' in node) {
      const s = node.IndexStmt;
      // The engine recognises a named concurrent build by its name: it counts a valid index
      // as done and drops an INVALID one before building again.
      if (s.concurrent === true && s.idxname === undefined)
        flag(
          `CREATE INDEX CONCURRENTLY on ${tableName(s.relation)} without a name (the engine finds the index a failed or interrupted build left only by its name)`,
        );
      else if (s.concurrent !== true && s.if_not_exists !== true)
        flag(`CREATE INDEX ${s.idxname ?? `on ${tableName(s.relation)}`} without IF NOT EXISTS`);
    } else if ('DropStmt' in node) {
      const s = node.DropStmt;
      if (s.missing_ok !== true)
        flag(
          `DROP ${objectKind(s.removeType)} ${dropped(s.objects, s.removeType)} without IF EXISTS`,
        );
    } else if ('AlterTableStmt' in node) {
      const s = node.AlterTableStmt;
      const rel = relationOf(s.relation);
      for (const c of s.cmds ?? [])
        if ('AlterTableCmd' in c && rel !== undefined)
          this.alterTableCmd(displayName(rel), rel.name, c.AlterTableCmd, flag);
    } else if ('CreateSeqStmt' in node) {
      const s = node.CreateSeqStmt;
      if (s.if_not_exists !== true)
        flag(`CREATE SEQUENCE ${tableName(s.sequence)} without IF NOT EXISTS`);
    } else if ('CreateSchemaStmt' in node) {
      const s = node.CreateSchemaStmt;
      if (s.if_not_exists !== true)
        flag(`CREATE SCHEMA ${s.schemaname ?? ''} without IF NOT EXISTS`);
    } else if ('CreateExtensionStmt' in node) {
      const s = node.CreateExtensionStmt;
      if (s.if_not_exists !== true)
        flag(`CREATE EXTENSION ${s.extname ?? ''} without IF NOT EXISTS`);
    } else if ('ViewStmt' in node) {
      const s = node.ViewStmt;
      if (s.replace !== true) flag(`CREATE VIEW ${tableName(s.view)} without OR REPLACE`);
    } else if ('CreateFunctionStmt' in node) {
      const s = node.CreateFunctionStmt;
      const kind = s.is_procedure === true ? 'PROCEDURE' : 'FUNCTION';
      if (s.replace !== true)
        flag(`CREATE ${kind} ${stringsOf(s.funcname).join('.')} without OR REPLACE`);
    } else if ('CreateTrigStmt' in node) {
      const s = node.CreateTrigStmt;
      if (s.replace !== true)
        flag(`CREATE TRIGGER ${s.trigname ?? ''} without OR REPLACE (PostgreSQL 14+)`);
    } else if ('AlterEnumStmt' in node) {
      const s = node.AlterEnumStmt;
      if (s.newVal !== undefined && s.oldVal === undefined && s.skipIfNewValExists !== true)
        flag(
          `ALTER TYPE ${stringsOf(s.typeName).join('.')} ADD VALUE '${s.newVal}' without IF NOT EXISTS`,
        );
    }
    return out;
  }

  private alterTableCmd(
    table: string,
    key: string,
    cmd: AlterTableCmd,
    flag: (what: string, location?: number) => void,
  ): void {
    const def = cmd.def;
    switch (cmd.subtype) {
      case 'AT_AddColumn':
        if (cmd.missing_ok !== true && def !== undefined && 'ColumnDef' in def)
          flag(
            `ADD COLUMN ${def.ColumnDef.colname ?? ''} on ${table} without IF NOT EXISTS`,
            def.ColumnDef.location,
          );
        break;
      case 'AT_DropColumn':
        if (cmd.missing_ok !== true)
          flag(`DROP COLUMN ${cmd.name ?? ''} on ${table} without IF EXISTS`);
        break;
      case 'AT_DropConstraint':
        if (cmd.missing_ok === true) this.droppedIfExists.add(`${key}\u0000${cmd.name ?? ''}`);
        else flag(`DROP CONSTRAINT ${cmd.name ?? ''} on ${table} without IF EXISTS`);
        break;
      case 'AT_AddConstraint': {
        if (def === undefined || !('Constraint' in def)) break;
        const c = def.Constraint;
        if (c.conname === undefined)
          flag(
            `ADD CONSTRAINT on ${table} without a name (run again, it adds a second constraint under another generated name)`,
            c.location,
          );
        else if (!this.droppedIfExists.has(`${key}\u0000${c.conname}`))
          flag(
            `ADD CONSTRAINT ${c.conname} on ${table} without a DROP CONSTRAINT IF EXISTS ${c.conname} before it`,
            c.location,
          );
        break;
      }
      default:
        break;
    }
  }
}

function temporary(rv: RangeVar | undefined): boolean {
  // A temporary table dies with its session, and a run that is resumed has a new session.
  return rv?.relpersistence === 't';
}

function tableName(rv: RangeVar | undefined): string {
  const rel = relationOf(rv);
  return rel === undefined ? '' : displayName(rel);
}

/** Objects that belong to a table are listed as [schema.]table.name: `name ON [schema.]table`. */
const ON_TABLE = new Set(['OBJECT_TRIGGER', 'OBJECT_RULE', 'OBJECT_POLICY']);

function dropped(objects: readonly Node[] | undefined, removeType: string | undefined): string {
  const nameOf = (o: Node): string[] => {
    if ('List' in o) {
      const parts = stringsOf(o.List.items);
      if (!ON_TABLE.has(removeType ?? '') || parts.length < 2) return parts;
      return [`${parts.at(-1) ?? ''} ON ${parts.slice(0, -1).join('.')}`];
    }
    if ('TypeName' in o) return stringsOf(o.TypeName.names);
    if ('ObjectWithArgs' in o) return stringsOf(o.ObjectWithArgs.objname);
    return stringsOf([o]);
  };
  return (objects ?? [])
    .map((o) => nameOf(o).join('.'))
    .filter((name) => name !== '')
    .join(', ');
}

/** `OBJECT_MATVIEW` → `MATERIALIZED VIEW`, `OBJECT_FOREIGN_TABLE` → `FOREIGN TABLE` … */
function objectKind(removeType: string | undefined): string {
  const kind = (removeType ?? '').replace(/^OBJECT_/, '');
  return kind === 'MATVIEW' ? 'MATERIALIZED VIEW' : kind.replace(/_/g, ' ');
}
