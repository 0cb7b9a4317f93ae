import { defineCommand, ENGINE_GLOBALS } from '../command-spec.js';

/** The flags of commands that choose which pending migrations run. */
export const PLAN_FLAGS = {
  target: {
    type: 'string',
    value: 'ID',
    description: 'stop after this migration',
    defaultText: 'every pending migration',
  },
  'out-of-order': {
    type: 'boolean',
    description: 'allow pending migrations older than the newest applied one',
  },
  resume: {
    type: 'boolean',
    description:
      'continue a half-applied non-transactional migration from its next statement (when its done part is unchanged)',
  },
} as const;

export const planSpec = defineCommand({
  name: 'plan',
  summary: 'show what apply would run and what would stop it',
  usage: ['plan [--target ID] [--out-of-order] [--resume] [--json]'],
  details: ['Read-only. Exits 3 when apply would refuse, naming why.'],
  flags: PLAN_FLAGS,
  globals: ENGINE_GLOBALS,
});
