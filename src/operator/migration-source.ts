import type { DatabaseMigrationSpec } from '../api/v1alpha1/database-migration.js';
import { databaseUrlProblem } from '../db/database-url.js';
import {
  InlineMigrationSource,
  looksLikeMigration,
  type MigrationSource,
} from '../engine/source.js';
import type { ResourceApi } from './kube.js';

/**
 * Reasons whose cause lies outside the resource's spec (a Secret or ConfigMap that is missing
 * or wrong): the resource fails, then retries with backoff and recovers once the object is fixed,
 * as GitOps tools expect when they apply objects in any order.
 */
export const EXTERNAL_REASONS: ReadonlySet<string> = new Set([
  'SecretMissing',
  'SecretInvalid',
  'ConfigMapMissing',
  'NoMigrations',
  // Object storage refusing or out of reach: fixed outside the resource, or by waiting.
  'StorageUnavailable',
]);

/** What the resource points at is missing or unusable: the user must fix the resource. */
export class ResourceProblem extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'ResourceProblem';
  }

  /** Whether fixing another object (not this resource's spec) clears it. */
  get external(): boolean {
    return EXTERNAL_REASONS.has(this.reason);
  }
}

/** Raised after a retryable failure was recorded, so the work queue retries with backoff. */
export class RetryLater extends Error {
  constructor(readonly reason: string) {
    super(`retrying after ${reason}`);
    this.name = 'RetryLater';
  }
}

export async function databaseUrlFor(
  api: ResourceApi,
  namespace: string,
  ref: { name: string; key: string },
  field: string,
): Promise<string> {
  const url = await api.readSecretKey(namespace, ref.name, ref.key);
  if (url === null) {
    throw new ResourceProblem(
      'SecretMissing',
      `${field}: Secret ${namespace}/${ref.name} does not exist or has no key ${ref.key}; create it with a postgres:// URL`,
    );
  }
  const problem = databaseUrlProblem(url);
  if (problem !== null) {
    // The value itself never goes into the message: it may hold a password.
    throw new ResourceProblem(
      'SecretInvalid',
      `${field}: key ${ref.key} of Secret ${namespace}/${ref.name} is not a usable postgres:// URL (${problem}); fix the Secret`,
    );
  }
  return url.trim();
}

/** The migrations a resource names: a ConfigMap's `NNNN_name.sql` keys, or inline SQL. */
export async function migrationSourceFor(
  api: ResourceApi,
  namespace: string,
  spec: DatabaseMigrationSpec,
): Promise<MigrationSource> {
  if (spec.migrations.inline) {
    return new InlineMigrationSource(
      spec.migrations.inline.map((m) => ({ file: m.name, content: m.sql })),
      'inline migrations',
    );
  }
  const name = spec.migrations.configMapRef?.name ?? '';
  const data = await api.readConfigMap(namespace, name);
  if (data === null) {
    throw new ResourceProblem(
      'ConfigMapMissing',
      `spec.migrations.configMapRef: ConfigMap ${namespace}/${name} does not exist`,
    );
  }
  const files = Object.entries(data).filter(([k]) => looksLikeMigration(k));
  if (files.length === 0) {
    throw new ResourceProblem(
      'NoMigrations',
      `spec.migrations.configMapRef: ConfigMap ${namespace}/${name} has no .sql keys`,
    );
  }
  return new InlineMigrationSource(
    files.map(([file, content]) => ({ file, content })),
    `ConfigMap ${namespace}/${name}`,
  );
}
