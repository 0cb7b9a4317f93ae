import { defineCommand, ENGINE_GLOBALS } from '../command-spec.js';

export const repairSpec = defineCommand({
  name: 'repair',
  summary: 'after a manual fix: accept a checksum or forget a failed attempt',
  usage: ['repair ID'],
  details: [
    "For an applied migration whose file was edited, records the file's new checksum. For a failed or half-applied one, forgets the attempt so apply runs it again (undo its partial effects by hand first).",
  ],
  positionals: 1,
  flags: {},
  globals: ENGINE_GLOBALS,
});
