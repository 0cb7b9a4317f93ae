import { describe, expect, it } from 'vitest';
import { chooseSimilarityPlan, scanLimitOf } from '../../src/db/similarity-plan.js';

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

  it('walks a partial index of the filter’s value from a lower size, sized to its own rows', () => {
    // 28 % of the table, all of it in the value's partial index: a walk as if unfiltered.
    const options = { partialIndexMinRows: 5_000 };
    const c = chooseSimilarityPlan(
      { ...base, counted: 5_001, estimatedRows: 28_000, partialIndexRows: 28_000 },
      options,
    );
    expect(c).toMatchObject({ plan: 'partial-hnsw', efSearch: 40, maxScanTuples: 20_000 });
    // Below the partial index's bound the rows are scanned, as without one.
    expect(
      chooseSimilarityPlan({ ...base, counted: 5_000, partialIndexRows: 28_000 }, options).plan,
    ).toBe('quantized-scan');
    // By default a partial index never takes a filter the scan would rank exactly.
    expect(chooseSimilarityPlan({ ...base, counted: 28_000, partialIndexRows: 28_000 }).plan).toBe(
      'quantized-scan',
    );
    // The rest of the filter keeps 5 % of the value's rows: ef_search grows for that share.
    const narrow = chooseSimilarityPlan(
      {
        ...base,
        counted: 5_001,
        estimatedRows: 50_000,
        partialIndexRows: 1_000_000,
        totalRows: 10_000_000,
      },
      options,
    );
    expect(narrow.plan).toBe('partial-hnsw');
    expect(narrow.efSearch).toBe(200);
  });

  it('scans up to the exact threshold, or the partial index’s lower bound when one serves', () => {
    expect(scanLimitOf({}, false)).toBe(50_000);
    expect(scanLimitOf({}, true)).toBe(50_000);
    expect(scanLimitOf({ partialIndexMinRows: 5_000 }, true)).toBe(5_000);
    expect(scanLimitOf({ partialIndexMinRows: 20_000, exactThreshold: 10_000 }, true)).toBe(10_000);
    expect(scanLimitOf({ partialIndexMinRows: 0 }, true)).toBe(0);
  });
});
