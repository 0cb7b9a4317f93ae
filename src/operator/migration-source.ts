import type { DatabaseMigrationSpec } from '../api/v1alpha1/database-migration.js';
import { InlineMigrationSource, type MigrationSource } from '../engine/source.js';
import type { KubeApi } from './kube.js';

/** What the resource points at is missing or unusable: the user must fix the resource. */
export class ResourceProblem extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'ResourceProblem';
  }
}

export async function databaseUrlFor(
  api: KubeApi,
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
  if (!/^postgres(ql)?:\/\//.test(url.trim())) {
    throw new ResourceProblem(
      'SecretInvalid',
      `${field}: key ${ref.key} of Secret ${namespace}/${ref.name} is not a postgres:// URL`,
    );
  }
  return url.trim();
}

/** The migrations a resource names: a ConfigMap's `NNNN_name.sql` keys, or inline SQL. */
export async function migrationSourceFor(
  api: KubeApi,
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
  const files = Object.entries(data).filter(([k]) => k.endsWith('.sql'));
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
