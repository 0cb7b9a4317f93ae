import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cliMarkdown } from '../../src/cli/cli-docs.js';
import { acceptedFlags, formatDuration, parseCommandArgs } from '../../src/cli/command-spec.js';
import type { CommandIo } from '../../src/cli/context.js';
import { LOADERS, main, nearestCommand } from '../../src/cli/main.js';
import { COMMAND_SPECS } from '../../src/cli/specs/index.js';
import { statusSpec } from '../../src/cli/specs/status.js';
import { snapshotSpec } from '../../src/cli/specs/snapshot.js';

async function cli(...argv: string[]): Promise<{ code: number; out: string }> {
  return cliWith({}, ...argv);
}

async function cliWith(
  env: Record<string, string>,
  ...argv: string[]
): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const io: CommandIo = { stdout: (t) => out.push(t), env };
  const code = await main(argv, io);
  return { code, out: out.join('\n') };
}

describe('dbmigrate <command> --help', () => {
  it('has a spec for every command it can run, and a command for every spec', () => {
    expect(COMMAND_SPECS.map((s) => s.name).sort()).toEqual(Object.keys(LOADERS).sort());
  });

  for (const spec of COMMAND_SPECS) {
    it(`${spec.name}: lists every flag it accepts, with its value and default`, async () => {
      for (const argv of [
        [spec.name, '--help'],
        [spec.name, '-h'],
      ]) {
        const { code, out } = await cli(...argv);
        expect(code).toBe(0);
        expect(out.split('\n')[0]).toBe(`dbmigrate ${spec.name}: ${spec.summary}`);
        for (const [name, flag] of acceptedFlags(spec)) {
          const line = out
            .split('\n')
            .find((l) => l.startsWith('  -') && new RegExp(`--${name}( |$)`).test(l));
          expect(line, `--${name} in ${spec.name} --help`).toBeDefined();
          if (flag.value !== undefined) expect(line).toContain(`--${name} ${flag.value}`);
          if (flag.defaultText !== undefined) {
            // The default may wrap onto the next lines; compare without the wrapping.
            expect(out.replace(/\s+/g, ' ')).toContain(`default: ${flag.defaultText}`);
          }
        }
      }
    });
  }

  it('documents the flags that were documented nowhere, with their defaults', async () => {
    const expectations: [string, string, RegExp][] = [
      ['dry-run', 'scratch-url', /--scratch-url URL .*env DBMIGRATE_SCRATCH_URL/],
      ['dry-run', 'threshold', /--threshold DURATION .*default: 20ms/],
      ['dry-run', 'keep', /--keep .*keep the restored staging database/],
      ['backfill', 'key', /--key COLUMN .*default: id/],
      ['snapshot', 'allow-unverified', /--allow-unverified .*never verified/],
      ['snapshot', 'checksums', /--checksums MODE .*else full\)/],
      ['operator', 'workers', /--workers N .*default: 2\)/],
      ['operator', 'identity', /--identity ID .*env POD_NAME/],
      ['operator', 'lease-name', /--lease-name NAME .*default: dbmigrate-operator/],
      ['operator', 'lease-duration', /--lease-duration DURATION .*default: 15s/],
      ['operator', 'retry-period', /--retry-period DURATION .*default: 2s/],
    ];
    for (const [command, flag, pattern] of expectations) {
      const { out } = await cli(command, '--help');
      expect(out.replace(/\n\s+/g, ' '), `${command} --${flag}`).toMatch(pattern);
    }
  });

  it('wraps long descriptions under their flag instead of past 100 columns', async () => {
    for (const spec of COMMAND_SPECS) {
      const { out } = await cli(spec.name, '--help');
      const flagLines = out.split('\n').filter((l) => l.startsWith('  '));
      for (const l of flagLines.filter((x) => !x.startsWith('  dbmigrate ')))
        expect(l.length, `${spec.name}: ${l}`).toBeLessThanOrEqual(100);
    }
  });
});

describe('flags a command does not read', () => {
  it('names a shared flag that does not apply, and points to --help', () => {
    expect(() => parseCommandArgs(snapshotSpec, ['list', '--lock-wait', '5s'])).toThrow(
      'dbmigrate snapshot: --lock-wait does not apply to snapshot (see dbmigrate snapshot --help)',
    );
  });

  it('names an unknown flag', () => {
    expect(() => parseCommandArgs(statusSpec, ['--staging-url', 'x'])).toThrow(
      /^dbmigrate status: Unknown option '--staging-url' \(see dbmigrate status --help\)$/,
    );
  });

  it('suggests the flag a typo meant', () => {
    expect(() => parseCommandArgs(statusSpec, ['--lok-timeout', '5s'])).toThrow(
      "dbmigrate status: Unknown option '--lok-timeout'; did you mean --lock-timeout? (see dbmigrate status --help)",
    );
  });

  it('refuses --safe flags on a plain apply, before connecting', async () => {
    const { code } = await cli('apply', '--now', '--database-url', 'postgres://nowhere.invalid/x');
    expect(code).toBe(2);
  });
});

describe('duration flags', () => {
  it('refuses, before connecting, a duration PostgreSQL would refuse or that is not one', async () => {
    const env = { DATABASE_URL: 'postgres://app@127.0.0.1:1/nowhere' };
    for (const value of ['99999999h', '25d', '5 fortnights', '0.1ms']) {
      const res = await cliWith(env, 'status', '--lock-timeout', value, '--json');
      expect(res.code, value).toBe(2);
      expect(res.out).toMatch(/"code":"USAGE"/);
      expect(res.out).toMatch(
        /--lock-timeout: .* (is longer than PostgreSQL allows|is not a duration|rounds to 0 ms, which means no timeout)/,
      );
    }
  });
});

describe('--log-level', () => {
  it('refuses a level that does not exist with exit 2, not a crash', async () => {
    const env = { DATABASE_URL: 'postgres://app@127.0.0.1:1/nowhere' };
    const res = await cliWith(env, 'status', '--log-level', 'bogus', '--json');
    expect(res.code).toBe(2);
    expect(res.out).toContain(
      'log level \\"bogus\\" is not one of trace, debug, info, warn, error',
    );
  });
});

describe('docs/cli.md', () => {
  it('is generated from the command specs (run `npm run gen:cli-docs`)', () => {
    expect(readFileSync('docs/cli.md', 'utf8'), 'docs/cli.md is stale').toBe(cliMarkdown());
  });
});

describe('help helpers', () => {
  it('writes durations the way the flags accept them', () => {
    expect([60_000, 5_000, 1_000, 1_500, 900_000, 3_600_000].map(formatDuration)).toEqual([
      '60s',
      '5s',
      '1s',
      '1500ms',
      '15m',
      '1h',
    ]);
  });

  it('prints the usage as an error when given no command, and a JSON error for an unknown one under --json', async () => {
    const none = await cli();
    expect(none.code).toBe(2);
    expect(none.out).toBe('');
    const unknown = await cli('stauts', '--json');
    expect(unknown.code).toBe(2);
    expect(JSON.parse(unknown.out)).toEqual({
      error: {
        code: 'USAGE',
        exitCode: 2,
        message: 'unknown command "stauts"; did you mean "status"?',
      },
    });
  });

  it('suggests the nearest command for a typo', () => {
    expect(nearestCommand('stauts')).toBe('status');
    expect(nearestCommand('xyzzy')).toBeNull();
  });
});
