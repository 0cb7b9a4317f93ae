import { stringify } from 'yaml';

export const GENERATED_HEADER =
  '# Generated from src/api (zod schemas) by `npm run gen:crds`. Do not edit.\n';

export function renderCrdYaml(crd: unknown): string {
  return GENERATED_HEADER + stringify(crd, { lineWidth: 0, aliasDuplicateObjects: false });
}
