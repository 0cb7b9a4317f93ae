import { setTimeout as sleep } from 'node:timers/promises';
import type { HealthConfig } from '../../api/health-config.js';
import { openClient } from '../../db/connection.js';
import { evaluateHealth } from '../../db/health-findings.js';
import { checkHealth } from '../../db/health.js';
import { parseDurationMs } from '../../engine/duration.js';
import { createLogger, type Logger } from '../../observability/logger.js';
import { redactSecrets } from '../../observability/redact.js';
import { parseListenAddress } from '../../operator/probes.js';
import { parseCommandArgs } from '../command-spec.js';
import type { CommandIo } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { HealthExporter } from '../health-exporter.js';
import type { HealthOutcome } from '../health-metrics.js';
import { healthExitCode, healthJson, healthText } from '../health-output.js';
import { databaseUrl } from '../migrator-factory.js';
import { projectConfig } from '../project-config.js';
import { DEFAULT_WATCH_INTERVAL, healthSpec } from '../specs/health.js';
import { UsageError } from '../usage-error.js';

/** `dbmigrate health [--json] [--watch [INTERVAL]] [--serve [HOST:]PORT]` */
export async function healthCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(healthSpec, args);
  const interval = positionals[0];
  if (interval !== undefined && values.watch !== true)
    throw new UsageError(
      `dbmigrate health: unexpected argument ${interval} (an interval follows --watch)`,
    );
  const watchMs = values.watch === true ? watchInterval(interval ?? DEFAULT_WATCH_INTERVAL) : null;
  const listen = values.serve === undefined ? null : listenAddress(values.serve);
  if (listen !== null && (watchMs !== null || values.json === true))
    throw new UsageError(
      `--serve runs an exporter: it does not combine with ${watchMs !== null ? '--watch' : '--json'}`,
    );
  const url = databaseUrl(values, io);
  const config = (await projectConfig(values, io)).health;
  const level = values['log-level'] ?? io.env['DBMIGRATE_LOG_LEVEL'];
  const logger = createLogger({ component: 'cli.health', ...(level !== undefined && { level }) });

  if (listen !== null) return serve(url, config, listen, io, logger);
  if (watchMs === null) {
    // A single check: an unreachable database is an error like in every command (exit 6).
    const outcome = await check(url, config);
    return print(outcome, values.json === true, io, false);
  }
  return watch(url, config, watchMs, values.json === true, io);
}

/** Connects, measures, judges, disconnects: one check, a session of its own each time. */
async function check(url: string, config: HealthConfig): Promise<HealthOutcome> {
  const client = await openClient(url, 'dbmigrate:health', {
    connectTimeoutMs: Math.max(config.queryTimeoutMs, 5000),
  });
  try {
    const report = await checkHealth(client, {
      queryTimeoutMs: config.queryTimeoutMs,
      topN: config.topN,
    });
    return { kind: 'checked', report, evaluation: evaluateHealth(report, config) };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Like check(), but a database that cannot be reached is an outcome, not an error. */
async function checkOrUnreachable(url: string, config: HealthConfig): Promise<HealthOutcome> {
  try {
    return await check(url, config);
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'CONNECTION_ERROR') throw err;
    return { kind: 'unreachable', message: redactSecrets((err as Error).message) };
  }
}

function print(outcome: HealthOutcome, json: boolean, io: CommandIo, compact: boolean): number {
  if (outcome.kind === 'unreachable') {
    io.stdout(
      json
        ? JSON.stringify({
            status: 'unreachable',
            exitCode: ExitCode.connection,
            error: { code: 'CONNECTION_ERROR', message: outcome.message },
          })
        : `UNREACHABLE: ${outcome.message}`,
    );
    return ExitCode.connection;
  }
  const { report, evaluation } = outcome;
  io.stdout(
    json
      ? JSON.stringify(healthJson(report, evaluation), null, compact ? undefined : 2)
      : healthText(report, evaluation),
  );
  return healthExitCode(evaluation.status);
}

/** Until Ctrl-C; returns the exit code of the last check. */
async function watch(
  url: string,
  config: HealthConfig,
  intervalMs: number,
  json: boolean,
  io: CommandIo,
): Promise<number> {
  const stop = stopSignal();
  // Clearing the screen only makes sense on a terminal; a pipe or a file gets every check.
  const clear = !json && process.stdout.isTTY;
  let code: number = ExitCode.ok;
  try {
    while (!stop.signal.aborted) {
      const outcome = await checkOrUnreachable(url, config);
      if (clear) process.stdout.write('\x1b[2J\x1b[H');
      code = print(outcome, json, io, true);
      if (!json) io.stdout(`\n(every ${String(intervalMs / 1000)}s; Ctrl-C stops)`);
      await sleep(intervalMs, undefined, { signal: stop.signal }).catch(() => undefined);
    }
  } finally {
    stop.dispose();
  }
  return code;
}

async function serve(
  url: string,
  config: HealthConfig,
  listen: { host: string; port: number },
  io: CommandIo,
  logger: Logger,
): Promise<number> {
  const exporter = new HealthExporter(async () => {
    const outcome = await checkOrUnreachable(url, config);
    if (outcome.kind === 'unreachable') logger.warn({ reason: outcome.message }, 'health check');
    return outcome;
  }, logger);
  const stop = stopSignal();
  try {
    const port = await exporter.listen(listen.host, listen.port);
    const shown = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
    io.stdout(
      `dbmigrate health: serving /metrics and /healthz on http://${shown}:${String(port)} (Ctrl-C stops)`,
    );
    logger.info({ host: listen.host, port }, 'health exporter listening');
    await new Promise<void>((resolve) => {
      stop.signal.addEventListener(
        'abort',
        () => {
          resolve();
        },
        { once: true },
      );
    });
  } finally {
    stop.dispose();
    await exporter.close();
  }
  return ExitCode.ok;
}

/** Aborts on SIGINT or SIGTERM (Ctrl-C, a pod's termination). */
function stopSignal(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSignal = (): void => {
    controller.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

function watchInterval(text: string): number {
  const ms = parseDurationMs(text);
  if (ms === null) throw new UsageError(`--watch: "${text}" is not a duration (e.g. 5s, 1m)`);
  if (ms < 1000) throw new UsageError(`--watch: "${text}" is shorter than 1s`);
  return ms;
}

function listenAddress(text: string): { host: string; port: number } {
  const parsed = parseListenAddress(text);
  if (parsed === null || parsed === 'off')
    throw new UsageError(`--serve: "${text}" is not PORT, :PORT or HOST:PORT (e.g. :9187)`);
  return parsed;
}
