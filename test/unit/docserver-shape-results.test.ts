import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  mergeShapeResults,
  parseShapeBlocks,
  shapeBlock,
  worstOverShapes,
  type ShapeResult,
} from '../../bench/docserver/shape-results.js';

const fmt = (ms: number): string => ms.toFixed(1);

function result(name: string, total: number, p95: number, over: Partial<ShapeResult> = {}) {
  return {
    name,
    total,
    run: '2026-12-02T10:00:00Z',
    command: '`node dist/bench/docserver/run.js --rows 1000000 --shapes x`',
    facts: '2 CPUs, PostgreSQL 15',
    verdicts: [
      ['similarity top-10: unfiltered', { p95, recall: 0.99, ok: p95 <= 10 }],
      ['similarity top-10: matches no row', { p95: 0.9, recall: 1, ok: true }],
      ['get by id: random ids', { p95: 0.5, ok: true }],
    ],
    body: `### Shape \`${name}\`\n\nbody of ${name}, with -- dashes`,
    ...over,
  } satisfies ShapeResult;
}

describe('docserver shape results kept across runs', () => {
  it('reads back what it wrote, even with "--" in the command', () => {
    const a = result('manifold', 1_000_000, 18.2);
    const b = result('bursty', 1_000_000, 7);
    const section = `\n## Doc-server read paths\n\nheader\n\n${shapeBlock(a)}\n${shapeBlock(b)}\n`;
    for (const comment of section.match(/<!--.*?-->/g) ?? [])
      expect(comment.slice(4, -3)).not.toContain('--');
    expect(parseShapeBlocks(section)).toEqual([a, b]);
  });

  it('keeps an earlier shape this run did not measure, of the same size only', () => {
    const earlier = [
      result('manifold', 1_000_000, 18.2),
      result('diffuse', 100_000, 6),
      result('bursty', 1_000_000, 30),
    ];
    const merged = mergeShapeResults(
      earlier,
      [result('bursty', 1_000_000, 12)],
      ['manifold', 'diffuse', 'bursty'],
    );
    expect(merged.map((r) => [r.name, r.verdicts[0]?.[1].p95])).toEqual([
      ['manifold', 18.2],
      ['bursty', 12],
    ]);
  });

  it('drops a block whose comment does not parse instead of failing the run', () => {
    const good = result('diffuse', 1000, 5);
    const section = `<!-- shape manifold {"total":1000,"run":1} -->\n\nold\n${shapeBlock(good)}`;
    expect(parseShapeBlocks(section).map((r) => r.name)).toEqual(['diffuse']);
  });

  it('judges every class by its worst shape', () => {
    const worst = worstOverShapes(
      [result('manifold', 1000, 18.2), result('bursty', 1000, 7)],
      'similarity top-10: matches no row',
      0.97,
      fmt,
    );
    expect(worst.rows[0]).toEqual([
      'similarity top-10: unfiltered',
      '18.2 (0.990) ✗',
      '7.0 (0.990)',
    ]);
    expect(worst).toMatchObject({
      classCount: 3,
      metEverywhere: 2,
      recallKinds: 2,
      recallMet: 2,
      emptyWorst: 0.9,
      perShape: ['manifold 2/3', 'bursty 3/3'],
    });
  });

  it('finds every shape block in docs/benchmarks.md', () => {
    const doc = readFileSync(new URL('../../docs/benchmarks.md', import.meta.url), 'utf8');
    const section = (name: string): string =>
      doc.slice(
        doc.indexOf(`<!-- bench:${name}:start -->`),
        doc.indexOf(`<!-- bench:${name}:end -->`),
      );
    const at100k = parseShapeBlocks(section('docserver'));
    const at1m = parseShapeBlocks(section('docserver-1m'));
    expect(at100k.map((r) => r.name)).toEqual(['manifold', 'diffuse', 'bursty']);
    expect(new Set(at100k.map((r) => r.total))).toEqual(new Set([100_000]));
    expect(at1m.length).toBeGreaterThan(0);
    for (const r of [...at100k, ...at1m]) {
      expect(r.body).toMatch(new RegExp(`^### Shape \`${r.name}\``));
      expect(r.verdicts.length).toBeGreaterThan(10);
    }
  });
});
