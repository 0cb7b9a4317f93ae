import { pino, type Logger, type LoggerOptions } from 'pino';
import { redactSecrets } from './redact.js';

export type { Logger } from 'pino';

function redactDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactSecrets(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return serializeError(value);
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = /password|secret|token/i.test(k) ? '***' : redactDeep(v, depth + 1);
  }
  return out;
}

/** Errors as JSON with their stable code, credentials removed from message and stack. */
export function serializeError(err: Error): Record<string, unknown> {
  const code = (err as { code?: unknown }).code;
  return {
    type: err.name,
    ...(typeof code === 'string' ? { code } : {}),
    message: redactSecrets(err.message),
    ...(err.stack ? { stack: redactSecrets(err.stack) } : {}),
  };
}

export interface CreateLoggerOptions {
  readonly component: string;
  readonly level?: string;
  /** Where JSON lines go; defaults to stderr so command output on stdout stays clean. */
  readonly destination?: NodeJS.WritableStream | number;
}

/**
 * pino JSON logger with credential redaction on every field. Child loggers add `run_id`.
 */
/** The levels `--log-level` and DBMIGRATE_LOG_LEVEL take. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** A log level that is not one of LOG_LEVELS: bad input (exit 2), not a crash. */
export class LogLevelError extends Error {
  readonly code = 'USAGE';

  constructor(level: string) {
    super(`log level "${level}" is not one of ${LOG_LEVELS.join(', ')}`);
    this.name = 'LogLevelError';
  }
}

let defaultDestination: (() => NodeJS.WritableStream) | null = null;

/**
 * Where loggers created without a destination write: the CLI sets human lines on a terminal
 * (src/cli/terminal.ts); otherwise JSON lines to stderr. The library never sets it.
 */
export function setDefaultLogDestination(factory: (() => NodeJS.WritableStream) | null): void {
  defaultDestination = factory;
}

export function createLogger(options: CreateLoggerOptions): Logger {
  const level = options.level ?? process.env['DBMIGRATE_LOG_LEVEL'] ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new LogLevelError(level);
  const config: LoggerOptions = {
    level,
    base: { component: options.component },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: {
      level: (label) => ({ level: label }),
      log: (object) => redactDeep(object) as Record<string, unknown>,
    },
    serializers: { err: serializeError },
    hooks: {
      logMethod(args, method) {
        const redacted = args.map((a) => (typeof a === 'string' ? redactSecrets(a) : a));
        method.apply(this, redacted as Parameters<typeof method>);
      },
    },
  };
  const dest = options.destination ?? defaultDestination?.() ?? 2;
  return pino(config, typeof dest === 'number' ? pino.destination({ dest, sync: true }) : dest);
}

/** A logger that writes nothing, for library callers that pass none. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
