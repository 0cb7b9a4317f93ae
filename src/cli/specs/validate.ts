import { defineCommand, ENGINE_GLOBALS } from '../command-spec.js';
import { PLAN_FLAGS } from './plan.js';

export const validateSpec = defineCommand({
  name: 'validate',
  summary: 'check the files against the database',
  usage: ['validate [--out-of-order] [--resume] [--json]'],
  details: [
    'Exits 3 when a file was edited after it was applied, an applied file is missing, a migration is half applied, history and its events disagree, or an invalid index is left behind.',
  ],
  flags: { 'out-of-order': PLAN_FLAGS['out-of-order'], resume: PLAN_FLAGS.resume },
  globals: ENGINE_GLOBALS,
});
