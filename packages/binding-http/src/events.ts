/**
 * Diagnostic events of @tributary/binding-http (docs/events.md), emitted on state transitions
 * only, never per request. Details carry addresses and codes, never credentials or payloads.
 *
 * @module
 */
import type { DiagnosticEvent } from '@tributary/kernel';

export const HTTP_EVENTS = {
  serverListening: 'http.server.listening',
  serverStopped: 'http.server.stopped',
  upstreamLost: 'http.upstream.lost',
  upstreamRecovered: 'http.upstream.recovered',
} as const;

/** A server bound all its addresses and accepts requests. */
export function serverListening(addresses: readonly string[]): DiagnosticEvent {
  return {
    name: HTTP_EVENTS.serverListening,
    level: 'info',
    message: `http server listening on ${addresses.join(', ')}`,
    detail: { addresses },
  };
}

/** A server stopped; `aborted` requests were still open at the deadline. */
export function serverStopped(aborted: number): DiagnosticEvent {
  return {
    name: HTTP_EVENTS.serverStopped,
    level: aborted > 0 ? 'warn' : 'info',
    message:
      aborted > 0
        ? `http server stopped; ${aborted} request(s) were cut at the deadline`
        : 'http server stopped',
    detail: { aborted },
  };
}

/** A client binding cannot reach its upstream (first failure after success or start). */
export function upstreamLost(origin: string, code: string): DiagnosticEvent {
  return {
    name: HTTP_EVENTS.upstreamLost,
    level: 'warn',
    message: `http upstream ${origin} cannot be reached (${code})`,
    detail: { origin, code },
  };
}

/** The upstream answered again after `http.upstream.lost`. */
export function upstreamRecovered(origin: string): DiagnosticEvent {
  return {
    name: HTTP_EVENTS.upstreamRecovered,
    level: 'info',
    message: `http upstream ${origin} is reachable again`,
    detail: { origin },
  };
}
