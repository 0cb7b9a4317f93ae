import { describe, it, expect } from 'vitest';
import { REDACTED, describeDatabaseUrl, redactSecrets } from '../../src/observability/redact.js';

describe('redactSecrets', () => {
  it('removes the password from a postgres:// URL and keeps user, host and database', () => {
    const out = redactSecrets('cannot connect to postgres://app:s3cr3t@db.internal:5432/orders');
    expect(out).toBe('cannot connect to postgres://app:***@db.internal:5432/orders');
    expect(out).not.toContain('s3cr3t');
  });

  it('redacts postgresql:// URLs and other schemes, in any case', () => {
    expect(redactSecrets('POSTGRESQL://u:pw1@h/db')).toBe('POSTGRESQL://u:***@h/db');
    expect(redactSecrets('redis://default:pw2@cache:6379')).toBe('redis://default:***@cache:6379');
  });

  it('redacts percent-encoded and symbol-laden passwords', () => {
    const out = redactSecrets('postgres://app:p%40ss%3Aw0rd!#$@h/db');
    expect(out).toBe('postgres://app:***@h/db');
  });

  it('redacts a password with an empty user name', () => {
    expect(redactSecrets('postgres://:topsecret@h/db')).toBe('postgres://:***@h/db');
  });

  it('redacts every URL in the text', () => {
    const out = redactSecrets('from postgres://a:one@h1/db to postgres://b:two@h2/db');
    expect(out).toBe('from postgres://a:***@h1/db to postgres://b:***@h2/db');
  });

  it('leaves URLs without a password alone', () => {
    const text =
      'postgres://app@db:5432/orders and postgres://db/orders and https://example.com:8443/x';
    expect(redactSecrets(text)).toBe(text);
  });

  it('redacts password= in libpq keyword strings and keeps the other keywords', () => {
    const out = redactSecrets('host=db user=app password=hunter2 dbname=orders');
    expect(out).toBe('host=db user=app password=*** dbname=orders');
  });

  it('redacts quoted password values, spaces included', () => {
    expect(redactSecrets("host=db password='two words' user=app")).toBe(
      'host=db password=*** user=app',
    );
    expect(redactSecrets('password="two words" user=app')).toBe('password=*** user=app');
  });

  it('redacts pwd, passwd and sslpassword, with spaces around = and in any case', () => {
    expect(redactSecrets('pwd=a1 passwd=b2 sslpassword=c3')).toBe(
      'pwd=*** passwd=*** sslpassword=***',
    );
    expect(redactSecrets('Password = hunter2')).toBe('Password = ***');
  });

  it('redacts password: values as written in YAML or log text', () => {
    expect(redactSecrets('password: hunter2')).toBe('password: ***');
  });

  it('redacts a password in a URL query string and keeps the other parameters', () => {
    const out = redactSecrets(
      'postgres://app@h/db?sslmode=require&password=hunter2&application_name=x',
    );
    expect(out).toBe('postgres://app@h/db?sslmode=require&password=***&application_name=x');
  });

  it('redacts URL and keyword passwords in the same text', () => {
    const out = redactSecrets('postgres://u:aaa@h/db?password=bbb');
    expect(out).not.toContain('aaa');
    expect(out).not.toContain('bbb');
  });

  it('leaves text without secrets unchanged', () => {
    const text = 'migration 0003 failed (SQLSTATE 42P01): relation "users" does not exist';
    expect(redactSecrets(text)).toBe(text);
  });

  it('uses *** as the mark', () => {
    expect(REDACTED).toBe('***');
  });
});

describe('describeDatabaseUrl', () => {
  it('shows user@host:port/db and never the password', () => {
    const out = describeDatabaseUrl('postgres://app:s3cr3t@db.internal:5432/orders');
    expect(out).toBe('app@db.internal:5432/orders');
    expect(out).not.toContain('s3cr3t');
  });

  it('drops query parameters, passwords in them included', () => {
    const out = describeDatabaseUrl('postgres://app@db/orders?sslmode=require&password=hunter2');
    expect(out).toBe('app@db/orders');
  });

  it('decodes a percent-encoded user name', () => {
    expect(describeDatabaseUrl('postgres://app%40corp:x@db/orders')).toBe('app@corp@db/orders');
  });

  it('leaves out the user and port when the URL has none', () => {
    expect(describeDatabaseUrl('postgres://db.internal/orders')).toBe('db.internal/orders');
  });

  it('says localhost when the URL has no host (a Unix socket)', () => {
    expect(describeDatabaseUrl('postgres:///orders')).toBe('localhost/orders');
  });

  it('falls back to the redacted text when it is not a URL', () => {
    const out = describeDatabaseUrl('host=db user=app password=hunter2');
    expect(out).toBe('host=db user=app password=***');
  });
});
