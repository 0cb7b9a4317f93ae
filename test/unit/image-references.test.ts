// The image the project builds is named once (package.json "dbmigrate.image", tagged with the
// package version); every manifest and the chart must point at exactly that.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
  version: string;
  dbmigrate: { image: string };
};
const IMAGE = `${pkg.dbmigrate.image}:${pkg.version}`;

describe('image references', () => {
  it('every image in k8s/ is the one the project builds, at the package version', () => {
    const found: string[] = [];
    for (const file of readdirSync('k8s').filter((f) => f.endsWith('.yaml'))) {
      const text = readFileSync(join('k8s', file), 'utf8');
      for (const m of text.matchAll(/^\s*image:\s*(\S+)/gm)) found.push(`${file}: ${m[1] ?? ''}`);
    }
    expect(found.length).toBeGreaterThan(0);
    for (const ref of found) expect(ref.split(': ')[1], ref).toBe(IMAGE);
  });

  it('the chart defaults to the same image and version', () => {
    const chart = parse(readFileSync('charts/db-migration-operator/Chart.yaml', 'utf8')) as {
      version: string;
      appVersion: string;
    };
    const values = parse(readFileSync('charts/db-migration-operator/values.yaml', 'utf8')) as {
      image: { repository: string; tag: string };
    };
    expect(chart.appVersion).toBe(pkg.version);
    expect(chart.version).toBe(pkg.version);
    expect(values.image.repository).toBe(pkg.dbmigrate.image);
    expect(values.image.tag).toBe('');
  });
});
