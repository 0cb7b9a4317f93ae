// Every command's spec, in the order `dbmigrate --help` lists them. Pure data: loading this
// costs nothing at start-up, unlike the commands themselves.
import type { CommandSpec } from '../command-spec.js';
import { applySpec } from './apply.js';
import { archiveSpec } from './archive.js';
import { backfillSpec } from './backfill.js';
import { baselineSpec } from './baseline.js';
import { dryRunSpec } from './dry-run.js';
import { healthSpec } from './health.js';
import { historySpec } from './history.js';
import { lintSpec } from './lint.js';
import { operatorSpec } from './operator.js';
import { partitionsSpec } from './partitions.js';
import { planSpec } from './plan.js';
import { repairSpec } from './repair.js';
import { rollbackSpec } from './rollback.js';
import { snapshotSpec } from './snapshot.js';
import { statusSpec } from './status.js';
import { validateSpec } from './validate.js';
import { verifySpec } from './verify.js';

export const COMMAND_SPECS: readonly CommandSpec[] = [
  statusSpec,
  historySpec,
  planSpec,
  validateSpec,
  lintSpec,
  applySpec,
  rollbackSpec,
  baselineSpec,
  snapshotSpec,
  dryRunSpec,
  verifySpec,
  healthSpec,
  backfillSpec,
  partitionsSpec,
  archiveSpec,
  operatorSpec,
  repairSpec,
];
