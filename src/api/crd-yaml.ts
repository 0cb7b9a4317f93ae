import { stringify } from 'yaml';

export const GENERATED_HEADER =
  '# Generated from src/api (zod schemas) by `npm run gen:crds`. Do not edit.\n';

/**
 * YAML 1.1 quoting: Kubernetes reads manifests as YAML 1.1, where a bare `off`, `on`, `yes` or
 * `n` is a boolean, so the enum of spec.lint.rules (`off`, `warning`, `error`) must be quoted.
 */
export function renderCrdYaml(crd: unknown): string {
  return (
    GENERATED_HEADER +
    stringify(crd, { lineWidth: 0, aliasDuplicateObjects: false, version: '1.1' })
  );
}
