import { describe, expect, it } from 'vitest';
import { drawsProgress, type TerminalFacts } from '../../src/cli/terminal.js';

const person: TerminalFacts = {
  json: false,
  stdoutIsTerminal: true,
  stderrIsTerminal: true,
  columns: 100,
  env: { TERM: 'xterm-256color' },
};

describe('when a progress line is drawn', () => {
  it('draws on a person’s terminal', () => {
    expect(drawsProgress(person)).toBe(true);
  });

  it.each<[string, Partial<TerminalFacts>]>([
    ['--json', { json: true }],
    ['stdout piped', { stdoutIsTerminal: false }],
    ['stderr piped', { stderrIsTerminal: false }],
    ['CI set, even empty', { env: { CI: '' } }],
    ['CI=true', { env: { CI: 'true', TERM: 'xterm' } }],
    ['TERM=dumb', { env: { TERM: 'dumb' } }],
    ['a terminal that reports no width', { columns: undefined }],
    ['a terminal that reports zero columns', { columns: 0 }],
    ['19 columns', { columns: 19 }],
  ])('does not draw for %s', (_why, change) => {
    expect(drawsProgress({ ...person, ...change })).toBe(false);
  });

  it('draws at 20 columns', () => {
    expect(drawsProgress({ ...person, columns: 20 })).toBe(true);
  });
});
