// Whether a column DEFAULT forces a table rewrite. Since PostgreSQL 11 ADD COLUMN with a
// non-volatile default only stores the value in the catalog; a volatile one (a different value
// per row) rewrites the table under ACCESS EXCLUSIVE. The linter has no database, so function
// calls are judged by name: known IMMUTABLE/STABLE built-ins pass, everything else is flagged.
import type { Node } from 'libpg-query';

/** Built-ins (provolatile 'i' or 's' in pg_proc) commonly found in defaults. */
const NON_VOLATILE = new Set([
  'abs',
  'age',
  'array_fill',
  'array_length',
  'array_to_string',
  'btrim',
  'cardinality',
  'ceil',
  'ceiling',
  'concat',
  'concat_ws',
  'current_database',
  'current_schema',
  'current_setting',
  'date_part',
  'date_trunc',
  'daterange',
  'decode',
  'encode',
  'extract',
  'floor',
  'format',
  'int4range',
  'int8range',
  'interval',
  'json_build_array',
  'json_build_object',
  'jsonb_build_array',
  'jsonb_build_object',
  'jsonb_object',
  'left',
  'length',
  'lower',
  'lpad',
  'ltrim',
  'make_date',
  'make_interval',
  'make_time',
  'make_timestamp',
  'make_timestamptz',
  'md5',
  'now',
  'numrange',
  'pg_backend_pid',
  'regexp_replace',
  'repeat',
  'replace',
  'right',
  'round',
  'rpad',
  'rtrim',
  'sha256',
  'split_part',
  'statement_timestamp',
  'string_to_array',
  'substr',
  'substring',
  'timezone',
  'to_char',
  'to_date',
  'to_json',
  'to_jsonb',
  'to_number',
  'to_timestamp',
  'to_tsvector',
  'transaction_timestamp',
  'trim',
  'tsrange',
  'tstzrange',
  'upper',
  'uuid_nil',
  'version',
]);

/** Volatile built-ins (and uuid-ossp / pgcrypto favourites) seen in defaults. */
const VOLATILE = new Set([
  'clock_timestamp',
  'currval',
  'gen_random_bytes',
  'gen_random_uuid',
  'lastval',
  'nextval',
  'random',
  'random_normal',
  'setval',
  'timeofday',
  'uuid_generate_v1',
  'uuid_generate_v1mc',
  'uuid_generate_v4',
  'uuidv4',
  'uuidv7',
]);

export type Volatility =
  | { readonly kind: 'non-volatile' }
  | { readonly kind: 'volatile'; readonly fn: string }
  | { readonly kind: 'unknown'; readonly fn: string };

export function defaultVolatility(expr: Node | undefined): Volatility {
  let unknown: string | undefined;
  for (const fn of functionNames(expr)) {
    if (VOLATILE.has(fn)) return { kind: 'volatile', fn };
    if (!NON_VOLATILE.has(fn)) unknown ??= fn;
  }
  return unknown === undefined ? { kind: 'non-volatile' } : { kind: 'unknown', fn: unknown };
}

/** Names (last component, as parsed) of every function called anywhere in the expression. */
function functionNames(expr: Node | undefined): string[] {
  const out: string[] = [];
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const v of value) visit(v);
      return;
    }
    if (typeof value !== 'object' || value === null) return;
    for (const [key, child] of Object.entries(value)) {
      if (key === 'FuncCall') {
        const name = lastNameOf(child);
        if (name !== undefined) out.push(name);
      }
      visit(child);
    }
  };
  visit(expr);
  return out;
}

function lastNameOf(funcCall: unknown): string | undefined {
  if (typeof funcCall !== 'object' || funcCall === null || !('funcname' in funcCall)) return;
  const names: unknown = funcCall.funcname;
  if (!Array.isArray(names)) return undefined;
  const last: unknown = names.at(-1);
  if (typeof last !== 'object' || last === null || !('String' in last)) return undefined;
  const str: unknown = last.String;
  if (typeof str !== 'object' || str === null || !('sval' in str)) return undefined;
  return typeof str.sval === 'string' ? str.sval : undefined;
}
