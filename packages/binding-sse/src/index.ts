/**
 * `@tributary/binding-sse`: the `sse` stream contract, for the bindings that serve Server-Sent
 * Events (`sse-kafka`, …), and the option types of the `sse` server binding.
 *
 * The `sse` **server** binding sits behind an `http` server binding: the http server's routes send
 * it `GET` requests that accept `text/event-stream` (so SSE shares the port with REST), it picks
 * one of its own routes by path and opens an `sse` stream towards that route's exit. The exit
 * (a mapping such as `sse-kafka`) never sees HTTP: it answers with events and the binding writes
 * them as an event stream (WHATWG HTML, §9.2 Server-sent events), over HTTP/1.1 or HTTP/2.
 *
 * - **Initial half** (opener: the `sse` binding): `begin` carries an {@link SseBeginEx} — the
 *   request path, the route's params and the client's last event id — then `end` at once: a
 *   client sends nothing after its request. The client going away is a `reset` of the reply half
 *   (code `TRIB_SSE_CLIENT_CLOSED`), the gateway stopping one with `TRIB_SSE_STOPPING`.
 * - **Reply half** (acceptor: the exit):
 *   - `begin` (its extension is ignored) means the stream is established: only then does the
 *     binding answer `200` with `content-type: text/event-stream` and `cache-control: no-cache`.
 *     An exit that needs time (hydrating a cache, checking a resume token) begins once it knows
 *     it can serve, so that failures can still be answered with a status.
 *   - each `data` frame is one event: the payload is its data (UTF-8), an {@link SseEventEx}
 *     adds `id`, `event` and `retry`. A frame without extension is an unnamed event without id.
 *     Messages may arrive in fragments; the binding joins them.
 *   - a `flush` with an {@link SseEventEx} writes its `id` / `event` / `retry` fields without
 *     data: the client dispatches no event but records the id as its last event id and adopts
 *     the retry delay (WHATWG HTML §9.2.6, "dispatch the event": the last event ID string is
 *     set before the empty data buffer is checked).
 *   - `end` ends the response; the client's `EventSource` reconnects (after its retry delay)
 *     with `Last-Event-ID`.
 * - **Credit.** The binding grants the exit credit up front (its `window` option) and returns
 *   each event's credit as soon as the event is queued for the client's connection, so that an
 *   exit is never held back by one slow client. What the client's connection has not taken yet
 *   is bounded by `maxLagBytes`: an event arriving while more is waiting closes the stream with
 *   `TRIB_SSE_LAGGING` (the client reconnects and resumes from its last event id).
 * - **Failure.** An exit that cannot serve the stream resets the initial half or aborts the reply
 *   half *before* its begin with a reason whose `ext` is an {@link SseProblemEx}: the client gets
 *   that status as an RFC 9457 problem document. Without one it gets 502
 *   `TRIB_SSE_UPSTREAM_FAILED`. After the begin, an abort ends the response like `end` does (an
 *   event stream has no notion of incomplete: the client reconnects and resumes).
 * - **Continuous authorization.** Guard sessions travel as the stream's `authorization`. For the
 *   guards the matched route lists under `guarded`, the binding sends `event: challenge` at the
 *   session's `challengeAt` and ends the stream at its `expiresAt` — reading the session again
 *   when each timer fires, so that a session the guard extended (re-authorization) keeps the
 *   stream open. Exits need not do anything for it.
 *
 * @module
 */
import type { Extension, RouteParams } from '@tributary/kernel';

/** Begin extension of an `sse` stream's initial half: what the client asked for. */
export interface SseBeginEx extends Extension {
  readonly type: 'sse';
  readonly kind: 'begin';
  /** The request path without the query, as sent (percent-encoded). */
  readonly path: string;
  /** The query string without `?`, as sent; empty when there is none. */
  readonly query: string;
  /** Params the `sse` binding's route captured from `path` (`{key}` → `params.key`), decoded. */
  readonly params: RouteParams;
  /**
   * The last event id the client saw: the `Last-Event-ID` request header (sent by `EventSource`
   * when it reconnects), else the query parameter named by the binding's `lastEventIdQuery`
   * option (for a client's first connection, which cannot set headers). Absent when neither is
   * present or the value is empty.
   */
  readonly lastEventId?: string;
}

/**
 * The fields of one event, on a reply `data` frame (whose payload is the event's data) or a
 * reply `flush` (fields without data). `id` and `event` must not contain CR or LF, `id` not NUL
 * either (WHATWG HTML §9.2.6 ignores an `id` with NUL); such characters are removed.
 */
export interface SseEventEx extends Extension {
  readonly type: 'sse';
  readonly kind: 'event';
  /** Becomes the client's last event id (`Last-Event-ID` on reconnection). */
  readonly id?: string;
  /** The event type (`addEventListener(type)`); `message` when absent. */
  readonly event?: string;
  /** Reconnection delay for the client, in ms (a non-negative integer). */
  readonly retry?: number;
}

/** One extra response header of a problem (`retry-after`, …). Names are lower case. */
export interface SseHeader {
  readonly name: string;
  readonly value: string;
}

/**
 * Why an exit could not serve an `sse` stream: the `ext` of its `reset` / `abort` before the
 * reply began. The client gets an RFC 9457 problem document with this status and code.
 */
export interface SseProblemEx extends Extension {
  readonly type: 'sse';
  readonly kind: 'problem';
  /** HTTP status, 400–599. */
  readonly status: number;
  /** Stable `TRIB_<AREA>_<NAME>` code. */
  readonly code: string;
  /** For the client: never a stack trace, a secret or an internal address. */
  readonly detail?: string;
  readonly headers?: readonly SseHeader[];
}

export type SseExtension = SseBeginEx | SseEventEx | SseProblemEx;

/** Narrows to an {@link SseBeginEx}. */
export function isSseBegin(ext: Extension | undefined): ext is SseBeginEx {
  return ext?.type === 'sse' && (ext as SseExtension).kind === 'begin';
}

/** Narrows to an {@link SseEventEx}. */
export function isSseEvent(ext: Extension | undefined): ext is SseEventEx {
  return ext?.type === 'sse' && (ext as SseExtension).kind === 'event';
}

/** Narrows to an {@link SseProblemEx}. */
export function isSseProblem(ext: Extension | undefined): ext is SseProblemEx {
  return ext?.type === 'sse' && (ext as SseExtension).kind === 'problem';
}

/** Builds an {@link SseEventEx}, leaving out the fields that are undefined. */
export function sseEvent(fields: {
  id?: string | undefined;
  event?: string | undefined;
  retry?: number;
}): SseEventEx {
  return {
    type: 'sse',
    kind: 'event',
    ...(fields.id === undefined ? {} : { id: fields.id }),
    ...(fields.event === undefined ? {} : { event: fields.event }),
    ...(fields.retry === undefined ? {} : { retry: fields.retry }),
  };
}

/** Builds an {@link SseProblemEx}; header names are lower-cased. */
export function sseProblem(
  status: number,
  code: string,
  detail?: string,
  headers: Readonly<Record<string, string>> = {},
): SseProblemEx {
  const list = Object.entries(headers).map(([name, value]) => ({ name: name.toLowerCase(), value }));
  return {
    type: 'sse',
    kind: 'problem',
    status,
    code,
    ...(detail === undefined ? {} : { detail }),
    ...(list.length === 0 ? {} : { headers: list }),
  };
}

export type { SseOptions, SseWhen } from './config/schema.ts';
