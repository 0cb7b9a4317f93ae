import { describe, expect, it } from 'vitest';
import { chooseSimilarityPlan } from '../../src/db/similarity-plan.js';

const base = { k: 10, totalRows: 100_000, estimatedRows: null, quantizedIndex: true };

describe('chooseSimilarityPlan', () => {
  it('scans the quantised rows of a filter up to the threshold', () => {
    const c = chooseSimilarityPlan({ ...base, counted: 50_000 });
    expect(c).toMatchObject({ plan: 'quantized-scan', rerank: 60, selectivity: 0.5 });
  });

  it('scans a filter of 28 % rather than walk the graph, where a walk far from the query lost recall', () => {
    expect(chooseSimilarityPlan({ ...base, counted: 28_000 }).plan).toBe('quantized-scan');
  });

  it('walks the HNSW index once the count passes the threshold, sizing ef_search to the estimate', () => {
    const c = chooseSimilarityPlan({ ...base, counted: 50_001, estimatedRows: 80_000 });
    expect(c.plan).toBe('hnsw');
    expect(c.selectivity).toBeCloseTo(0.8);
    expect(c.efSearch).toBe(40);
    expect(c.maxScanTuples).toBe(20_000);
  });

  it('raises ef_search and the scan bound for selective filters on large tables, within limits', () => {
    const c = chooseSimilarityPlan(
      { ...base, totalRows: 100_000_000, counted: 50_001, estimatedRows: 50_001 },
      {},
    );
    expect(c.efSearch).toBe(1000);
    expect(c.maxScanTuples).toBe(200_000);
  });

  it('never trusts an estimate below the rows it counted', () => {
    const c = chooseSimilarityPlan({ ...base, counted: 50_001, estimatedRows: 10 });
    expect(c.selectivity).toBeCloseTo(0.50001);
  });

  it('uses exact search on the full vector when the quantised index is missing', () => {
    expect(chooseSimilarityPlan({ ...base, counted: 50_000, quantizedIndex: false }).plan).toBe(
      'exact',
    );
  });

  it('honours the options: threshold, re-rank depth (never below k) and ef_search floor', () => {
    expect(chooseSimilarityPlan({ ...base, counted: 0 }, { exactThreshold: 0 }).plan).toBe(
      'quantized-scan',
    );
    expect(chooseSimilarityPlan({ ...base, counted: 1 }, { exactThreshold: 0 }).plan).toBe('hnsw');
    expect(chooseSimilarityPlan({ ...base, k: 50, counted: 5 }, { rerank: 20 }).rerank).toBe(50);
    expect(chooseSimilarityPlan({ ...base, k: 200, counted: 5 }).rerank).toBe(1000);
    expect(chooseSimilarityPlan({ ...base, k: 20, counted: 5 }).rerank).toBe(120);
    expect(
      chooseSimilarityPlan({ ...base, counted: 90_000 }, { exactThreshold: 100, efSearch: 300 })
        .efSearch,
    ).toBe(300);
  });
});
