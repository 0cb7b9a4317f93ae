// Number formats of the engine benchmark's tables.
export { table, writeSection } from '../shared/markdown.js';

export function ms(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

export function perMigration(value: number): string {
  return Number.isFinite(value) ? value.toFixed(2) : 'n/a';
}
