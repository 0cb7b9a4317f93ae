import { createRequire } from 'node:module';
import type { Logger, LoggerOptions, pino as createPino } from 'pino';
import { redactSecrets } from './redact.js';

type Pino = typeof createPino;
let loadedPino: Pino | undefined;

/**
 * pino, required when the first logger that writes something is made: loading it (with the
 * worker_threads and assert it pulls in) costs a CLI command more than `dbmigrate status`'s
 * own engine work, and most commands at the default level write no log line at all.
 */
function pinoNow(): Pino {
  loadedPino ??= (createRequire(import.meta.url)('pino') as { pino: Pino }).pino;
  return loadedPino;
}

const LEVEL_VALUES: Readonly<Record<string, number>> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Infinity,
};

/**
 * A Logger that makes its pino logger on first real use. A call below `level` is a no-op and
 * `child()` is another deferred logger, so neither loads pino; anything else (a call at or above
 * the level, any other property) makes the real logger and is forwarded to it.
 */
function deferredLogger(level: string, make: () => Logger): Logger {
  let real: Logger | undefined;
  const now = (): Logger => (real ??= make());
  const threshold = LEVEL_VALUES[level] ?? 0;
  const noop = (): void => undefined;
  const forward = (target: Logger, prop: string | symbol): unknown => {
    const value: unknown = Reflect.get(target, prop, target);
    return typeof value === 'function'
      ? (value as (...a: unknown[]) => unknown).bind(target)
      : value;
  };
  return new Proxy(Object.create(null) as Logger, {
    get(_target, prop) {
      // pino serialises a child's bindings once, past the per-call redaction: redact them here.
      if (prop === 'child') {
        return (bindings: Record<string, unknown>, options?: { level?: string }) => {
          const redacted = redactDeep(bindings) as Record<string, unknown>;
          return deferredLogger(options?.level ?? (real ? real.level : level), () =>
            now().child(redacted, options),
          );
        };
      }
      if (real) return forward(real, prop);
      if (typeof prop === 'string') {
        const value = LEVEL_VALUES[prop];
        if (value !== undefined && prop !== 'silent' && value < threshold) return noop;
        if (prop === 'level') return level;
        if (prop === 'isLevelEnabled')
          return (l: string) => (LEVEL_VALUES[l] ?? Infinity) >= threshold;
      }
      return forward(now(), prop);
    },
    set(_target, prop, value) {
      return Reflect.set(now(), prop, value);
    },
    has(_target, prop) {
      return Reflect.has(now(), prop);
    },
  });
}

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
  // The destination is chosen now (a terminal's human lines or JSON), made when first written.
  const destination = options.destination ?? defaultDestination ?? 2;
  return deferredLogger(level, () => {
    const pino = pinoNow();
    const dest = typeof destination === 'function' ? destination() : destination;
    return pino(
      loggerOptions(pino, level, options.component),
      typeof dest === 'number' ? pino.destination({ dest, sync: true }) : dest,
    );
  });
}

function loggerOptions(pino: Pino, level: string, component: string): LoggerOptions {
  return {
    level,
    base: { component },
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
}

/** A logger that writes nothing, for library callers that pass none. */
export function silentLogger(): Logger {
  return deferredLogger('silent', () => pinoNow()({ level: 'silent' }));
}
