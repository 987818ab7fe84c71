/**
 * Coded errors. Every error the gateway raises or sends has a stable code `TRIB_<AREA>_<NAME>`,
 * one factory and a message template; codes that reach clients also carry the status they map
 * to. Each package defines its codes with {@link defineErrors} in `src/errors.ts`, and
 * `docs/errors.md` lists every code (a test keeps the two in step).
 *
 * @module
 */
import type { ConfigIssue } from './config.ts';

export interface ErrorSpec {
  /** Message template; `{name}` placeholders are filled from the factory's params. */
  readonly message: string;
  /** HTTP-style status when the error reaches a client. */
  readonly status?: number;
}

const ERROR_BRAND: unique symbol = Symbol.for('tributary.error');

/** An error with a stable code. Load-time errors may carry config issues. */
export class TributaryError extends Error {
  readonly code: string;
  readonly status: number | undefined;
  readonly issues: readonly ConfigIssue[];
  readonly [ERROR_BRAND] = true;

  constructor(
    code: string,
    message: string,
    options: { cause?: unknown; status?: number | undefined; issues?: readonly ConfigIssue[] } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TributaryError';
    this.code = code;
    this.status = options.status;
    this.issues = options.issues ?? [];
  }
}

/** True for a {@link TributaryError} from any copy of the kernel. */
export function isTributaryError(value: unknown): value is TributaryError {
  return (
    typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[ERROR_BRAND] === true
  );
}

export type ErrorFactory = ((
  params?: Readonly<Record<string, unknown>>,
  options?: { cause?: unknown; issues?: readonly ConfigIssue[] },
) => TributaryError) & { readonly code: string; readonly spec: ErrorSpec };

/** Fills `{name}` placeholders; unknown names are left as they are. */
export function formatMessage(template: string, params: Readonly<Record<string, unknown>> = {}): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) =>
    key in params ? String(params[key]) : whole,
  );
}

/**
 * Declares a package's error codes and returns one factory per code.
 *
 * ```ts
 * export const errors = defineErrors({
 *   TRIB_HTTP_BODY_TOO_LARGE: { message: 'body exceeds {limit} bytes', status: 413 },
 * });
 * throw errors.TRIB_HTTP_BODY_TOO_LARGE({ limit: 1024 });
 * ```
 */
export function defineErrors<const K extends string>(
  specs: Readonly<Record<K, ErrorSpec>>,
): { readonly [P in K]: ErrorFactory } {
  const factories = {} as Record<K, ErrorFactory>;
  for (const code of Object.keys(specs) as K[]) {
    if (!/^TRIB_[A-Z0-9]+_[A-Z0-9_]+$/.test(code)) throw new Error(`invalid error code ${code}`);
    const spec = specs[code];
    const factory = (
      params: Readonly<Record<string, unknown>> = {},
      options: { cause?: unknown; issues?: readonly ConfigIssue[] } = {},
    ) =>
      new TributaryError(code, formatMessage(spec.message, params), {
        cause: options.cause,
        status: spec.status,
        issues: options.issues ?? [],
      });
    factories[code] = Object.assign(factory, { code, spec });
  }
  return factories;
}
