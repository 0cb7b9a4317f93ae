import { createHash } from 'node:crypto';
import {
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesListObject,
  type KubernetesObject,
  type V1Lease,
} from '@kubernetes/client-node';
import { GROUP, VERSION } from '../api/v1alpha1/common.js';

export type Plural = 'databasemigrations' | 'backupsnapshots';

export interface ObjectRef {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid?: string | undefined;
  readonly resourceVersion?: string | undefined;
}

/**
 * One line saying why a Kubernetes API call failed: the HTTP status with the API server's own
 * message, or the network cause (client-node reports a refused connection as "fetch failed").
 * For logs an operator's user reads; the full response (headers, stack) helps nobody there.
 */
export function apiErrorSummary(err: unknown): string {
  if (err instanceof ApiException) {
    const e = err as ApiException<unknown>;
    let message = '';
    try {
      const body: unknown = typeof e.body === 'string' ? JSON.parse(e.body) : e.body;
      const m = (body as { message?: unknown } | null)?.message;
      if (typeof m === 'string') message = m;
    } catch {
      // Not a Status object: the code alone.
    }
    return `HTTP ${String(e.code)}${message ? `: ${message}` : ''}`;
  }
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause;
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    return `cannot reach the API server: ${code ? `${code} ` : ''}${cause.message}`.trim();
  }
  return err.message.split('\n')[0] ?? err.message;
}

/** HTTP status of a failed API call, or null when it was not an API error. */
export function httpStatus(err: unknown): number | null {
  return err instanceof ApiException ? (err as ApiException<unknown>).code : null;
}

/** A kubeconfig that cannot be used: missing, unreadable, not YAML, or naming no cluster. */
export class KubeConfigError extends Error {
  readonly code = 'KUBECONFIG';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'KubeConfigError';
  }
}

/**
 * The kubeconfig `file` names, or client-node's default ($KUBECONFIG, ~/.kube/config, the pod's
 * service account). A problem is a KubeConfigError naming the file, never a stack trace.
 */
export function loadKubeConfig(file?: string): KubeConfig {
  const kc = new KubeConfig();
  const where = file ?? 'the default kubeconfig ($KUBECONFIG, ~/.kube/config or in-cluster)';
  try {
    if (file) kc.loadFromFile(file);
    else kc.loadFromDefault();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'does not exist'
        : code === 'EACCES'
          ? 'cannot be read (permission denied)'
          : code === 'EISDIR'
            ? 'is a directory'
            : `is not a kubeconfig (${(err as Error).message.split('\n')[0] ?? ''})`;
    throw new KubeConfigError(`kubeconfig ${where} ${reason}`, { cause: err });
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster?.server) {
    throw new KubeConfigError(
      `kubeconfig ${where} names no cluster server for its current context "${kc.getCurrentContext()}"`,
    );
  }
  return kc;
}

const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/**
 * The Kubernetes calls the reconcilers make, and nothing more: KubeApi serves them from the API
 * server; the state-machine tests serve them from memory with the same optimistic concurrency.
 */
export interface ResourceApi {
  get(plural: Plural, namespace: string, name: string): Promise<unknown>;
  list(plural: Plural, namespace?: string): Promise<{ items: unknown[] }>;
  create(plural: Plural, namespace: string, body: object): Promise<unknown>;
  delete(plural: Plural, namespace: string, name: string): Promise<void>;
  /** Conditional on `obj.metadata.resourceVersion` (409 when stale); updates it afterwards. */
  writeStatus(
    plural: Plural,
    obj: {
      metadata: {
        namespace?: string | undefined;
        name?: string | undefined;
        resourceVersion?: string | undefined;
      };
    },
    status: object,
  ): Promise<void>;
  patchMetadata(
    plural: Plural,
    namespace: string,
    name: string,
    metadata: object,
  ): Promise<unknown>;
  readSecretKey(namespace: string, name: string, key: string): Promise<string | null>;
  readConfigMap(namespace: string, name: string): Promise<Record<string, string> | null>;
  event(ref: ObjectRef, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void>;
}

/**
 * The few API calls the operator makes, behind one small class so reconcilers can be read
 * without client-node's generated signatures in the way.
 */
export class KubeApi implements ResourceApi {
  readonly custom: CustomObjectsApi;
  readonly core: CoreV1Api;
  readonly coordination: CoordinationV1Api;

  constructor(
    readonly config: KubeConfig,
    readonly fieldManager = 'dbmigrate-operator',
  ) {
    this.custom = config.makeApiClient(CustomObjectsApi);
    this.core = config.makeApiClient(CoreV1Api);
    this.coordination = config.makeApiClient(CoordinationV1Api);
  }

  async get(plural: Plural, namespace: string, name: string): Promise<unknown> {
    try {
      return (await this.custom.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural,
        name,
      })) as unknown;
    } catch (err) {
      if (httpStatus(err) === 404) return null;
      throw err;
    }
  }

  async list(
    plural: Plural,
    namespace?: string,
  ): Promise<{ items: unknown[]; metadata?: { resourceVersion?: string } }> {
    const res = (
      namespace
        ? await this.custom.listNamespacedCustomObject({
            group: GROUP,
            version: VERSION,
            namespace,
            plural,
          })
        : await this.custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural })
    ) as {
      items: unknown[];
      metadata?: { resourceVersion?: string };
    };
    return res;
  }

  async create(plural: Plural, namespace: string, body: object): Promise<unknown> {
    return (await this.custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural,
      body,
      fieldManager: this.fieldManager,
    })) as unknown;
  }

  /** Deletes a custom resource; a resource already gone is no error. */
  async delete(plural: Plural, namespace: string, name: string): Promise<void> {
    try {
      await this.custom.deleteNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural,
        name,
      });
    } catch (err) {
      if (httpStatus(err) !== 404) throw err;
    }
  }

  /**
   * Merge-patches the status subresource. With `resourceVersion` the patch is conditional:
   * a 409 means someone else wrote first and the caller must re-read.
   */
  async patchStatus(
    plural: Plural,
    namespace: string,
    name: string,
    status: object,
    resourceVersion?: string,
  ): Promise<unknown> {
    const body = {
      ...(resourceVersion !== undefined && { metadata: { resourceVersion } }),
      status,
    };
    return (await this.custom.patchNamespacedCustomObjectStatus(
      {
        group: GROUP,
        version: VERSION,
        namespace,
        plural,
        name,
        body,
        fieldManager: this.fieldManager,
      },
      MERGE_PATCH,
    )) as unknown;
  }

  /**
   * Conditional status write for `obj` as last read; afterwards `obj` carries the new
   * resourceVersion, so a second write in the same reconcile pass is conditional on the first.
   */
  async writeStatus(
    plural: Plural,
    obj: {
      metadata: {
        namespace?: string | undefined;
        name?: string | undefined;
        resourceVersion?: string | undefined;
      };
    },
    status: object,
  ): Promise<void> {
    const updated = (await this.patchStatus(
      plural,
      obj.metadata.namespace ?? 'default',
      obj.metadata.name ?? '',
      status,
      obj.metadata.resourceVersion,
    )) as { metadata?: { resourceVersion?: string } } | null;
    obj.metadata.resourceVersion =
      updated?.metadata?.resourceVersion ?? obj.metadata.resourceVersion;
  }

  /** Merge-patches metadata (finalizers). */
  async patchMetadata(
    plural: Plural,
    namespace: string,
    name: string,
    metadata: object,
  ): Promise<unknown> {
    return (await this.custom.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        namespace,
        plural,
        name,
        body: { metadata },
        fieldManager: this.fieldManager,
      },
      MERGE_PATCH,
    )) as unknown;
  }

  async readSecretKey(namespace: string, name: string, key: string): Promise<string | null> {
    try {
      const secret = await this.core.readNamespacedSecret({ namespace, name });
      const value = secret.data?.[key] ?? null;
      return value === null ? null : Buffer.from(value, 'base64').toString('utf8');
    } catch (err) {
      if (httpStatus(err) === 404) return null;
      throw err;
    }
  }

  /** The ConfigMaps of one namespace or of all (the operator's ConfigMap informer lists, then watches). */
  async listConfigMaps(namespace?: string): Promise<KubernetesListObject<KubernetesObject>> {
    return namespace === undefined
      ? await this.core.listConfigMapForAllNamespaces()
      : await this.core.listNamespacedConfigMap({ namespace });
  }

  async readConfigMap(namespace: string, name: string): Promise<Record<string, string> | null> {
    try {
      const cm = await this.core.readNamespacedConfigMap({ namespace, name });
      return cm.data ?? {};
    } catch (err) {
      if (httpStatus(err) === 404) return null;
      throw err;
    }
  }

  /**
   * A core/v1 Event about `ref` (`kubectl describe` shows them). The same type, reason and
   * message about the same object aggregate into one Event whose count grows, as client-go's
   * recorder does, so a retried failure never floods the namespace.
   */
  async event(
    ref: ObjectRef,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<void> {
    const now = new Date();
    const text = message.slice(0, 1024);
    const digest = createHash('sha256')
      .update(`${ref.kind}\0${ref.uid ?? ref.name}\0${type}\0${reason}\0${text}`)
      .digest('hex')
      .slice(0, 16);
    // A DNS subdomain: a cut name must not end in '-' or '.' before the digest.
    const name = `${ref.name.slice(0, 200).replace(/[-.]+$/, '')}.${digest}`;
    try {
      await this.core.createNamespacedEvent({
        namespace: ref.namespace,
        body: {
          metadata: { name, namespace: ref.namespace },
          involvedObject: {
            apiVersion: `${GROUP}/${VERSION}`,
            kind: ref.kind,
            name: ref.name,
            namespace: ref.namespace,
            ...(ref.uid !== undefined && { uid: ref.uid }),
          },
          type,
          reason,
          message: text,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
          source: { component: this.fieldManager },
          reportingComponent: this.fieldManager,
        },
      });
    } catch (err) {
      if (httpStatus(err) !== 409) throw err;
      const existing = await this.core.readNamespacedEvent({ name, namespace: ref.namespace });
      await this.core.patchNamespacedEvent(
        {
          name,
          namespace: ref.namespace,
          body: {
            metadata: { resourceVersion: existing.metadata.resourceVersion },
            count: (existing.count ?? 1) + 1,
            lastTimestamp: now,
          },
        },
        MERGE_PATCH,
      );
    }
  }

  async readLease(namespace: string, name: string): Promise<V1Lease | null> {
    try {
      return await this.coordination.readNamespacedLease({ namespace, name });
    } catch (err) {
      if (httpStatus(err) === 404) return null;
      throw err;
    }
  }

  async createLease(namespace: string, body: V1Lease): Promise<V1Lease> {
    return this.coordination.createNamespacedLease({ namespace, body });
  }

  /** Replace with the lease's resourceVersion: fails with 409 when another replica won. */
  async replaceLease(namespace: string, name: string, body: V1Lease): Promise<V1Lease> {
    return this.coordination.replaceNamespacedLease({ namespace, name, body });
  }
}
