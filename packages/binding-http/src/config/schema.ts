/**
 * Configuration of `type: http` bindings: the option types of both kinds, their JSON Schema
 * fragments (the kernel composes them into the configuration schema) and the route condition.
 * Cross-field rules the schema cannot express are in `validate.ts`; the matcher is in `when.ts`.
 *
 * @module
 */
import type { JsonSchema } from '@tributary/kernel';

/** A PEM source: a file (relative to the configuration file) or an alias in the binding's vault. */
export type HttpTlsSource = { readonly file: string } | { readonly vault: string };

/**
 * `tls` of either kind. Server: `key` and `cert` are required, `ca` verifies client certificates
 * (`clientAuth`). Client: `ca` verifies the upstream (system CAs when omitted), `cert`/`key` are
 * the client certificate for mutual TLS, `servername` overrides SNI.
 */
export interface HttpTlsOptions {
  readonly key?: HttpTlsSource;
  readonly cert?: HttpTlsSource;
  readonly ca?: HttpTlsSource;
  /** Server only: ask for a client certificate (`request`) or insist on one (`require`). */
  readonly clientAuth?: 'none' | 'request' | 'require';
  /** Client only: the server name for SNI and certificate verification. */
  readonly servername?: string;
}

/** One listening address of a server. */
export interface HttpListenOptions {
  /** Interface to bind; all interfaces when omitted. */
  readonly host?: string;
  /** Port; 0 picks a free one (see `boundAddresses`). */
  readonly port: number;
  /** Serve TLS on this address with the binding's `tls` options (HTTP/2 through ALPN). */
  readonly tls?: boolean;
}

/** Cross-origin resource sharing (Fetch standard, CORS protocol). */
export interface HttpCorsOptions {
  /** Allowed origins (`https://app.example.com`), or `*` for any. */
  readonly origins: readonly string[] | '*';
  /** Methods allowed in preflight answers (default GET, HEAD, POST, PUT, PATCH, DELETE). */
  readonly methods?: readonly string[];
  /** Request headers allowed (default: whatever the preflight asks for). */
  readonly allowedHeaders?: readonly string[];
  /** Response headers scripts may read. */
  readonly exposedHeaders?: readonly string[];
  /** Allow cookies and credentials (not with `origins: '*'`). */
  readonly credentials?: boolean;
  /** Seconds a browser may cache a preflight answer. */
  readonly maxAge?: number;
}

/**
 * Where a guard's credentials are in a request: header, query parameter or cookie name →
 * template in which `{credentials}` marks the credentials (`Bearer {credentials}`). The first
 * place that holds them wins, in the order headers, query, cookies.
 */
export interface HttpCredentialsOptions {
  readonly headers?: Readonly<Record<string, string>>;
  readonly query?: Readonly<Record<string, string>>;
  readonly cookies?: Readonly<Record<string, string>>;
}

/** `bindings.<name>.options` of an `http` server. */
export interface HttpServerOptions {
  readonly listen: HttpListenOptions | readonly HttpListenOptions[];
  /** Key, certificate and client authentication for `listen` entries with `tls: true`. */
  readonly tls?: HttpTlsOptions;
  /** Serve HTTP/2 as well as HTTP/1.1: by ALPN over TLS, with prior knowledge (h2c) otherwise. */
  readonly http2?: boolean;
  /** Idle keep-alive connections (HTTP/2: idle sessions) are closed after this many ms. */
  readonly keepAliveTimeout?: number;
  /** A request must be received whole within this many ms (HTTP/1.1). */
  readonly requestTimeout?: number;
  /** Request headers must be received within this many ms (HTTP/1.1). */
  readonly headersTimeout?: number;
  /** Largest request head, in bytes; larger ones get 431. */
  readonly maxHeaderSize?: number;
  /** Largest request body, in bytes; larger ones get 413. */
  readonly bodyLimit?: number;
  /** Credit granted up front for each response body, in bytes. */
  readonly window?: number;
  readonly cors?: HttpCorsOptions;
  /**
   * Proxies (addresses or CIDR ranges) whose `Forwarded` / `X-Forwarded-*` headers are believed.
   * When omitted those headers are ignored.
   */
  readonly trustedProxies?: readonly string[];
  /** Guard name → where the guard's credentials are found in requests. */
  readonly authorization?: Readonly<Record<string, { readonly credentials: HttpCredentialsOptions }>>;
}

/** `bindings.<name>.options` of an `http` client. */
export interface HttpClientOptions {
  /** The upstream origin, `http(s)://host[:port]`. */
  readonly url: string;
  readonly tls?: HttpTlsOptions;
  /** Most connections kept to the upstream. */
  readonly connections?: number;
  /** Idle upstream connections are closed after this many ms. */
  readonly keepAliveTimeout?: number;
  /** The upstream must send the response head within this many ms (504 otherwise). */
  readonly headersTimeout?: number;
  /** The upstream may pause this many ms between body chunks (504 / cut otherwise). */
  readonly bodyTimeout?: number;
  /** Negotiate HTTP/2 with a TLS upstream (ALPN). */
  readonly http2?: boolean;
  /** Credit granted up front for each request body, in bytes. */
  readonly window?: number;
}

/**
 * One `when` entry of a server route; all given fields must match.
 *
 * - `authority`: the `:authority` (host and port as sent), case-insensitive; `*` matches any run
 *   of characters (`*.example.com`).
 * - `path`: without `*`, a prefix on segment boundaries (`/api` matches `/api` and `/api/x`, not
 *   `/apis`); with `*`, a whole-path pattern (`/files/*.json`). `{name}` captures one segment
 *   as a route param. The query string is not part of the path.
 * - `method`: exact, case-sensitive (RFC 9110 §9.1).
 * - `headers`: name → value; values may use `*`.
 */
export interface HttpWhen {
  readonly authority?: string;
  readonly path?: string;
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export const SERVER_DEFAULTS = {
  http2: true,
  keepAliveTimeout: 5_000,
  requestTimeout: 300_000,
  headersTimeout: 60_000,
  maxHeaderSize: 16_384,
  bodyLimit: 1_048_576,
  window: 65_536,
} as const;

export const CLIENT_DEFAULTS = {
  connections: 64,
  keepAliveTimeout: 4_000,
  headersTimeout: 30_000,
  bodyTimeout: 30_000,
  http2: false,
  window: 65_536,
} as const;

const ms = (description: string, defaultValue: number): JsonSchema => ({
  type: 'integer',
  minimum: 1,
  maximum: 2_147_483_647,
  description,
  default: defaultValue,
});

const bytes = (description: string, defaultValue: number, minimum = 1): JsonSchema => ({
  type: 'integer',
  minimum,
  maximum: 9_007_199_254_740_991,
  description,
  default: defaultValue,
});

const tlsSource = (what: string, vaultKind: string): JsonSchema => ({
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  maxProperties: 1,
  description:
    `${what}, as PEM: either \`file\` (a path, relative to the configuration file) or \`vault\` ` +
    `(an alias among the ${vaultKind} of the binding's \`vault\`). Exactly one of the two.`,
  properties: {
    file: { type: 'string', minLength: 1, description: `PEM file holding the ${what.toLowerCase()}.` },
    vault: {
      type: 'string',
      minLength: 1,
      description: `Alias of the ${what.toLowerCase()} among the ${vaultKind} of the binding's vault.`,
    },
  },
});

const listenEntry: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['port'],
  properties: {
    host: { type: 'string', minLength: 1, description: 'Interface to bind; all interfaces when omitted.' },
    port: { type: 'integer', minimum: 0, maximum: 65_535, description: 'Port; 0 picks a free one.' },
    tls: { type: 'boolean', description: "Serve TLS here, with the binding's `tls` options." },
  },
};

const headerName = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";
const stringList = (description: string): JsonSchema => ({
  type: 'array',
  items: { type: 'string', minLength: 1 },
  description,
});

const credentialPlaces: JsonSchema = {
  type: 'object',
  additionalProperties: { type: 'string', pattern: '\\{credentials\\}' },
};

export const serverOptionsSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['listen'],
  description: 'An HTTP server: every request becomes a stream towards the exit its routes pick.',
  properties: {
    listen: {
      description: 'Where to listen: one address or several.',
      oneOf: [listenEntry, { type: 'array', minItems: 1, items: listenEntry }],
    },
    tls: {
      type: 'object',
      additionalProperties: false,
      required: ['key', 'cert'],
      description: 'TLS (1.2 or later) for `listen` entries with `tls: true`.',
      properties: {
        key: tlsSource('Private key of the server certificate', 'keys'),
        cert: tlsSource('Server certificate chain', 'certificates'),
        ca: tlsSource('CA certificates that client certificates are verified against', 'trust anchors'),
        clientAuth: {
          enum: ['none', 'request', 'require'],
          default: 'none',
          description:
            'Mutual TLS: `request` asks for a client certificate, `require` refuses connections without a valid one.',
        },
      },
    },
    http2: {
      type: 'boolean',
      default: SERVER_DEFAULTS.http2,
      description: 'Serve HTTP/2 too: by ALPN over TLS, and with prior knowledge (h2c) on plaintext ports.',
    },
    keepAliveTimeout: ms('Idle keep-alive connections (HTTP/2 sessions) close after this many ms.', 5_000),
    requestTimeout: ms('A request must be received whole within this many ms (HTTP/1.1).', 300_000),
    headersTimeout: ms('Request headers must arrive within this many ms (HTTP/1.1).', 60_000),
    maxHeaderSize: bytes('Largest request head in bytes; larger ones are answered 431.', 16_384, 1_024),
    bodyLimit: bytes('Largest request body in bytes; larger ones are answered 413.', 1_048_576, 0),
    window: bytes('Credit granted up front for each response body, in bytes.', 65_536),
    cors: {
      type: 'object',
      additionalProperties: false,
      required: ['origins'],
      description: 'CORS policy; preflight requests are answered by the server itself.',
      properties: {
        origins: {
          description: 'Allowed origins (`https://app.example.com`), or `*` for any.',
          oneOf: [{ const: '*' }, { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } }],
        },
        methods: stringList('Methods allowed in preflight answers.'),
        allowedHeaders: stringList('Request headers allowed (default: those the preflight asks for).'),
        exposedHeaders: stringList('Response headers scripts may read.'),
        credentials: { type: 'boolean', description: 'Allow credentials (cookies, authorization).' },
        maxAge: { type: 'integer', minimum: 0, description: 'Seconds a preflight answer may be cached.' },
      },
    },
    trustedProxies: {
      type: 'array',
      items: { type: 'string', minLength: 1 },
      description:
        'Addresses or CIDR ranges of proxies whose `Forwarded` / `X-Forwarded-*` headers are believed; ignored otherwise.',
    },
    authorization: {
      type: 'object',
      description: 'Guard name → where its credentials are found in requests.',
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['credentials'],
        properties: {
          credentials: {
            type: 'object',
            additionalProperties: false,
            minProperties: 1,
            description:
              'Header, query parameter or cookie name → template with `{credentials}`, e.g. `Bearer {credentials}`.',
            properties: { headers: credentialPlaces, query: credentialPlaces, cookies: credentialPlaces },
          },
        },
      },
    },
  },
};

export const clientOptionsSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['url'],
  description: 'An HTTP client: sends every stream it accepts to the upstream origin `url`.',
  properties: {
    url: {
      type: 'string',
      pattern: '^https?://[^/?#]+/?$',
      description: 'Upstream origin, `http(s)://host[:port]`.',
    },
    tls: {
      type: 'object',
      additionalProperties: false,
      description: 'TLS towards an `https` upstream; its certificate is always verified.',
      properties: {
        ca: tlsSource('Trusted CA certificates', 'trust anchors'),
        cert: tlsSource('Client certificate chain (mutual TLS)', 'certificates'),
        key: tlsSource('Private key of the client certificate', 'keys'),
        servername: { type: 'string', minLength: 1, description: 'Server name for SNI and verification.' },
      },
      dependentRequired: { cert: ['key'], key: ['cert'] },
    },
    connections: { type: 'integer', minimum: 1, default: 64, description: 'Most upstream connections.' },
    keepAliveTimeout: ms('Idle upstream connections close after this many ms.', 4_000),
    headersTimeout: ms('The upstream must answer with a head within this many ms (504).', 30_000),
    bodyTimeout: ms('Longest pause between upstream body chunks, in ms.', 30_000),
    http2: { type: 'boolean', default: false, description: 'Negotiate HTTP/2 with a TLS upstream.' },
    window: bytes('Credit granted up front for each request body, in bytes.', 65_536),
  },
};

export const whenSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  description: 'Conditions on a request; all fields given must match.',
  properties: {
    authority: { type: 'string', minLength: 1, description: 'Host (and port) as sent; `*` wildcards.' },
    path: {
      type: 'string',
      pattern: '^/',
      description: 'Path prefix (segment-wise), or a pattern with `*`; `{name}` captures a segment.',
    },
    method: { type: 'string', pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", description: 'Request method.' },
    headers: {
      type: 'object',
      propertyNames: { pattern: headerName },
      additionalProperties: { type: 'string' },
      description: 'Header name → value; `*` wildcards.',
    },
  },
};
