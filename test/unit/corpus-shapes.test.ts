import { describe, expect, it } from 'vitest';
import { generateDocuments, modelOf } from '../../bench/docserver/documents.js';
import { BURSTY, DIFFUSE, shapesNamed, UnknownShapeError } from '../../bench/docserver/shapes.js';

const END = new Date('2026-11-01T00:00:00Z').getTime();
const DAY = 86_400_000;

describe('corpus shapes of the doc-server benchmarks', () => {
  it('generates each shape with its own distributions', () => {
    const bursty = [...generateDocuments(2000, { shape: BURSTY })];
    const recent = bursty.filter((d) => END - d.createdAt.getTime() <= 90 * DAY).length;
    expect(recent / bursty.length).toBeGreaterThan(0.45);
    expect(recent / bursty.length).toBeLessThan(0.6);
    expect(new Set(bursty.map((d) => d.docType))).toEqual(
      new Set(BURSTY.docTypes.map((t) => t.name)),
    );

    const diffuse = [...generateDocuments(3000, { shape: DIFFUSE })];
    const top = diffuse.filter((d) => d.sourceName === 'source-0000').length / diffuse.length;
    expect(top).toBeGreaterThan(0.12);
    expect(top).toBeLessThan(0.2);
    const oldest = Math.max(...diffuse.map((d) => END - d.createdAt.getTime()));
    expect(oldest).toBeGreaterThan(900 * DAY);
    expect(diffuse[0]?.embedding.length).toBe(3072);
    expect(modelOf(DIFFUSE).latentDimensions).toBe(48);
  });

  it('names the known shapes when asked for an unknown one', () => {
    expect(shapesNamed('all').map((s) => s.name)).toEqual(['manifold', 'diffuse', 'bursty']);
    expect(() => shapesNamed('manifold,flat')).toThrow(UnknownShapeError);
    expect(() => shapesNamed('flat')).toThrow(
      /unknown corpus shape "flat" \(known: manifold, diffuse, bursty, all\)/,
    );
  });
});
