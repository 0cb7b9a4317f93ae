// Every shell script the project ships or runs (hack/, .ci/run) passes ShellCheck, fetched from
// Debian by hack/shellcheck.sh; hack/kind-e2e.sh, which needs Docker, is checked here too.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cachedTool } from '../../tools/cached-tool.js';

const scripts = [
  ...readdirSync('hack')
    .filter((f) => f.endsWith('.sh'))
    .map((f) => join('hack', f)),
  '.ci/run',
];

describe('shell scripts', () => {
  it('include the kind end-to-end script and pass ShellCheck with no finding', () => {
    expect(scripts).toContain('hack/kind-e2e.sh');
    const shellcheck = cachedTool('DBM_SHELLCHECK', 'hack/shellcheck.sh', 'shellcheck');
    const res = spawnSync(shellcheck, ['--format=gcc', ...scripts], { encoding: 'utf8' });
    expect(res.stdout + res.stderr).toBe('');
    expect(res.status).toBe(0);
  });
});
