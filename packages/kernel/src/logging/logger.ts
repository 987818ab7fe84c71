import { pino, type DestinationStream } from 'pino';
import type { Logger } from '../spi/context.ts';

/**
 * Field names whose values never reach a log line, wherever they appear (up to the depth pino's
 * redaction supports). Plugins add their own through `telemetry.redact`.
 */
export const DEFAULT_REDACT_KEYS: readonly string[] = [
  'password',
  'passphrase',
  'secret',
  'token',
  'accessToken',
  'access_token',
  'refreshToken',
  'credentials',
  'authorization',
  'Authorization',
  'cookie',
  'key',
  'privateKey',
  'clientSecret',
  'sasl',
];

function redactPaths(extra: readonly string[]): string[] {
  const paths = new Set<string>();
  for (const key of DEFAULT_REDACT_KEYS) {
    paths.add(key);
    paths.add(`*.${key}`);
    paths.add(`*.*.${key}`);
    paths.add(`*.*.*.${key}`);
  }
  for (const path of extra) paths.add(path);
  return [...paths];
}

export interface LoggerOptions {
  readonly level?: string;
  readonly redact?: readonly string[];
  /** Defaults to standard output. */
  readonly destination?: DestinationStream;
  readonly name?: string;
}

/** A pino JSON logger with secret redaction. */
export function createLogger(options: LoggerOptions = {}): Logger & { level: string } {
  return pino(
    {
      name: options.name ?? 'tributary',
      level: options.level ?? process.env['TRIBUTARY_LOG_LEVEL'] ?? 'info',
      redact: { paths: redactPaths(options.redact ?? []), censor: '[redacted]' },
      base: { pid: process.pid },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/** A logger that drops everything (tests, `validate`). */
export function silentLogger(): Logger & { level: string } {
  return pino({ level: 'silent' });
}
