import { describe, expect, it } from 'vitest';
import {
  coveredPartialIndexes,
  coveringPartialIndex,
  parsePartialPredicate,
  partialIndexId,
} from '../../src/db/partial-indexes.js';

describe('parsePartialPredicate', () => {
  it('reads one equality on a filter column as pg_get_expr prints it', () => {
    expect(parsePartialPredicate("(source_name = 'source-0000'::text)")).toEqual({
      column: 'source_name',
      value: 'source-0000',
    });
    expect(parsePartialPredicate("(doc_type = 'ticket'::text)")).toEqual({
      column: 'doc_type',
      value: 'ticket',
    });
    expect(parsePartialPredicate("('ticket'::text = doc_type)")).toEqual({
      column: 'doc_type',
      value: 'ticket',
    });
  });

  it('unescapes quotes and keeps parentheses and operators inside the value', () => {
    expect(parsePartialPredicate("(source_name = 'o''brien (a = b) and x'::text)")).toEqual({
      column: 'source_name',
      value: "o'brien (a = b) and x",
    });
  });

  it('ignores every other predicate', () => {
    for (const predicate of [
      "((doc_type = 'a'::text) AND (source_name = 'b'::text))",
      "(title = 'x'::text)",
      "(doc_type <> 'ticket'::text)",
      "(doc_type = ANY (ARRAY['a'::text, 'b'::text]))",
      "(created_at >= '2026-01-01 00:00:00+00'::timestamp with time zone)",
      "(doc_type = E'a\\\\b'::text)",
      "(doc_type = 'a'::text) OR (doc_type = 'b'::text)",
      '',
    ])
      expect(parsePartialPredicate(predicate), predicate).toBeNull();
  });
});

describe('coveredPartialIndexes', () => {
  const idx = (relation: string, value: string) => ({
    relation,
    predicate: `(source_name = '${value}'::text)`,
  });

  it('covers a value indexed on every partition', () => {
    const covered = coveredPartialIndexes(
      ['documents_legacy', 'documents_p202701'],
      [
        idx('documents_legacy', 's1'),
        idx('documents_p202701', 's1'),
        idx('documents_p202701', 's2'),
      ],
    );
    expect([...covered]).toEqual([partialIndexId({ column: 'source_name', value: 's1' })]);
  });

  it('covers nothing for a value a partition lacks, or when there is no table', () => {
    expect(coveredPartialIndexes(['a', 'b'], [idx('a', 's1')]).size).toBe(0);
    expect(coveredPartialIndexes([], [idx('a', 's1')]).size).toBe(0);
  });

  it('ignores indexes on other tables and predicates it cannot read', () => {
    expect(
      coveredPartialIndexes(
        ['documents'],
        [idx('other', 's1'), { relation: 'documents', predicate: '(title IS NULL)' }],
      ).size,
    ).toBe(0);
  });
});

describe('coveringPartialIndex', () => {
  const covered = new Set([
    partialIndexId({ column: 'source_name', value: 's1' }),
    partialIndexId({ column: 'doc_type', value: 'ticket' }),
  ]);

  it('serves the source first, then the type, and nothing without an equality', () => {
    expect(coveringPartialIndex(covered, { docType: 'ticket', sourceName: 's1' })).toEqual({
      column: 'source_name',
      value: 's1',
    });
    expect(coveringPartialIndex(covered, { docType: 'ticket', sourceName: 's2' })).toEqual({
      column: 'doc_type',
      value: 'ticket',
    });
    expect(coveringPartialIndex(covered, { docType: 'spec' })).toBeNull();
    expect(coveringPartialIndex(covered, {})).toBeNull();
  });

  it('never mixes a source value up with a type of the same name', () => {
    expect(coveringPartialIndex(covered, { docType: 's1' })).toBeNull();
  });
});
