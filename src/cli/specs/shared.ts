// Flags that more than one command reads, described once.
import { DEFAULTS } from '../../api/settings.js';
import type { FlagSpec } from '../command-spec.js';

export const SNAPSHOT_STORAGE_FLAG = {
  type: 'string',
  value: 'LOCATION',
  description:
    'where the snapshots are: a directory, or s3://BUCKET/PREFIX for S3-compatible object storage (credentials and region from the AWS environment; DBMIGRATE_S3_ENDPOINT, DBMIGRATE_S3_PATH_STYLE, DBMIGRATE_S3_SSE for other servers and encryption)',
  env: 'DBMIGRATE_SNAPSHOT_DIR',
  defaultText: '"snapshots.storage" in dbmigrate.json, else ./snapshots',
} as const satisfies FlagSpec;

/** Where temporary full copies (snapshot verification, staging restores) may be created. */
export const SCRATCH_FLAGS = {
  'scratch-url': {
    type: 'string',
    value: 'URL',
    description:
      'a server for temporary copies (snapshot verification, staging restore), never production',
    env: 'DBMIGRATE_SCRATCH_URL',
  },
  'scratch-local': {
    type: 'boolean',
    description:
      'start a throwaway local PostgreSQL of the same major for the copies (needs initdb), removed on exit',
  },
  'scratch-on-production': {
    type: 'boolean',
    description:
      'create the temporary copies on the production server itself (costs its disk and I/O)',
  },
} as const satisfies Readonly<Record<string, FlagSpec>>;

export const THRESHOLD_TEXT = `${String(DEFAULTS.windowThresholdMs)}ms`;
