import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import {
  isUnknownPreambleSetting,
  PreambleFilter,
} from '../../src/safety/snapshot/restore-archive.js';

// The start of `pg_restore --file=-` output from pg_restore 17 for a dump of a PostgreSQL 15
// database, then a table and its data.
const SCRIPT = [
  '--',
  '-- PostgreSQL database dump',
  '--',
  '',
  '\\restrict 3bEwQ1nZ',
  '',
  '-- Dumped from database version 15.19',
  '-- Dumped by pg_dump version 17.12',
  '',
  'SET statement_timeout = 0;',
  'SET lock_timeout = 0;',
  'SET idle_in_transaction_session_timeout = 0;',
  'SET transaction_timeout = 0;',
  "SET client_encoding = 'UTF8';",
  "SELECT pg_catalog.set_config('search_path', '', false);",
  '',
  'CREATE TABLE public.notes (id bigint, body text);',
  '',
  'COPY public.notes (id, body) FROM stdin;',
  '1\tSET transaction_timeout = 0;',
  '\\.',
  '',
].join('\n');

async function filtered(script: string, major: number, chunk = 7): Promise<string> {
  const parts: Buffer[] = [];
  for (let i = 0; i < script.length; i += chunk)
    parts.push(Buffer.from(script.slice(i, i + chunk)));
  return text(Readable.from(parts).pipe(new PreambleFilter(major)));
}

describe('restoring with a pg_restore newer than the server', () => {
  it('knows which preamble settings a major lacks', () => {
    expect(isUnknownPreambleSetting('SET transaction_timeout = 0;', 15)).toBe(true);
    expect(isUnknownPreambleSetting('SET transaction_timeout = 0;', 16)).toBe(true);
    expect(isUnknownPreambleSetting('SET transaction_timeout = 0;', 17)).toBe(false);
    expect(isUnknownPreambleSetting('SET lock_timeout = 0;', 15)).toBe(false);
  });

  it('drops transaction_timeout from the preamble for a server older than 17, in chunks of any size', async () => {
    for (const chunk of [1, 7, 64, 100_000]) {
      const out = await filtered(SCRIPT, 15, chunk);
      expect(out).toBe(SCRIPT.replace('SET transaction_timeout = 0;\n', ''));
    }
  });

  it('never touches anything after the preamble, such as a row whose text looks like the setting', async () => {
    const out = await filtered(SCRIPT, 15);
    expect(out).toContain('1\tSET transaction_timeout = 0;\n');
    expect(out.split('\n').length).toBe(SCRIPT.split('\n').length - 1);
  });

  it('passes the script unchanged to a server that knows every setting', async () => {
    expect(await filtered(SCRIPT, 17)).toBe(SCRIPT);
  });
});
