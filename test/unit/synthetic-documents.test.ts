import { describe, expect, it } from 'vitest';
import { EmbeddingModel, seededRandom, vectorLiteral } from '../../bench/docserver/embeddings.js';
import { DOC_TYPES, generateDocuments } from '../../bench/docserver/documents.js';

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] ?? 0) * (b[i] ?? 0);
  return s;
}

describe('synthetic documents for ANN benchmarks', () => {
  const docs = [...generateDocuments(600, { model: new EmbeddingModel({ dimensions: 3072 }) })];

  it('produces deterministic unit-length 3072-d embeddings', () => {
    const again = [...generateDocuments(3)];
    expect(again[0]?.embedding).toEqual(docs[0]?.embedding);
    for (const d of docs.slice(0, 20)) {
      expect(d.embedding.length).toBe(3072);
      expect(Math.sqrt(dot(d.embedding, d.embedding))).toBeCloseTo(1, 5);
    }
  });

  it('has structure: same-topic neighbours are much closer than random pairs, and distances do not tie', () => {
    const model = new EmbeddingModel();
    const random = seededRandom(1);
    const a = model.embed(model.latent(5, random), random);
    const b = model.embed(model.latent(5, random), random);
    const c = model.embed(model.latent(40, random), random);
    expect(dot(a, b)).toBeGreaterThan(dot(a, c) + 0.2);
    // Similarities to one query spread out instead of collapsing to one value.
    const sims = docs
      .slice(1, 200)
      .map((d) => dot(docs[0]?.embedding ?? new Float32Array(), d.embedding));
    const mean = sims.reduce((x, y) => x + y, 0) / sims.length;
    const sd = Math.sqrt(sims.reduce((x, y) => x + (y - mean) ** 2, 0) / sims.length);
    expect(sd).toBeGreaterThan(0.05);
  });

  it('has low intrinsic dimension: a few principal directions explain most of the variance', () => {
    // Power iteration on the Gram matrix of 200 centred embeddings: the top 16 eigenvalues
    // (the latent dimension) should hold most of the total variance.
    const sample = docs.slice(0, 200).map((d) => d.embedding);
    const n = sample.length;
    const mean = new Float64Array(3072);
    for (const v of sample)
      for (let i = 0; i < 3072; i++) mean[i] = (mean[i] ?? 0) + (v[i] ?? 0) / n;
    const centred = sample.map((v) => Float64Array.from(v, (x, i) => x - (mean[i] ?? 0)));
    const gram = centred.map((a) =>
      centred.map((b) => a.reduce((s, x, i) => s + x * (b[i] ?? 0), 0)),
    );
    const total = gram.reduce((s, row, i) => s + (row[i] ?? 0), 0);
    let explained = 0;
    const deflated = gram.map((r) => [...r]);
    for (let k = 0; k < 16; k++) {
      let v = Array.from({ length: n }, (_, i) => Math.sin(i + k + 1));
      let lambda = 0;
      for (let it = 0; it < 60; it++) {
        const w = deflated.map((row) => row.reduce((s, x, j) => s + x * (v[j] ?? 0), 0));
        const norm = Math.sqrt(w.reduce((s, x) => s + x * x, 0));
        v = w.map((x) => x / norm);
        lambda = norm;
      }
      explained += lambda;
      for (const [i, row] of deflated.entries()) {
        for (let j = 0; j < n; j++) row[j] = (row[j] ?? 0) - lambda * (v[i] ?? 0) * (v[j] ?? 0);
      }
    }
    expect(explained / total).toBeGreaterThan(0.6);
  });

  it('skews doc_type and source_name, and spreads created_at over two years', () => {
    const byType = new Map<string, number>();
    const bySource = new Map<string, number>();
    for (const d of docs) {
      byType.set(d.docType, (byType.get(d.docType) ?? 0) + 1);
      bySource.set(d.sourceName, (bySource.get(d.sourceName) ?? 0) + 1);
    }
    expect((byType.get('article') ?? 0) / docs.length).toBeGreaterThan(0.4);
    expect(byType.has(DOC_TYPES[0]?.name ?? '')).toBe(true);
    const counts = [...bySource.values()].sort((a, b) => b - a);
    expect(counts[0] ?? 0).toBeGreaterThan(10 * (counts[counts.length - 1] ?? 1));
    const times = docs.map((d) => d.createdAt.getTime());
    expect((Math.max(...times) - Math.min(...times)) / 86_400_000).toBeGreaterThan(600);
  });

  it('writes vectors in pgvector text form', () => {
    expect(vectorLiteral(Float32Array.from([0.5, -0.25, 1 / 3]))).toBe(
      '[0.5000000,-0.2500000,0.3333333]',
    );
  });
});
