import { describe, expect, it } from 'vitest';
import type { MigrationStatusEntry } from '../../src/engine/plan.js';
import { dryRunGap, judgeDryRun } from '../../src/safety/pipeline/steps.js';
import {
  CLI_VOCABULARY,
  lintVerdict,
  OPERATOR_VOCABULARY,
  pinnedProgress,
  scratchChoice,
  stagingChoice,
  type StagingInput,
} from '../../src/safety/pipeline/choices.js';

const minimal: StagingInput = {
  skippedBy: null,
  stagingDatabase: false,
  snapshot: false,
  scratchServer: false,
  allowProductionServer: false,
};

describe('where the staging dry-run runs', () => {
  it('refuses a minimal spec instead of skipping the dry-run, naming every way out', () => {
    const choice = stagingChoice(minimal, OPERATOR_VOCABULARY);
    expect(choice.kind).toBe('refuse');
    const message = choice.kind === 'refuse' ? choice.message : '';
    expect(message).toContain('the staging dry-run has nowhere to run');
    for (const way of [
      'spec.staging.secretRef',
      'spec.staging.scratch.secretRef',
      'spec.staging.scratch.allowProductionServer: true',
      'spec.safety: Unsafe',
    ])
      expect(message).toContain(way);
  });

  it('never restores a copy on the production server unless the user opted in', () => {
    expect(stagingChoice({ ...minimal, snapshot: true }, OPERATOR_VOCABULARY).kind).toBe('refuse');
    expect(
      stagingChoice(
        { ...minimal, snapshot: true, allowProductionServer: true },
        OPERATOR_VOCABULARY,
      ),
    ).toEqual({ kind: 'restore-snapshot', server: 'production-server' });
    expect(
      stagingChoice({ ...minimal, snapshot: true, scratchServer: true }, OPERATOR_VOCABULARY),
    ).toEqual({ kind: 'restore-snapshot', server: 'scratch-server' });
  });

  it('restores a pgBackRest snapshot into a private server, needing no scratch server', () => {
    expect(
      stagingChoice({ ...minimal, snapshot: true, physicalSnapshot: true }, OPERATOR_VOCABULARY),
    ).toEqual({ kind: 'restore-snapshot', server: 'private-server' });
    // Skipping and a staging database still win, as for a dump.
    expect(
      stagingChoice(
        { ...minimal, snapshot: true, physicalSnapshot: true, stagingDatabase: true },
        OPERATOR_VOCABULARY,
      ),
    ).toEqual({ kind: 'staging-database' });
  });

  it('uses a given staging database, and skips only when the user said so', () => {
    expect(stagingChoice({ ...minimal, stagingDatabase: true }, CLI_VOCABULARY)).toEqual({
      kind: 'staging-database',
    });
    expect(
      stagingChoice(
        { ...minimal, skippedBy: 'spec.safety: Unsafe', stagingDatabase: true },
        OPERATOR_VOCABULARY,
      ),
    ).toEqual({ kind: 'skip', why: 'spec.safety: Unsafe' });
  });

  it('names the CLI flags when the CLI has no scratch server', () => {
    const choice = scratchChoice(
      { scratchServer: false, allowProductionServer: false },
      CLI_VOCABULARY,
      'verifying a snapshot',
    );
    expect(choice).toEqual({
      kind: 'refuse',
      message: expect.stringMatching(
        /^verifying a snapshot needs a server for a temporary copy and none is configured; set --scratch-url URL .* or --scratch-on-production/,
      ) as string,
    });
  });
});

describe('lint verdict', () => {
  const error = {
    migration: '0002',
    file: '0002_idx.sql',
    line: 3,
    ruleId: 'require-concurrent-index',
    severity: 'error',
  };
  const warning = {
    migration: '0003',
    file: '0003_r.sql',
    line: 1,
    ruleId: 'renaming-column',
    severity: 'warning',
  };

  it('stops on errors under enforce, reports them under warn, and never looks under off', () => {
    expect(lintVerdict([error, warning], 'enforce')).toMatchObject({
      ok: false,
      detail: expect.stringContaining(
        '1 lint error(s) (policy enforce): 0002_idx.sql:3 require-concurrent-index',
      ) as string,
    });
    expect(lintVerdict([error, warning], 'warn')).toMatchObject({ ok: true });
    expect(lintVerdict([error], 'off')).toEqual({ ok: true, errors: [], detail: 'lint disabled' });
    expect(lintVerdict([warning], 'enforce')).toMatchObject({ ok: true, errors: [] });
  });
});

describe('dry-run coverage', () => {
  it('is no verdict on a pending migration the staging database already had', () => {
    expect(
      dryRunGap({ migrations: [{ id: '0002' }, { id: '0003' }] }, ['0002', '0003']),
    ).toBeNull();
    expect(dryRunGap({ migrations: [] }, ['0002', '0003'])).toMatch(
      /^the dry-run did not run 0002, 0003: the staging database already records them as applied/,
    );
  });
});

describe('the dry-run verdict both drivers act on', () => {
  const ran = (
    id: string,
    status: 'applied' | 'failed',
    lint: { severity: 'error' | 'warning' }[] = [],
  ) => ({
    id,
    file: `${id}_x.sql`,
    status,
    error: status === 'failed' ? 'boom' : null,
    lint: lint.map((l) => ({
      ruleId: 'ban-drop-column',
      severity: l.severity,
      line: 2,
      message: 'm',
    })),
  });

  it('passes only when every pending migration ran, none failed and lint holds', () => {
    expect(judgeDryRun({ migrations: [ran('0002', 'applied')] }, ['0002'], 'enforce').kind).toBe(
      'passed',
    );
    expect(judgeDryRun({ migrations: [] }, ['0002'], 'enforce').kind).toBe('incomplete');
    expect(judgeDryRun({ migrations: [ran('0002', 'failed')] }, ['0002'], 'enforce')).toMatchObject(
      {
        kind: 'failed',
        detail: 'dry-run failed on staging at 0002: boom; production was not touched',
      },
    );
    const flagged = { migrations: [ran('0002', 'applied', [{ severity: 'error' }])] };
    expect(judgeDryRun(flagged, ['0002'], 'enforce').kind).toBe('lint-failed');
    expect(judgeDryRun(flagged, ['0002'], 'warn').kind).toBe('passed');
  });
});

describe('progress of a pinned set from history', () => {
  const entry = (id: string, state: MigrationStatusEntry['state']): MigrationStatusEntry => ({
    id,
    name: `m${id}`,
    file: `${id}_m.sql`,
    state,
    checksum: 'c',
    appliedChecksum: state === 'pending' ? null : 'c',
    drifted: false,
    finishedAt: null,
    durationMs: null,
    transactional: true,
  });

  it('counts what history records, whatever an earlier status said', () => {
    const entries = [
      entry('0001', 'applied'),
      entry('0002', 'applied'),
      entry('0003', 'applied'),
      entry('0004', 'partial'),
      entry('0005', 'pending'),
    ];
    const p = pinnedProgress(['0002', '0003', '0004', '0005'], entries);
    expect(p.applied.map((e) => e.id)).toEqual(['0002', '0003']);
    expect(p.pendingIds).toEqual(['0004', '0005']);
    expect(p.appliedTotal).toBe(3);
  });
});
