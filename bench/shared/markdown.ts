// Markdown for docs/benchmarks.md: tables padded the way Prettier pads them (so
// `prettier --check` stays clean after a run), and one benchmark's marked section replaced in
// place, leaving the others' sections alone.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) =>
    Math.max(3, h.length, ...rows.map((r) => (r[i] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    `| ${widths.map((w, i) => (cells[i] ?? '').padEnd(w)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const HEADER = `# Benchmarks

Figures measured on one machine, each next to what a user would pick instead, in the same run.
Every section is written by the benchmark named in it, between its \`<!-- bench:NAME:start -->\`
and \`<!-- bench:NAME:end -->\` markers, and says the command that produced it; rerun that
command to refresh it.
`;

/** The text between `<!-- bench:NAME:start/end -->` in `path`, or null when absent. */
export function readSection(path: string, name: string): string | null {
  if (!existsSync(path)) return null;
  const current = readFileSync(path, 'utf8');
  const start = `<!-- bench:${name}:start -->`;
  const from = current.indexOf(start);
  const to = current.indexOf(`<!-- bench:${name}:end -->`);
  return from >= 0 && to > from ? current.slice(from + start.length, to) : null;
}

/** Replaces (or appends) the section between `<!-- bench:NAME:start/end -->` in `path`. */
export function writeSection(path: string, name: string, body: string): void {
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  const section = `${start}\n\n${body.trim()}\n\n${end}`;
  // Read just before writing: another benchmark may have rewritten its own section meanwhile.
  const current = existsSync(path) ? readFileSync(path, 'utf8') : HEADER;
  const from = current.indexOf(start);
  const to = current.indexOf(end);
  const next =
    from >= 0 && to > from
      ? `${current.slice(0, from)}${section}${current.slice(to + end.length)}`
      : `${current.trimEnd()}\n\n${section}\n`;
  writeFileSync(path, next);
}
