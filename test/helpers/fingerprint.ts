import pg from 'pg';
import { expect } from 'vitest';
import { readFingerprint } from '../../src/safety/snapshot/fingerprint.js';
import {
  compareFingerprints,
  type DatabaseFingerprint,
} from '../../src/safety/snapshot/manifest.js';

/** Asserts that the database at `url` holds what `expected` describes (counts, checksums, schema). */
export async function expectFingerprintMatches(
  url: string,
  expected: DatabaseFingerprint,
): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const fingerprint = await readFingerprint(client, { checksums: 'full' });
    expect(compareFingerprints(expected, fingerprint)).toEqual([]);
  } finally {
    await client.end();
  }
}
