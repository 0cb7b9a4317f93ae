import { randomUUID } from 'node:crypto';
import { ApiException } from '@kubernetes/client-node';
import type { ObjectRef, Plural, ResourceApi } from '../../src/operator/kube.js';

interface StoredObject {
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    generation: number;
    resourceVersion: string;
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
    finalizers?: string[];
    deletionTimestamp?: string;
  };
  spec?: unknown;
  status?: Record<string, unknown>;
  [k: string]: unknown;
}

export interface RecordedEvent {
  readonly name: string;
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
}

/** RFC 7386 JSON merge patch: objects merge, null removes, anything else replaces. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    target !== null && typeof target === 'object' && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) Reflect.deleteProperty(out, k);
    else if (v !== undefined) out[k] = mergePatch(out[k], v);
  }
  return out;
}

const clone = <T>(v: T): T => structuredClone(v);

function conflict(what: string): ApiException<unknown> {
  return new ApiException(409, `Conflict: ${what}`, { reason: 'Conflict' }, {});
}

/**
 * The reconcilers' ResourceApi served from memory, with the API server's rules that matter to
 * them: uids and generations, resourceVersion conflicts on conditional writes, merge-patch
 * status, finalizers holding a deletion. For state-machine tests; e2e tests use the real one.
 */
export class MemoryResourceApi implements ResourceApi {
  private readonly objects = new Map<string, StoredObject>();
  private readonly secrets = new Map<string, Record<string, string>>();
  private readonly configMaps = new Map<string, Record<string, string>>();
  private version = 0;
  readonly events: RecordedEvent[] = [];

  private key(plural: Plural, namespace: string, name: string): string {
    return `${plural}/${namespace}/${name}`;
  }

  private bump(obj: StoredObject): void {
    obj.metadata.resourceVersion = String(++this.version);
  }

  setSecret(namespace: string, name: string, data: Record<string, string>): void {
    this.secrets.set(`${namespace}/${name}`, data);
  }

  setConfigMap(namespace: string, name: string, data: Record<string, string>): void {
    this.configMaps.set(`${namespace}/${name}`, data);
  }

  /** kubectl apply of a spec change: a new generation when the spec differs. */
  apply(
    plural: Plural,
    body: { metadata: { name: string; namespace?: string }; spec: unknown },
  ): void {
    const ns = body.metadata.namespace ?? 'default';
    const existing = this.objects.get(this.key(plural, ns, body.metadata.name));
    if (!existing) {
      const kind = plural === 'databasemigrations' ? 'DatabaseMigration' : 'BackupSnapshot';
      void this.create(plural, ns, { apiVersion: 'dbops.docserver.io/v1alpha1', kind, ...body });
      return;
    }
    if (JSON.stringify(existing.spec) !== JSON.stringify(body.spec)) {
      existing.spec = clone(body.spec);
      existing.metadata.generation++;
    }
    this.bump(existing);
  }

  annotate(plural: Plural, namespace: string, name: string, key: string, value: string): void {
    const obj = this.objects.get(this.key(plural, namespace, name));
    if (!obj) throw new Error(`no ${plural} ${namespace}/${name}`);
    obj.metadata.annotations = { ...obj.metadata.annotations, [key]: value };
    this.bump(obj);
  }

  get(plural: Plural, namespace: string, name: string): Promise<unknown> {
    const obj = this.objects.get(this.key(plural, namespace, name));
    return Promise.resolve(obj ? clone(obj) : null);
  }

  list(plural: Plural, namespace?: string): Promise<{ items: unknown[] }> {
    const items = [...this.objects.entries()]
      .filter(([k]) => k.startsWith(`${plural}/${namespace === undefined ? '' : `${namespace}/`}`))
      .map(([, v]) => clone(v));
    return Promise.resolve({ items });
  }

  create(plural: Plural, namespace: string, body: object): Promise<unknown> {
    const b = clone(body) as StoredObject;
    const key = this.key(plural, namespace, b.metadata.name);
    if (this.objects.has(key)) return Promise.reject(conflict(`${key} already exists`));
    b.metadata = {
      ...b.metadata,
      namespace,
      uid: randomUUID(),
      generation: 1,
      resourceVersion: '',
    };
    this.bump(b);
    this.objects.set(key, b);
    return Promise.resolve(clone(b));
  }

  delete(plural: Plural, namespace: string, name: string): Promise<void> {
    const key = this.key(plural, namespace, name);
    const obj = this.objects.get(key);
    if (!obj) return Promise.resolve();
    if ((obj.metadata.finalizers ?? []).length > 0) {
      obj.metadata.deletionTimestamp ??= new Date().toISOString();
      this.bump(obj);
    } else this.objects.delete(key);
    return Promise.resolve();
  }

  writeStatus(
    plural: Plural,
    obj: { metadata: { namespace?: string; name?: string; resourceVersion?: string } },
    status: object,
  ): Promise<void> {
    const stored = this.objects.get(
      this.key(plural, obj.metadata.namespace ?? 'default', obj.metadata.name ?? ''),
    );
    if (!stored) return Promise.reject(new ApiException(404, 'Not Found', {}, {}));
    if (
      obj.metadata.resourceVersion !== undefined &&
      obj.metadata.resourceVersion !== stored.metadata.resourceVersion
    ) {
      return Promise.reject(conflict('the object has been modified'));
    }
    stored.status = mergePatch(stored.status ?? {}, clone(status)) as Record<string, unknown>;
    this.bump(stored);
    obj.metadata.resourceVersion = stored.metadata.resourceVersion;
    return Promise.resolve();
  }

  patchMetadata(
    plural: Plural,
    namespace: string,
    name: string,
    metadata: object,
  ): Promise<unknown> {
    const key = this.key(plural, namespace, name);
    const stored = this.objects.get(key);
    if (!stored) return Promise.reject(new ApiException(404, 'Not Found', {}, {}));
    const m = metadata as { resourceVersion?: string; finalizers?: string[] };
    if (m.resourceVersion !== undefined && m.resourceVersion !== stored.metadata.resourceVersion)
      return Promise.reject(conflict('the object has been modified'));
    if (m.finalizers !== undefined) stored.metadata.finalizers = [...m.finalizers];
    this.bump(stored);
    if (stored.metadata.deletionTimestamp && (stored.metadata.finalizers ?? []).length === 0)
      this.objects.delete(key);
    return Promise.resolve(clone(stored));
  }

  readSecretKey(namespace: string, name: string, key: string): Promise<string | null> {
    return Promise.resolve(this.secrets.get(`${namespace}/${name}`)?.[key] ?? null);
  }

  readConfigMap(namespace: string, name: string): Promise<Record<string, string> | null> {
    const data = this.configMaps.get(`${namespace}/${name}`);
    return Promise.resolve(data ? { ...data } : null);
  }

  event(
    ref: ObjectRef,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<void> {
    this.events.push({ name: ref.name, type, reason, message });
    return Promise.resolve();
  }
}
