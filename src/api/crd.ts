import { z } from 'zod';
import {
  BackupSnapshotSpecSchema,
  BackupSnapshotStatusSchema,
} from './v1alpha1/backup-snapshot.js';
import { GROUP, VERSION } from './v1alpha1/common.js';
import {
  DatabaseMigrationSpecSchema,
  DatabaseMigrationStatusSchema,
} from './v1alpha1/database-migration.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = Record<string, Json>;

const DROPPED_KEYS = new Set(['$schema', 'propertyNames', 'id', '$id']);

/**
 * zod's JSON Schema (2020-12) → a Kubernetes structural OpenAPI v3 schema: every node typed,
 * `null` unions as `nullable`, `const` as a one-value `enum`, no `additionalProperties: false`
 * (forbidden in CRDs; unknown fields are pruned by the apiserver instead), and JavaScript's
 * safe-integer bounds dropped.
 */
export function toStructuralSchema(node: Json): Json {
  if (Array.isArray(node)) return node.map(toStructuralSchema);
  if (node === null || typeof node !== 'object') return node;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    if (DROPPED_KEYS.has(key)) continue;
    if (key === 'additionalProperties' && value === false) continue;
    // JSON Schema 2020-12 has numeric exclusive bounds; OpenAPI v3.0 (what CRDs speak) has a
    // boolean beside minimum/maximum.
    if ((key === 'exclusiveMinimum' || key === 'exclusiveMaximum') && typeof value === 'number') {
      out[key === 'exclusiveMinimum' ? 'minimum' : 'maximum'] = value;
      out[key] = true;
      continue;
    }
    if (key === 'const') {
      out['enum'] = [value];
      continue;
    }
    if (
      (key === 'minimum' || key === 'maximum') &&
      typeof value === 'number' &&
      Math.abs(value) >= Number.MAX_SAFE_INTEGER
    ) {
      continue;
    }
    if (key === 'type' && Array.isArray(value)) {
      const types = value.filter((t) => t !== 'null');
      if (types.length !== 1)
        throw new Error(`CRD schemas cannot express a union of types ${JSON.stringify(value)}`);
      out['type'] = types[0] ?? 'string';
      if (value.includes('null')) out['nullable'] = true;
      continue;
    }
    if (
      key === 'properties' &&
      value !== null &&
      typeof value === 'object' &&
      !Array.isArray(value)
    ) {
      out[key] = Object.fromEntries(
        Object.entries(value).map(([k, v]) => [k, toStructuralSchema(v)]),
      );
      continue;
    }
    out[key] = toStructuralSchema(value);
  }
  if (out['anyOf'] !== undefined || out['oneOf'] !== undefined) {
    throw new Error(
      'CRD schemas here avoid anyOf/oneOf: use optional fields and an x-kubernetes-validations rule',
    );
  }
  return out;
}

function schemaOf(schema: z.ZodType): Json {
  return toStructuralSchema(
    z.toJSONSchema(schema, { io: 'input', unrepresentable: 'throw' }) as Json,
  );
}

interface PrinterColumn {
  readonly name: string;
  readonly type: 'string' | 'integer' | 'boolean' | 'date' | 'number';
  readonly jsonPath: string;
  readonly description?: string;
  readonly priority?: number;
}

interface CrdDefinition {
  readonly kind: string;
  readonly plural: string;
  readonly singular: string;
  readonly shortNames: readonly string[];
  readonly spec: z.ZodType;
  readonly status: z.ZodType;
  readonly columns: readonly PrinterColumn[];
  readonly description: string;
  readonly specDescription: string;
  readonly statusDescription: string;
}

function customResourceDefinition(def: CrdDefinition): JsonObject {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${def.plural}.${GROUP}` },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: {
        kind: def.kind,
        listKind: `${def.kind}List`,
        plural: def.plural,
        singular: def.singular,
        shortNames: [...def.shortNames],
        categories: ['dbops'],
      },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: def.columns.map((c) => ({ ...c })),
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: def.description,
              required: ['spec'],
              properties: {
                apiVersion: {
                  type: 'string',
                  description: `The versioned schema of this object: ${GROUP}/${VERSION}.`,
                },
                kind: { type: 'string', description: `${def.kind}.` },
                // The API server refuses anything but `type` here (it documents ObjectMeta itself).
                metadata: { type: 'object' },
                spec: { ...(schemaOf(def.spec) as JsonObject), description: def.specDescription },
                status: {
                  ...(schemaOf(def.status) as JsonObject),
                  description: def.statusDescription,
                },
              },
            },
          },
        },
      ],
    },
  };
}

const AGE: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

/** The CRDs, generated from the zod schemas (the single source of truth). */
/** The Ready condition as `kubectl get` shows it for built-in kinds: its status and reason. */
const READY_COLUMNS: readonly PrinterColumn[] = [
  { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
  { name: 'Reason', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].reason' },
];

/** Last, and only with -o wide: it can be long. */
const MESSAGE_COLUMN: PrinterColumn = {
  name: 'Message',
  type: 'string',
  priority: 1,
  jsonPath: '.status.conditions[?(@.type=="Ready")].message',
};

export function customResourceDefinitions(): Record<string, JsonObject> {
  return {
    'dbops.docserver.io_databasemigrations.yaml': customResourceDefinition({
      kind: 'DatabaseMigration',
      plural: 'databasemigrations',
      singular: 'databasemigration',
      shortNames: ['dbm', 'dbmigration'],
      spec: DatabaseMigrationSpecSchema,
      status: DatabaseMigrationStatusSchema,
      description:
        'Drives a set of SQL migrations through snapshot, staging dry-run, apply and verify against the database in a DATABASE_URL Secret.',
      specDescription:
        'Which database, which migrations, and the safety steps around applying them.',
      statusDescription:
        'Written by the operator: the phase, the pinned set, what is applied, and why it stopped.',
      columns: [
        { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
        { name: 'Applied', type: 'integer', jsonPath: '.status.appliedCount' },
        { name: 'Pending', type: 'integer', jsonPath: '.status.pendingCount' },
        { name: 'Snapshot', type: 'string', jsonPath: '.status.snapshotRef.name' },
        ...READY_COLUMNS,
        AGE,
        MESSAGE_COLUMN,
      ],
    }),
    'dbops.docserver.io_backupsnapshots.yaml': customResourceDefinition({
      kind: 'BackupSnapshot',
      plural: 'backupsnapshots',
      singular: 'backupsnapshot',
      shortNames: ['dbsnap'],
      spec: BackupSnapshotSpecSchema,
      status: BackupSnapshotStatusSchema,
      description:
        'A pg_dump snapshot of a database with a manifest, verified by restoring it into a scratch database.',
      specDescription: 'Which database to dump, where to write it, and how to verify and prune.',
      statusDescription: 'Written by the operator: the phase, the snapshot and its verification.',
      columns: [
        { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
        { name: 'Size', type: 'string', jsonPath: '.status.size' },
        { name: 'Verified', type: 'boolean', jsonPath: '.status.verified' },
        ...READY_COLUMNS,
        AGE,
        MESSAGE_COLUMN,
      ],
    }),
  };
}

/** Where the generated CRDs are kept: for kubectl, and in the Helm chart's crds/. */
export const CRD_DIRS = ['crds', 'charts/db-migration-operator/crds'] as const;
