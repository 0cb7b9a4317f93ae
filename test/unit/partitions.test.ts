import { describe, expect, it } from 'vitest';
import { wholePartitionsBefore } from '../../src/db/archive.js';
import { parseRangeBound, type PartitionInfo } from '../../src/db/partitions.js';

const part = (name: string, from: string | null, to: string | null): PartitionInfo => ({
  name,
  from,
  to,
  estimatedRows: 0,
  detachPending: false,
});

describe('parseRangeBound', () => {
  it('reads the bounds PostgreSQL prints, MINVALUE and MAXVALUE as null', () => {
    expect(
      parseRangeBound("FOR VALUES FROM ('2027-01-01 00:00:00+00') TO ('2027-02-01 00:00:00+00')"),
    ).toEqual({ from: '2027-01-01 00:00:00+00', to: '2027-02-01 00:00:00+00' });
    expect(parseRangeBound("FOR VALUES FROM (MINVALUE) TO ('2027-01-01 00:00:00+00')")).toEqual({
      from: null,
      to: '2027-01-01 00:00:00+00',
    });
    expect(parseRangeBound('DEFAULT')).toEqual({ from: null, to: null });
  });
});

describe('wholePartitionsBefore', () => {
  const parts = [
    part('documents_legacy', null, '2027-01-01 00:00:00+00'),
    part('documents_p202701', '2027-01-01 00:00:00+00', '2027-02-01 00:00:00+00'),
    part('documents_p202702', '2027-02-01 00:00:00+00', '2027-03-01 00:00:00+00'),
  ];

  it('takes the monthly partitions that end at or before the cutoff, never the legacy one', () => {
    expect(
      wholePartitionsBefore(parts, new Date('2027-02-01T00:00:00Z')).map((p) => p.name),
    ).toEqual(['documents_p202701']);
    expect(
      wholePartitionsBefore(parts, new Date('2027-02-15T00:00:00Z')).map((p) => p.name),
    ).toEqual(['documents_p202701']);
    expect(
      wholePartitionsBefore(parts, new Date('2030-01-01T00:00:00Z')).map((p) => p.name),
    ).toEqual(['documents_p202701', 'documents_p202702']);
    expect(wholePartitionsBefore(parts, new Date('2026-06-01T00:00:00Z'))).toEqual([]);
  });
});
