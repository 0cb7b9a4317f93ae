import { createLogger } from '../../observability/logger.js';
import { readManifest } from '../../safety/snapshot/snapshot.js';
import { snapshotStorage } from '../snapshot-storage.js';
import { postVerify, type PostVerifyReport } from '../../safety/verify/post-verify.js';
import { parseCommandArgs } from '../command-spec.js';
import type { CommandIo } from '../context.js';
import { verifySpec } from '../specs/verify.js';
import { ExitCode } from '../exit-codes.js';
import { databaseUrl, settingsFrom } from '../migrator-factory.js';
import { projectConfig } from '../project-config.js';

export function verifyText(report: PostVerifyReport): string {
  const lines = report.checks.flatMap((c) => [
    `${c.status.toUpperCase().padEnd(8)}${c.check}`,
    ...c.findings.map((f) => `        - ${f}`),
  ]);
  for (const s of report.smoke) {
    lines.push(`        smoke ${s.name}: ${s.executionMs.toFixed(1)} ms (limit ${s.maxMs} ms)`);
  }
  lines.push('', report.ok ? 'post-verify passed' : 'post-verify FAILED');
  return lines.join('\n');
}

export async function verifyCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseCommandArgs(verifySpec, args);
  const config = await projectConfig(values, io);
  // Storage is opened only to read the manifest a --snapshot names.
  let manifest;
  if (values.snapshot !== undefined) {
    const storage = await snapshotStorage(values.storage, io, config.snapshots.storage);
    try {
      manifest = await readManifest(storage, values.snapshot);
    } finally {
      storage.close();
    }
  }
  const level = values['log-level'] ?? io.env['DBMIGRATE_LOG_LEVEL'];
  const report = await postVerify({
    databaseUrl: databaseUrl(values, io),
    config: config.postVerify,
    historySchema: settingsFrom(values, io, config).historySchema,
    logger: createLogger({ component: 'cli.verify', ...(level !== undefined && { level }) }),
    ...(manifest !== undefined && { manifest }),
    ...(values.tables !== undefined && { touchedTables: values.tables.split(',').filter(Boolean) }),
  });
  io.stdout(values.json ? JSON.stringify(report, null, 2) : verifyText(report));
  return report.ok ? ExitCode.ok : ExitCode.validation;
}
