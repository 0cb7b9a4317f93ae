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
    type: z.string().min(1).max(316),
    status: z.enum(['True', 'False', 'Unknown']),
    observedGeneration: z.number().int().nonnegative().optional(),
    lastTransitionTime: z.string().describe('RFC 3339 time of the last status change.'),
    reason: z
      .string()
      .regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/)
      .max(1024),
    message: z.string().max(32768),
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
