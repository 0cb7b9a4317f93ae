// The table locks a DDL statement takes, from the statement alone (PostgreSQL's documented lock
// levels: "Explicit Locking" and the Notes of ALTER TABLE / CREATE INDEX / REINDEX …). The
// staging dry-run measures the real locks; this is what the linter can know without a database.
import type { AlterTableCmd, Node } from 'libpg-query';
import { LOCK_MODES, type LockMode } from '../dryrun/lock-modes.js';
import {
  displayName,
  optionEnabled,
  relationFromList,
  relationOf,
  type RelationName,
} from './ast.js';

export interface StatementLock {
  readonly relation: string;
  readonly mode: LockMode;
}

/** Lock levels of ALTER TABLE subcommands that are weaker than ACCESS EXCLUSIVE. */
const ALTER_TABLE_LOCKS: Partial<Record<string, LockMode>> = {
  AT_ValidateConstraint: 'ShareUpdateExclusiveLock',
  AT_SetStatistics: 'ShareUpdateExclusiveLock',
  AT_SetOptions: 'ShareUpdateExclusiveLock',
  AT_ResetOptions: 'ShareUpdateExclusiveLock',
  AT_SetRelOptions: 'ShareUpdateExclusiveLock',
  AT_ResetRelOptions: 'ShareUpdateExclusiveLock',
  AT_ReplaceRelOptions: 'ShareUpdateExclusiveLock',
  AT_ClusterOn: 'ShareUpdateExclusiveLock',
  AT_DropCluster: 'ShareUpdateExclusiveLock',
  AT_AttachPartition: 'ShareUpdateExclusiveLock',
  AT_DetachPartitionFinalize: 'ShareUpdateExclusiveLock',
  AT_EnableTrig: 'ShareRowExclusiveLock',
  AT_EnableAlwaysTrig: 'ShareRowExclusiveLock',
  AT_EnableReplicaTrig: 'ShareRowExclusiveLock',
  AT_EnableTrigAll: 'ShareRowExclusiveLock',
  AT_EnableTrigUser: 'ShareRowExclusiveLock',
  AT_DisableTrig: 'ShareRowExclusiveLock',
  AT_DisableTrigAll: 'ShareRowExclusiveLock',
  AT_DisableTrigUser: 'ShareRowExclusiveLock',
};

function alterTableCmdLock(cmd: AlterTableCmd): LockMode {
  const def = cmd.def;
  if (cmd.subtype === 'AT_AddConstraint' && def && 'Constraint' in def) {
    if (def.Constraint.contype === 'CONSTR_FOREIGN') return 'ShareRowExclusiveLock';
  }
  if (cmd.subtype === 'AT_DetachPartition' && def && 'PartitionCmd' in def) {
    if (def.PartitionCmd.concurrent === true) return 'ShareUpdateExclusiveLock';
  }
  return (cmd.subtype && ALTER_TABLE_LOCKS[cmd.subtype]) ?? 'AccessExclusiveLock';
}

/**
 * Locks `node` takes on relations for which `existing` is true (tables created earlier in the
 * same migration are nobody else's concern). DML is left out: its ROW EXCLUSIVE blocks no one.
 */
export function locksTaken(node: Node, existing: (r: RelationName) => boolean): StatementLock[] {
  const out: StatementLock[] = [];
  const add = (r: RelationName | undefined, mode: LockMode): void => {
    if (r !== undefined && existing(r)) out.push({ relation: displayName(r), mode });
  };

  if ('AlterTableStmt' in node) {
    const s = node.AlterTableStmt;
    const rel = relationOf(s.relation);
    for (const c of s.cmds ?? []) {
      if (!('AlterTableCmd' in c)) continue;
      add(rel, alterTableCmdLock(c.AlterTableCmd));
      const def = c.AlterTableCmd.def;
      if (def && 'Constraint' in def && def.Constraint.contype === 'CONSTR_FOREIGN') {
        add(relationOf(def.Constraint.pktable), 'ShareRowExclusiveLock');
      }
      if (def && 'ColumnDef' in def) {
        for (const k of def.ColumnDef.constraints ?? []) {
          if ('Constraint' in k && k.Constraint.contype === 'CONSTR_FOREIGN')
            add(relationOf(k.Constraint.pktable), 'ShareRowExclusiveLock');
        }
      }
    }
  } else if ('IndexStmt' in node) {
    const s = node.IndexStmt;
    add(relationOf(s.relation), s.concurrent === true ? 'ShareUpdateExclusiveLock' : 'ShareLock');
  } else if ('DropStmt' in node) {
    const s = node.DropStmt;
    const mode: LockMode =
      s.concurrent === true ? 'ShareUpdateExclusiveLock' : 'AccessExclusiveLock';
    if (
      s.removeType === 'OBJECT_TABLE' ||
      s.removeType === 'OBJECT_INDEX' ||
      s.removeType === 'OBJECT_MATVIEW'
    ) {
      for (const o of s.objects ?? []) add(relationFromList(o), mode);
    }
  } else if ('RenameStmt' in node) {
    const s = node.RenameStmt;
    add(
      relationOf(s.relation),
      s.renameType === 'OBJECT_INDEX' ? 'ShareUpdateExclusiveLock' : 'AccessExclusiveLock',
    );
  } else if ('TruncateStmt' in node) {
    for (const r of node.TruncateStmt.relations ?? [])
      if ('RangeVar' in r) add(relationOf(r.RangeVar), 'AccessExclusiveLock');
  } else if ('VacuumStmt' in node) {
    const s = node.VacuumStmt;
    const full = s.is_vacuumcmd === true && optionEnabled(s.options, 'full');
    for (const r of s.rels ?? [])
      if ('VacuumRelation' in r)
        add(
          relationOf(r.VacuumRelation.relation),
          full ? 'AccessExclusiveLock' : 'ShareUpdateExclusiveLock',
        );
  } else if ('ClusterStmt' in node) {
    add(relationOf(node.ClusterStmt.relation), 'AccessExclusiveLock');
  } else if ('ReindexStmt' in node) {
    const s = node.ReindexStmt;
    const concurrent = optionEnabled(s.params, 'concurrently');
    const nonConcurrent: LockMode =
      s.kind === 'REINDEX_OBJECT_INDEX' ? 'AccessExclusiveLock' : 'ShareLock';
    add(relationOf(s.relation), concurrent ? 'ShareUpdateExclusiveLock' : nonConcurrent);
  } else if ('RefreshMatViewStmt' in node) {
    const s = node.RefreshMatViewStmt;
    add(relationOf(s.relation), s.concurrent === true ? 'ExclusiveLock' : 'AccessExclusiveLock');
  } else if ('LockStmt' in node) {
    const mode = LOCK_MODES[(node.LockStmt.mode ?? 8) - 1] ?? 'AccessExclusiveLock';
    for (const r of node.LockStmt.relations ?? [])
      if ('RangeVar' in r) add(relationOf(r.RangeVar), mode);
  } else if ('CreateTrigStmt' in node) {
    add(relationOf(node.CreateTrigStmt.relation), 'ShareRowExclusiveLock');
  } else if ('CreateStmt' in node) {
    const s = node.CreateStmt;
    if (s.partbound !== undefined) {
      for (const p of s.inhRelations ?? [])
        if ('RangeVar' in p) add(relationOf(p.RangeVar), 'AccessExclusiveLock');
    }
    const fks = [
      ...(s.constraints ?? []),
      ...(s.tableElts ?? []).flatMap((e) =>
        'ColumnDef' in e ? (e.ColumnDef.constraints ?? []) : [e],
      ),
    ];
    for (const k of fks)
      if ('Constraint' in k && k.Constraint.contype === 'CONSTR_FOREIGN')
        add(relationOf(k.Constraint.pktable), 'ShareRowExclusiveLock');
  }
  return out;
}
