/**
 * Failures as HTTP answers: which {@link HttpProblemEx} a reset or abort stands for, and the
 * RFC 9457 `application/problem+json` response that renders it.
 *
 * @module
 */
import { STATUS_CODES, type OutgoingHttpHeaders } from 'node:http';
import type { ErrorFactory, Extension, StreamError } from '@tributary/kernel';
import { isHttpProblem, problem, problemType, type HttpProblemEx } from '../index.ts';
import { errors } from '../errors.ts';
import { toNodeHeaders } from './headers.ts';

/** A problem for one of this package's codes, its message as `detail`. */
export function errorProblem(
  factory: ErrorFactory,
  params: Readonly<Record<string, unknown>> = {},
  headers: Readonly<Record<string, string>> = {},
): HttpProblemEx {
  const error = factory(params);
  return problem(error.status ?? 500, error.code, error.message, headers);
}

/** A stream error carrying `ext` as its reason, for frames sent towards the exit. */
export function problemReason(ext: HttpProblemEx): StreamError {
  return { code: ext.code, ...(ext.detail === undefined ? {} : { message: ext.detail }), ext };
}

/**
 * Any extension saying the failure is worth retrying (`retriable: true`, optionally
 * `retryAfterMs`), whoever defined it: the Kafka binding's errors do, for one.
 */
function retriable(ext: Extension | undefined): { readonly seconds: number } | undefined {
  if (ext === undefined) return undefined;
  const fields = ext as { readonly retriable?: unknown; readonly retryAfterMs?: unknown };
  if (fields.retriable !== true) return undefined;
  const ms =
    typeof fields.retryAfterMs === 'number' && Number.isFinite(fields.retryAfterMs)
      ? fields.retryAfterMs
      : 1_000;
  return { seconds: Math.max(1, Math.ceil(ms / 1_000)) };
}

/**
 * What the client is told when the exit resets or aborts with `reason`: its `HttpProblemEx` when
 * it has one, else 503 with `Retry-After` for retriable reasons, else 502. The reason's own
 * message is never shown: it may name internal hosts.
 */
export function problemFor(reason: StreamError | undefined): HttpProblemEx {
  const ext = reason?.ext;
  if (isHttpProblem(ext)) return ext;
  const retry = retriable(ext);
  if (retry !== undefined) {
    return errorProblem(errors.TRIB_HTTP_SERVICE_UNAVAILABLE, retry, {
      'retry-after': String(retry.seconds),
    });
  }
  return errorProblem(errors.TRIB_HTTP_UPSTREAM_FAILED);
}

export interface RenderedProblem {
  readonly status: number;
  readonly headers: OutgoingHttpHeaders;
  readonly body: Buffer;
}

/** The problem document of `ext` (RFC 9457 §3), with its headers and `extra` ones. */
export function renderProblem(ext: HttpProblemEx, extra: OutgoingHttpHeaders = {}): RenderedProblem {
  const status = Number.isInteger(ext.status) && ext.status >= 400 && ext.status <= 599 ? ext.status : 500;
  const document = {
    type: problemType(ext.code),
    title: ext.title ?? STATUS_CODES[status] ?? 'Error',
    status,
    ...(ext.detail === undefined ? {} : { detail: ext.detail }),
    code: ext.code,
  };
  const body = Buffer.from(JSON.stringify(document));
  return {
    status,
    headers: {
      'cache-control': 'no-store',
      ...toNodeHeaders(ext.headers ?? [], new Set(['content-type', 'content-length'])),
      ...extra,
      'content-type': 'application/problem+json',
      'content-length': String(body.byteLength),
    },
    body,
  };
}
