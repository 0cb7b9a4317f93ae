import { z } from 'zod';

/**
 * The `health` section of dbmigrate.json: when a measured value becomes a warning or a
 * critical finding of `dbmigrate health`. Every default is declared here, once; `prefault`
 * runs an absent section through the schema so the defaults below fill it.
 */

type Direction = 'above' | 'below';

interface Pair {
  warning: number;
  critical: number;
}

/** `warning` and `critical` for a value where higher (`above`) or lower (`below`) is worse. */
function pair(what: string, direction: Direction, defaults: Pair) {
  const word = direction === 'above' ? 'at or above' : 'at or below';
  return {
    warning: z
      .number()
      .nonnegative()
      .default(defaults.warning)
      .describe(`${what} ${word} this is a warning.`),
    critical: z
      .number()
      .nonnegative()
      .default(defaults.critical)
      .describe(`${what} ${word} this is critical.`),
  };
}

/** Refuses a critical threshold milder than the warning one; an absent object gets the defaults. */
function ordered<
  S extends z.ZodType<Pair, { warning?: number | undefined; critical?: number | undefined }>,
>(schema: S, direction: Direction) {
  return schema
    .refine((l) => (direction === 'above' ? l.critical >= l.warning : l.critical <= l.warning), {
      message:
        direction === 'above'
          ? 'must be at least the warning threshold'
          : 'must be at most the warning threshold (lower is worse here)',
      path: ['critical'],
    })
    .prefault({} as z.input<S>);
}

/** A `{ warning, critical }` object of the health config. */
function limits(what: string, direction: Direction, defaults: Pair) {
  return ordered(z.object(pair(what, direction, defaults)).strict(), direction);
}

/** A floor below which the value says nothing (a small table, a cold cache). */
function floorOf(minimum: number, description: string) {
  return z.number().int().nonnegative().default(minimum).describe(description);
}

/** The severity of a yes/no finding, or `off` to not report it. */
const FixedSeverity = z.enum(['warning', 'critical', 'off']);

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

export const HealthConfigSchema = z
  .object({
    queryTimeoutMs: z
      .number()
      .int()
      .positive()
      .max(60_000)
      .default(2000)
      .describe(
        'statement_timeout and lock_timeout of every health query; a section that runs out is reported unavailable.',
      ),
    topN: z
      .number()
      .int()
      .positive()
      .max(100)
      .default(10)
      .describe('Rows listed per section (largest relations, bloat, dead tuples, statements).'),
    connections: limits('Connections in use as a share of max_connections (0-1)', 'above', {
      warning: 0.8,
      critical: 0.9,
    }),
    longestQuerySeconds: limits('The longest running query, in seconds,', 'above', {
      warning: 60,
      critical: 300,
    }),
    longestTransactionSeconds: limits('The longest open transaction, in seconds,', 'above', {
      warning: 300,
      critical: 1800,
    }),
    idleInTransactionSeconds: limits('A session idle in transaction, in seconds,', 'above', {
      warning: 60,
      critical: 600,
    }),
    lockWaitSeconds: limits('A session waiting for a lock, in seconds,', 'above', {
      warning: 5,
      critical: 60,
    }),
    invalidIndexes: limits(
      'The number of invalid indexes (not counting builds in progress)',
      'above',
      {
        warning: 1,
        critical: 10,
      },
    ),
    cacheHitRatio: ordered(
      z
        .object({
          ...pair('The buffer cache hit ratio of the database (0-1)', 'below', {
            warning: 0.9,
            critical: 0.8,
          }),
          minBlocks: floorOf(
            100_000,
            'Judged only once this many blocks were read or hit (a cold start says nothing).',
          ),
        })
        .strict(),
      'below',
    ),
    deadTupleRatio: ordered(
      z
        .object({
          ...pair("A table's dead tuples as a share of its live + dead tuples (0-1)", 'above', {
            warning: 0.2,
            critical: 0.5,
          }),
          minDeadTuples: floorOf(10_000, 'Tables with fewer dead tuples than this are not judged.'),
        })
        .strict(),
      'above',
    ),
    tableBloatRatio: ordered(
      z
        .object({
          ...pair("A table's estimated wasted space as a share of its size (0-1)", 'above', {
            warning: 0.5,
            critical: 0.8,
          }),
          minBytes: floorOf(10 * MiB, 'Tables smaller than this many bytes are not judged.'),
        })
        .strict(),
      'above',
    ),
    indexBloatRatio: ordered(
      z
        .object({
          ...pair("A btree index's estimated wasted space as a share of its size (0-1)", 'above', {
            warning: 0.5,
            critical: 0.8,
          }),
          minBytes: floorOf(10 * MiB, 'Indexes smaller than this many bytes are not judged.'),
        })
        .strict(),
      'above',
    ),
    autovacuumDisabled: z
      .object({
        server: FixedSeverity.default('critical').describe(
          'Severity when autovacuum (or track_counts) is off for the whole server.',
        ),
        table: FixedSeverity.default('warning').describe(
          'Severity when a table has the reloption autovacuum_enabled = false.',
        ),
      })
      .strict()
      .prefault({}),
    xidAgeRatio: limits(
      'age(datfrozenxid) of the oldest database as a share of autovacuum_freeze_max_age',
      'above',
      { warning: 1, critical: 1.5 },
    ),
    replicationLagSeconds: limits('A replica’s replay lag, in seconds,', 'above', {
      warning: 30,
      critical: 300,
    }),
    inactiveSlotRetainedBytes: limits(
      'WAL an inactive replication slot retains, in bytes,',
      'above',
      {
        warning: GiB,
        critical: 10 * GiB,
      },
    ),
    readPathMs: limits("A doc-server read-path smoke query's latency, in milliseconds,", 'above', {
      warning: 100,
      critical: 1000,
    }),
  })
  .strict()
  .prefault({});

export type HealthConfig = z.infer<typeof HealthConfigSchema>;

/** A `{ warning, critical }` pair of the health config (extra keys such as `minBytes` aside). */
export interface HealthLimits {
  readonly warning: number;
  readonly critical: number;
}

/** The defaults, for callers without a dbmigrate.json (tests, the library). */
export function defaultHealthConfig(): HealthConfig {
  return HealthConfigSchema.parse(undefined);
}
