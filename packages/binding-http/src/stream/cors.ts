/**
 * The CORS protocol (Fetch standard §3.2): preflight requests are answered by the server
 * itself; other requests from an allowed origin get the response headers that let scripts read
 * the response.
 *
 * @module
 */
import type { OutgoingHttpHeaders } from 'node:http';
import { header, type HttpHeader } from '../index.ts';
import type { HttpCorsOptions } from '../config/schema.ts';

const DEFAULT_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

export class CorsPolicy {
  private readonly options: HttpCorsOptions;
  private readonly origins: ReadonlySet<string> | '*';

  constructor(options: HttpCorsOptions) {
    this.options = options;
    this.origins = options.origins === '*' ? '*' : new Set(options.origins.map((o) => o.toLowerCase()));
  }

  /** True for a preflight request: `OPTIONS` with `Origin` and `Access-Control-Request-Method`. */
  isPreflight(method: string, headers: readonly HttpHeader[]): boolean {
    return (
      method === 'OPTIONS' &&
      header({ headers }, 'origin') !== undefined &&
      header({ headers }, 'access-control-request-method') !== undefined
    );
  }

  /**
   * The answer to a preflight: 204, with the allowing headers when the origin and method are
   * allowed, without them otherwise (the browser then refuses the actual request).
   */
  preflight(headers: readonly HttpHeader[]): OutgoingHttpHeaders {
    const origin = header({ headers }, 'origin') ?? '';
    const method = header({ headers }, 'access-control-request-method') ?? '';
    const methods = this.options.methods ?? DEFAULT_METHODS;
    const allowed =
      this.allows(origin) && (methods.includes(method) || method === 'GET' || method === 'HEAD');
    if (!allowed) return { vary: 'origin', 'content-length': '0' };
    const requested = header({ headers }, 'access-control-request-headers');
    const allowHeaders = this.options.allowedHeaders?.join(', ') ?? requested;
    return {
      ...this.originHeaders(origin),
      'access-control-allow-methods': methods.join(', '),
      ...(allowHeaders === undefined || allowHeaders === ''
        ? {}
        : { 'access-control-allow-headers': allowHeaders }),
      ...(this.options.maxAge === undefined ? {} : { 'access-control-max-age': String(this.options.maxAge) }),
      'content-length': '0',
    };
  }

  /** Headers added to the response of a request from `origin` (none when it is not allowed). */
  responseHeaders(origin: string | undefined): OutgoingHttpHeaders {
    if (origin === undefined || !this.allows(origin)) return {};
    const exposed = this.options.exposedHeaders ?? [];
    return {
      ...this.originHeaders(origin),
      ...(exposed.length === 0 ? {} : { 'access-control-expose-headers': exposed.join(', ') }),
    };
  }

  private allows(origin: string): boolean {
    return this.origins === '*' || this.origins.has(origin.toLowerCase());
  }

  private originHeaders(origin: string): OutgoingHttpHeaders {
    const credentials = this.options.credentials === true;
    // `*` cannot be combined with credentials; validation refuses that configuration.
    if (this.origins === '*' && !credentials) return { 'access-control-allow-origin': '*' };
    return {
      'access-control-allow-origin': origin,
      vary: 'origin',
      ...(credentials ? { 'access-control-allow-credentials': 'true' } : {}),
    };
  }
}
