import { z } from 'zod';

export const GROUP = 'dbops.docserver.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

/** A key of a Secret in the resource's namespace. */
export const SecretKeyRefSchema = z
  .object({
    name: z.string().min(1).max(253).describe('Name of a Secret in the same namespace.'),
    key: z.string().min(1).default('DATABASE_URL').describe('Key holding a postgres:// URL.'),
  })
  .strict();
export type SecretKeyRef = z.infer<typeof SecretKeyRefSchema>;

/** metav1.Condition, as Kubernetes API conventions define it. */
export const ConditionSchema = z
  .object({
    type: z.string().min(1).max(316).describe('Ready, Progressing, Degraded, DryRun, Linted, …'),
    status: z.enum(['True', 'False', 'Unknown']).describe('Whether the condition holds.'),
    observedGeneration: z
      .number()
      .int()
      .nonnegative()
      .optional()
      .describe('The generation the condition was set for.'),
    lastTransitionTime: z.string().describe('RFC 3339 time of the last status change.'),
    reason: z
      .string()
      .regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/)
      .max(1024)
      .describe('Why, in one CamelCase word a program can match on.'),
    message: z.string().max(32768).describe('Why, for a person.'),
  })
  .strict();
export type Condition = z.infer<typeof ConditionSchema>;

export const ObjectMetaSchema = z
  .object({
    name: z.string().optional(),
    namespace: z.string().optional(),
    uid: z.string().optional(),
    generation: z.number().int().optional(),
    resourceVersion: z.string().optional(),
    creationTimestamp: z.string().optional(),
    deletionTimestamp: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
    finalizers: z.array(z.string()).optional(),
    ownerReferences: z.array(z.record(z.string(), z.unknown())).optional(),
  })
  .loose();

/**
 * Where temporary full copies (a snapshot's verification restore, the staging restore) are
 * created. Never the production server unless the user opted in: a copy there doubles its
 * load and disk use in the riskiest hour.
 */
export const ScratchServerSpecSchema = z
  .object({
    secretRef: SecretKeyRefSchema.optional().describe(
      'A postgres:// URL on the server for temporary copies; its database part is the maintenance database.',
    ),
    allowProductionServer: z
      .boolean()
      .default(false)
      .describe(
        'Create temporary copies on the production server itself (doubles its load and disk use while they exist).',
      ),
  })
  .strict();
export type ScratchServerSpec = z.infer<typeof ScratchServerSpecSchema>;
