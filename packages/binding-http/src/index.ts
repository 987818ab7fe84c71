/**
 * `@tributary/binding-http`: the types other plugins use to talk to `http` bindings.
 *
 * An `http` **server** binding turns every request into a stream towards its exit (the binding a
 * route picks); an `http` **client** binding accepts such streams and sends them to an upstream
 * HTTP server. Mappings (`http-kafka`, `sse`, …) accept and open the same streams, so they
 * never see sockets.
 *
 * - **Initial half** (request): `begin` carries an {@link HttpBeginEx} with the pseudo-headers
 *   `:method`, `:scheme`, `:authority`, `:path` first, then the request headers. Data frames
 *   carry the request body as a byte stream (fragment flags have no meaning), within the credit
 *   the acceptor grants: a request body is never buffered whole by the server. `end` may carry
 *   an {@link HttpEndEx} with trailers.
 * - **Reply half** (response): `begin` carries an {@link HttpBeginEx} whose first header is
 *   `:status`, then the response headers; data frames carry the body, sent to the socket as
 *   credit allows (the server grants credit as the socket drains, so a slow client holds back
 *   only its own stream); `end` may carry trailers.
 * - **Failure**: an acceptor that cannot answer resets the initial half or aborts the reply
 *   half with an {@link HttpProblemEx}. Before the response has begun, the server answers with
 *   an RFC 9457 `application/problem+json` body built from it (status, stable `type` URI per
 *   error code, title, detail, extra headers such as `Retry-After` or `Allow`); once the
 *   response has begun, the server can only cut the response (HTTP/1.1: close the connection;
 *   HTTP/2: `RST_STREAM` with `INTERNAL_ERROR`). A reset or abort without an `HttpProblemEx` is
 *   answered as 502 `TRIB_HTTP_UPSTREAM_FAILED` (a 503 with `Retry-After` when the reason's
 *   extension says the failure is retriable).
 *
 * Header names are lower case (RFC 9110 §5.1, RFC 9113 §8.2.2); values are strings; a name may
 * repeat and order is kept. Guard sessions the server established from the request's
 * credentials travel as the stream's `authorization`.
 *
 * @module
 */
import type { Extension } from '@tributary/kernel';

/** One header field. `name` is lower case; pseudo-headers start with `:`. */
export interface HttpHeader {
  readonly name: string;
  readonly value: string;
}

/**
 * Begin extension of both halves of an `http` stream: the request head (initial half) or the
 * response head (reply half).
 */
export interface HttpBeginEx extends Extension {
  readonly type: 'http';
  readonly kind: 'begin';
  /**
   * Request: `:method`, `:scheme`, `:authority`, `:path` (path and query, as sent), then the
   * headers. Response: `:status` (three digits), then the headers. Connection-specific headers
   * (`connection`, `keep-alive`, `transfer-encoding`, `upgrade`, `proxy-connection`) are never
   * present: each hop manages its own connection.
   */
  readonly headers: readonly HttpHeader[];
  /**
   * Request only, set by the server: who is connected. `address` is the peer's IP address (the
   * client's, from `X-Forwarded-For`, when the server trusts the proxy in front of it).
   */
  readonly remote?: { readonly address: string; readonly port: number };
  /** Request only, set by the server over TLS: the verified client certificate, if any. */
  readonly tls?: {
    readonly protocol: string;
    /** Subject of the client certificate the server verified (mutual TLS). */
    readonly peerSubject?: string;
  };
}

/** End extension of either half: trailer fields (lower-case names, no pseudo-headers). */
export interface HttpEndEx extends Extension {
  readonly type: 'http';
  readonly kind: 'end';
  readonly trailers: readonly HttpHeader[];
}

/**
 * Why an `http` stream could not be answered normally: the extension of a `reset` (initial half)
 * or `abort` (reply half). The server renders it as an RFC 9457 problem document:
 *
 * ```json
 * { "type": "urn:tributary:error:<code>", "title": "...", "status": 503, "detail": "...", "code": "<code>" }
 * ```
 *
 * with `headers` added to the response (for example `retry-after`, `allow`,
 * `www-authenticate`). `detail` is written for the client: it never holds a stack trace, a
 * secret or an internal address.
 */
export interface HttpProblemEx extends Extension {
  readonly type: 'http';
  readonly kind: 'problem';
  /** HTTP status, 400–599. */
  readonly status: number;
  /** Stable `TRIB_<AREA>_<NAME>` code; the problem's `type` is `urn:tributary:error:<code>`. */
  readonly code: string;
  /** Short summary, the same for every occurrence of `code`. Default: the status's reason phrase. */
  readonly title?: string;
  readonly detail?: string;
  readonly headers?: readonly HttpHeader[];
}

export type HttpExtension = HttpBeginEx | HttpEndEx | HttpProblemEx;

/** The `type` URI of a problem document for `code` (RFC 9457 §3.1.1). */
export function problemType(code: string): string {
  return `urn:tributary:error:${code}`;
}

/** Narrows any extension to an HTTP one. */
export function isHttpExtension(ext: Extension | undefined): ext is HttpExtension {
  return ext?.type === 'http';
}

/** Narrows to an {@link HttpBeginEx}. */
export function isHttpBegin(ext: Extension | undefined): ext is HttpBeginEx {
  return ext?.type === 'http' && (ext as HttpExtension).kind === 'begin';
}

/** Narrows to an {@link HttpProblemEx}. */
export function isHttpProblem(ext: Extension | undefined): ext is HttpProblemEx {
  return ext?.type === 'http' && (ext as HttpExtension).kind === 'problem';
}

/**
 * The first value of header `name` (lower case), or `undefined`. Pseudo-headers work the same
 * way: `header(begin, ':method')`.
 */
export function header(ext: { readonly headers: readonly HttpHeader[] }, name: string): string | undefined {
  for (const h of ext.headers) if (h.name === name) return h.value;
  return undefined;
}

/** Every value of header `name` (lower case), in order. */
export function headerValues(ext: { readonly headers: readonly HttpHeader[] }, name: string): string[] {
  const values: string[] = [];
  for (const h of ext.headers) if (h.name === name) values.push(h.value);
  return values;
}

/** Builds a response head: `:status` first, then `headers` (names lower-cased). */
export function responseBegin(status: number, headers: Readonly<Record<string, string>> = {}): HttpBeginEx {
  const list: HttpHeader[] = [{ name: ':status', value: String(status) }];
  for (const [name, value] of Object.entries(headers)) list.push({ name: name.toLowerCase(), value });
  return { type: 'http', kind: 'begin', headers: list };
}

/** Builds an {@link HttpProblemEx}; `headers` names are lower-cased. */
export function problem(
  status: number,
  code: string,
  detail?: string,
  headers: Readonly<Record<string, string>> = {},
): HttpProblemEx {
  const list = Object.entries(headers).map(([name, value]) => ({ name: name.toLowerCase(), value }));
  return {
    type: 'http',
    kind: 'problem',
    status,
    code,
    ...(detail === undefined ? {} : { detail }),
    ...(list.length === 0 ? {} : { headers: list }),
  };
}

/** One address an `http` server listens on, as bound (the actual port when `port: 0` was asked). */
export interface HttpBoundAddress {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  /** `http://127.0.0.1:8080`, `https://[::1]:8443`. */
  readonly url: string;
}

/** Brand of running `http` server bindings (a registered symbol: any installed copy matches). */
export const HTTP_SERVER_BRAND: unique symbol = Symbol.for('tributary.binding-http.server');

/**
 * The addresses a running `http` server binding listens on, or `undefined` when `handler` is
 * not one. For tests and diagnostics: `boundAddresses(gateway.binding('north_http'))`.
 */
export function boundAddresses(handler: unknown): readonly HttpBoundAddress[] | undefined {
  if (typeof handler !== 'object' || handler === null) return undefined;
  const server = handler as {
    readonly [HTTP_SERVER_BRAND]?: true;
    addresses?: () => readonly HttpBoundAddress[];
  };
  return server[HTTP_SERVER_BRAND] === true ? server.addresses?.() : undefined;
}

export type {
  HttpServerOptions,
  HttpClientOptions,
  HttpListenOptions,
  HttpTlsOptions,
  HttpCorsOptions,
  HttpCredentialsOptions,
  HttpWhen,
  HttpTlsSource,
} from './config/schema.ts';
