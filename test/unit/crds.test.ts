import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CRD_DIRS, customResourceDefinitions } from '../../src/api/crd.js';
import { renderCrdYaml } from '../../src/api/crd-yaml.js';

type Node = Record<string, unknown>;

function walk(node: unknown, path: string, visit: (n: Node, path: string) => void): void {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return;
  const n = node as Node;
  visit(n, path);
  const props = n['properties'];
  if (props && typeof props === 'object') {
    for (const [k, v] of Object.entries(props)) walk(v, `${path}.${k}`, visit);
  }
  walk(n['items'], `${path}[]`, visit);
  if (n['additionalProperties'] && typeof n['additionalProperties'] === 'object')
    walk(n['additionalProperties'], `${path}{}`, visit);
}

describe('generated CRDs', () => {
  const crds = customResourceDefinitions();

  it("crds/*.yaml and the chart's copies are up to date with the zod schemas (run `npm run gen:crds`)", () => {
    for (const dir of CRD_DIRS) {
      for (const [file, crd] of Object.entries(crds)) {
        expect(
          readFileSync(`${dir}/${file}`, 'utf8'),
          `${dir}/${file} is stale: run npm run gen:crds`,
        ).toBe(renderCrdYaml(crd));
      }
    }
  });

  it('are structural: every node typed, no unions, no additionalProperties: false', () => {
    for (const [file, crd] of Object.entries(crds)) {
      const doc = parse(renderCrdYaml(crd)) as {
        spec: { versions: { schema: { openAPIV3Schema: unknown } }[] };
      };
      const root = doc.spec.versions[0]?.schema.openAPIV3Schema;
      walk(root, file, (n, path) => {
        expect(n['type'], `${path} has no type`).toBeTypeOf('string');
        expect(n['anyOf'], path).toBeUndefined();
        expect(n['oneOf'], path).toBeUndefined();
        expect(n['additionalProperties'], path).not.toBe(false);
        expect(n['$schema'], path).toBeUndefined();
        for (const bound of ['exclusiveMinimum', 'exclusiveMaximum']) {
          if (n[bound] !== undefined)
            expect(n[bound], `${path}.${bound} must be a boolean in OpenAPI v3.0`).toBeTypeOf(
              'boolean',
            );
        }
      });
    }
  });

  it('names, short names, category, status subresource and printer columns match the brief', () => {
    const dbm = crds['dbops.docserver.io_databasemigrations.yaml'] as unknown as {
      spec: {
        names: Node;
        versions: {
          subresources: Node;
          additionalPrinterColumns: { name: string }[];
          schema: {
            openAPIV3Schema: { properties: { spec: { properties: { migrations: Node } } } };
          };
        }[];
      };
    };
    expect(dbm.spec.names).toMatchObject({
      plural: 'databasemigrations',
      shortNames: ['dbm', 'dbmigration'],
      categories: ['dbops'],
    });
    const v = dbm.spec.versions[0];
    expect(v?.subresources).toEqual({ status: {} });
    expect(v?.additionalPrinterColumns.map((c) => c.name)).toEqual([
      'Phase',
      'Applied',
      'Pending',
      'Snapshot',
      'Ready',
      'Reason',
      'Age',
      'Message',
    ]);
    expect(
      v?.schema.openAPIV3Schema.properties.spec.properties.migrations['x-kubernetes-validations'],
    ).toEqual([
      {
        rule: 'has(self.configMapRef) != has(self.inline)',
        message: 'set exactly one of configMapRef or inline',
      },
    ]);
    const snap = crds['dbops.docserver.io_backupsnapshots.yaml'] as unknown as {
      spec: { names: Node; versions: { additionalPrinterColumns: { name: string }[] }[] };
    };
    expect(snap.spec.names).toMatchObject({
      plural: 'backupsnapshots',
      shortNames: ['dbsnap'],
      categories: ['dbops'],
    });
    expect(snap.spec.versions[0]?.additionalPrinterColumns.map((c) => c.name)).toEqual([
      'Phase',
      'Size',
      'Verified',
      'Ready',
      'Reason',
      'Age',
      'Message',
    ]);
  });
});

describe('DatabaseMigration spec validation', () => {
  const base = {
    database: { secretRef: { name: 'db' } },
    migrations: { inline: [{ name: '0001_a.sql', sql: '-- migrate:up\nselect 1;' }] },
  };

  it('refuses an empty history schema, naming the field', async () => {
    const { DatabaseMigrationSpecSchema } =
      await import('../../src/api/v1alpha1/database-migration.js');
    const res = DatabaseMigrationSpecSchema.safeParse({ ...base, historySchema: '' });
    expect(res.success).toBe(false);
    expect(res.error?.issues[0]?.path).toEqual(['historySchema']);
  });

  it('defaults to the safe pipeline, and the empty-string schema is refused by the CRD too', async () => {
    const { DatabaseMigrationSpecSchema } =
      await import('../../src/api/v1alpha1/database-migration.js');
    expect(DatabaseMigrationSpecSchema.parse(base).safety).toBe('Safe');
    const { readFileSync } = await import('node:fs');
    const crd = readFileSync('crds/dbops.docserver.io_databasemigrations.yaml', 'utf8');
    expect(crd).toMatch(/historySchema:\n(\s+)default: dbmigrate\n(\s+\S.*\n)*?\s+minLength: 1/);
  });

  it('describes every field, so kubectl explain answers for each one', () => {
    for (const [file, crd] of Object.entries(customResourceDefinitions())) {
      const doc = parse(renderCrdYaml(crd)) as {
        spec: { versions: { schema: { openAPIV3Schema: unknown } }[] };
      };
      const undescribed: string[] = [];
      const visitProps = (node: unknown, path: string): void => {
        if (node === null || typeof node !== 'object') return;
        const n = node as Node;
        const props = n['properties'];
        if (props && typeof props === 'object') {
          for (const [k, v] of Object.entries(props as Record<string, Node>)) {
            // metadata may carry nothing but its type: kubectl explain documents ObjectMeta.
            const isMeta = path === file && k === 'metadata';
            if (!isMeta && (typeof v['description'] !== 'string' || v['description'] === ''))
              undescribed.push(`${path}.${k}`);
            visitProps(v, `${path}.${k}`);
          }
        }
        visitProps(n['items'], `${path}[]`);
      };
      visitProps(doc.spec.versions[0]?.schema.openAPIV3Schema, file);
      expect(undescribed).toEqual([]);
    }
  });
});
