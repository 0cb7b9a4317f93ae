// `make demo` as a user runs it (after its prerequisites): the operator, under the chart's RBAC on
// a local control plane, takes the doc-server schema to Succeeded, and everything is stopped.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { controlPlaneBinDir } from '../../tools/control-plane.js';
import { helmBinDir } from '../../tools/helm.js';
import { adminUrl } from '../helpers/database.js';
import pg from 'pg';

describe('make demo', () => {
  it('shows a DatabaseMigration of the doc-server schema reaching Succeeded through the operator, then cleans up', async () => {
    const database = `dbm_demo_${randomBytes(4).toString('hex')}`;
    const res = spawnSync(process.execPath, ['dist/tools/demo.js'], {
      encoding: 'utf8',
      timeout: 240_000,
      env: {
        ...process.env,
        DBM_K8S_BIN: controlPlaneBinDir(),
        DBM_HELM_BIN: helmBinDir(),
        DEMO_DATABASE: database,
        DEMO_ADMIN_URL: adminUrl(),
      },
    });
    const out = res.stdout;
    expect(res.stderr, out).toBe('');
    expect(res.status, out).toBe(0);
    // 0009 holds locks on documents past the 20 ms threshold (docs/partitioning.md): the run
    // waits until the demo approves it, as a person would.
    expect(out).toContain(
      'the operator waits for a maintenance window: the dry-run says a migration blocks writes',
    );
    expect(out).toMatch(
      /approved: kubectl -n \S+ annotate dbm docs-schema dbops\.docserver\.io\/approved-generation=1/,
    );
    for (const phase of [
      'Snapshotting',
      'DryRunning',
      'AwaitingWindow',
      'Applying',
      'Verifying',
      'Succeeded',
    ])
      expect(out).toMatch(new RegExp(`Z  ${phase}\\s`));
    expect(out).toMatch(/docs-schema\s+Succeeded\s+10\s+0\s/);
    expect(out).toMatch(/backupsnapshot\.dbops\.docserver\.io\/docs-schema-\S+\s+Completed/);
    expect(out).toContain('0010       applied');
    expect(out).toContain('(0 forbidden requests)');
    expect(out).toContain('stopped the operator and the control plane, dropped the demo database');
    const client = new pg.Client({ connectionString: adminUrl() });
    await client.connect();
    const left = await client.query('select 1 from pg_database where datname = $1', [database]);
    await client.end();
    expect(left.rowCount).toBe(0);
  }, 300_000);
});
