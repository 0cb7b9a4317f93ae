// The Argo CD health checks, run the way Argo CD's own test suite runs its
// resource_customizations (health_test.yaml beside health.lua), by a real Lua 5.1.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { BackupSnapshotSchema } from '../../src/api/v1alpha1/backup-snapshot.js';
import { DatabaseMigrationSchema } from '../../src/api/v1alpha1/database-migration.js';
import { runHealthScript } from '../helpers/lua.js';

const ROOT = 'argocd/resource_customizations/dbops.docserver.io';

interface HealthTest {
  readonly healthStatus: { readonly status: string; readonly message: string };
  readonly inputPath: string;
}

for (const [kind, schema] of [
  ['DatabaseMigration', DatabaseMigrationSchema],
  ['BackupSnapshot', BackupSnapshotSchema],
] as const) {
  describe(`Argo CD health of a ${kind}`, () => {
    const dir = join(ROOT, kind);
    const script = readFileSync(join(dir, 'health.lua'), 'utf8');
    const { tests } = parse(readFileSync(join(dir, 'health_test.yaml'), 'utf8')) as {
      tests: HealthTest[];
    };

    it('has a test for each status it can report', () => {
      const statuses = new Set(tests.map((t) => t.healthStatus.status));
      expect([...statuses].sort()).toEqual(
        kind === 'DatabaseMigration'
          ? ['Degraded', 'Healthy', 'Progressing', 'Suspended']
          : ['Degraded', 'Healthy', 'Progressing'],
      );
    });

    for (const t of tests) {
      it(`${t.inputPath}: ${t.healthStatus.status}`, () => {
        const obj: unknown = parse(readFileSync(join(dir, t.inputPath), 'utf8'));
        // The test data is what the operator really writes: it passes the resource's schema.
        const valid = schema.safeParse(obj);
        expect(valid.success, valid.error?.message).toBe(true);
        expect(runHealthScript(script, obj)).toEqual(t.healthStatus);
      });
    }
  });
}

describe('argocd/argocd-cm.yaml', () => {
  it('carries exactly the health scripts of resource_customizations/', () => {
    const cm = parse(readFileSync('argocd/argocd-cm.yaml', 'utf8')) as {
      data: Record<string, string>;
    };
    for (const kind of ['DatabaseMigration', 'BackupSnapshot']) {
      expect(cm.data[`resource.customizations.health.dbops.docserver.io_${kind}`]).toBe(
        readFileSync(join(ROOT, kind, 'health.lua'), 'utf8'),
      );
    }
  });
});
