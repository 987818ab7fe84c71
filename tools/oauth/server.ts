// A tiny OAuth 2.0 authorization server for tests: the client-credentials grant (RFC 6749 §4.4)
// issuing RS256 JWT access tokens (RFC 9068 profile, loosely), a JWKS (RFC 7517) and an OIDC
// discovery document. Plain HTTP on 127.0.0.1, everything in memory, no dependencies but
// node:crypto. It counts requests (tests assert refreshes) and can be told to fail for a while.
import {
  generateKeyPairSync,
  randomBytes,
  randomUUID,
  sign,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface OAuthClientSpec {
  /** The client secret (client_secret_basic or client_secret_post). */
  readonly secret: string;
  /** `sub` of the tokens issued to the client; the client id when omitted. */
  readonly sub?: string;
  /**
   * Scopes the client may ask for (space-separated). When the request names no `scope`, the
   * token carries all of them. Omitted: any scope is granted as asked.
   */
  readonly scope?: string;
}

export interface StartOAuthServerOptions {
  /** Registered clients by client id (default: `gateway` / `gateway-secret`). */
  readonly clients?: Readonly<Record<string, OAuthClientSpec>>;
  /** Lifetime of issued tokens in seconds (default 300); `setLifetime()` changes it later. */
  readonly lifetimeSeconds?: number;
  /** `aud` of tokens whose request names no `audience` (default `kafka`). */
  readonly audience?: string;
  /** Port on 127.0.0.1 (default: any free one). */
  readonly port?: number;
  /** Progress messages. */
  readonly log?: (msg: string) => void;
}

/** How the token endpoint fails while `fail()` is in force. */
export interface OAuthFailure {
  /** HTTP status (default 503). */
  readonly status?: number;
  /** OAuth `error` code of the body (default `temporarily_unavailable`). */
  readonly error?: string;
  /** Fail only the next N token requests, then recover by itself (default: until `recover()`). */
  readonly requests?: number;
}

export interface OAuthCounts {
  /** Requests to the token endpoint, whatever their outcome. */
  readonly tokenRequests: number;
  /** Access tokens issued. */
  readonly tokensIssued: number;
  /** Token requests refused because of `fail()`. */
  readonly failedRequests: number;
  /** Token requests refused for bad client credentials (`invalid_client`). */
  readonly invalidClient: number;
  /** Requests to the JWKS. */
  readonly jwksRequests: number;
}

export interface IssueOptions {
  readonly sub?: string;
  readonly scope?: string;
  readonly audience?: string;
  readonly lifetimeSeconds?: number;
  readonly clientId?: string;
}

export interface OAuthServerInfo {
  /** `http://127.0.0.1:port` — also the `iss` of the tokens. */
  readonly url: string;
  readonly issuer: string;
  readonly tokenEndpoint: string;
  readonly jwksUrl: string;
  readonly discoveryUrl: string;
  /** Default `aud` of the tokens. */
  readonly audience: string;
}

export interface OAuthServerHandle extends OAuthServerInfo {
  /** Counters since start (or the last `resetCounts()`). */
  counts(): OAuthCounts;
  resetCounts(): void;
  /** Makes the token endpoint fail until `recover()` (or for the next `requests` requests). */
  fail(how?: OAuthFailure): void;
  /** Ends a `fail()`. */
  recover(): void;
  /** Lifetime in seconds of tokens issued from now on. */
  setLifetime(seconds: number): void;
  /** Mints a token directly, as the token endpoint would (not counted as a request). */
  issue(options?: IssueOptions): string;
  /** `OAUTH_TOKEN_ENDPOINT`, `OAUTH_JWKS_URL`, `OAUTH_ISSUER` (prefix `OAUTH` unless given). */
  env(prefix?: string): Record<string, string>;
  info(): OAuthServerInfo;
  stop(): Promise<void>;
}

export const DEFAULT_OAUTH_CLIENTS: Readonly<Record<string, OAuthClientSpec>> = {
  gateway: { secret: 'gateway-secret' },
};

const b64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

interface Signer {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly jwk: Record<string, unknown>;
}

function makeSigner(): Signer {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = randomBytes(8).toString('hex');
  const { n, e } = publicKey.export({ format: 'jwk' });
  return { kid, privateKey, jwk: { kty: 'RSA', use: 'sig', alg: 'RS256', kid, n, e } };
}

/** A compact JWS (RFC 7515) over `claims`, RS256 (RFC 7518 §3.3). */
function signJwt(signer: Signer, claims: Record<string, unknown>): string {
  const header = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: signer.kid }));
  const payload = b64url(JSON.stringify(claims));
  const signature = sign('sha256', Buffer.from(`${header}.${payload}`), signer.privateKey);
  return `${header}.${payload}.${b64url(signature)}`;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function readBody(req: IncomingMessage, limit = 64 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) reject(new Error('body too large'));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** RFC 6749 §5.2 error response. */
function oauthError(
  res: ServerResponse,
  status: number,
  error: string,
  description: string,
  headers: Record<string, string> = {},
): void {
  json(res, status, { error, error_description: description }, { 'cache-control': 'no-store', ...headers });
}

/** `application/x-www-form-urlencoded` decoding of one component (RFC 6749 Appendix B). */
function formDecode(value: string): string {
  return decodeURIComponent(value.replace(/\+/g, ' '));
}

/** Starts the server on 127.0.0.1; resolves once it listens. */
export async function startOAuthServer(opts: StartOAuthServerOptions = {}): Promise<OAuthServerHandle> {
  const clients = opts.clients ?? DEFAULT_OAUTH_CLIENTS;
  const log = opts.log ?? (() => undefined);
  const defaultAudience = opts.audience ?? 'kafka';
  let lifetime = opts.lifetimeSeconds ?? 300;
  const signer = makeSigner();
  let counts = { tokenRequests: 0, tokensIssued: 0, failedRequests: 0, invalidClient: 0, jwksRequests: 0 };
  let failing: { status: number; error: string; left: number | undefined } | undefined;
  let url = '';

  const issue = (o: IssueOptions = {}): string => {
    const now = Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = {
      iss: url,
      sub: o.sub ?? o.clientId ?? 'test-subject',
      aud: o.audience ?? defaultAudience,
      iat: now,
      nbf: now,
      exp: now + (o.lifetimeSeconds ?? lifetime),
      jti: randomUUID(),
    };
    if (o.scope !== undefined && o.scope !== '') claims['scope'] = o.scope;
    if (o.clientId !== undefined) claims['client_id'] = o.clientId;
    return signJwt(signer, claims);
  };

  const onToken = async (req: IncomingMessage, res: ServerResponse) => {
    counts.tokenRequests++;
    if (req.method !== 'POST') {
      oauthError(res, 405, 'invalid_request', 'the token endpoint takes POST', { allow: 'POST' });
      return;
    }
    const body = await readBody(req);
    if (failing !== undefined) {
      counts.failedRequests++;
      const { status, error } = failing;
      if (failing.left !== undefined && --failing.left <= 0) failing = undefined;
      oauthError(res, status, error, 'the authorization server was told to fail');
      return;
    }
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/x-www-form-urlencoded') {
      oauthError(res, 400, 'invalid_request', 'the body must be application/x-www-form-urlencoded');
      return;
    }
    const params = new URLSearchParams(body);
    // Client authentication: HTTP Basic (RFC 6749 §2.3.1, each part form-encoded) or the body,
    // never both (§2.3).
    let clientId: string | undefined;
    let secret: string | undefined;
    let basic = false;
    const authorization = req.headers.authorization;
    if (authorization !== undefined && /^basic /i.test(authorization)) {
      basic = true;
      const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) {
        oauthError(res, 400, 'invalid_request', 'malformed Basic credentials');
        return;
      }
      clientId = formDecode(decoded.slice(0, colon));
      secret = formDecode(decoded.slice(colon + 1));
      if (params.has('client_secret')) {
        oauthError(res, 400, 'invalid_request', 'more than one client authentication method');
        return;
      }
    } else {
      clientId = params.get('client_id') ?? undefined;
      secret = params.get('client_secret') ?? undefined;
    }
    const client = clientId === undefined ? undefined : clients[clientId];
    if (clientId === undefined || secret === undefined || !client || !sameSecret(secret, client.secret)) {
      counts.invalidClient++;
      oauthError(
        res,
        401,
        'invalid_client',
        'client authentication failed',
        basic ? { 'www-authenticate': 'Basic realm="tributary-test"' } : {},
      );
      return;
    }
    if (params.get('grant_type') !== 'client_credentials') {
      oauthError(res, 400, 'unsupported_grant_type', 'only client_credentials is supported');
      return;
    }
    const asked = (params.get('scope') ?? '').split(' ').filter((s) => s !== '');
    const allowed = client.scope?.split(' ').filter((s) => s !== '');
    if (allowed !== undefined && asked.some((s) => !allowed.includes(s))) {
      oauthError(res, 400, 'invalid_scope', `scope not allowed for client ${clientId}`);
      return;
    }
    const scope = (asked.length > 0 ? asked : (allowed ?? [])).join(' ');
    const audience = params.get('audience') ?? undefined;
    const token = issue({
      sub: client.sub ?? clientId,
      clientId,
      scope,
      ...(audience === undefined ? {} : { audience }),
    });
    counts.tokensIssued++;
    // RFC 6749 §5.1: no caching of token responses.
    json(
      res,
      200,
      { access_token: token, token_type: 'Bearer', expires_in: lifetime, ...(scope ? { scope } : {}) },
      { 'cache-control': 'no-store', pragma: 'no-cache' },
    );
  };

  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/oauth2/token' || path === '/token') {
      onToken(req, res).catch((error: unknown) => {
        if (!res.headersSent) oauthError(res, 400, 'invalid_request', String(error));
        else res.destroy();
      });
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      json(res, 405, { error: 'method not allowed' }, { allow: 'GET' });
      return;
    }
    if (path === '/.well-known/jwks.json') {
      counts.jwksRequests++;
      json(res, 200, { keys: [signer.jwk] });
      return;
    }
    if (path === '/.well-known/openid-configuration' || path === '/.well-known/oauth-authorization-server') {
      json(res, 200, {
        issuer: url,
        token_endpoint: `${url}/oauth2/token`,
        jwks_uri: `${url}/.well-known/jwks.json`,
        grant_types_supported: ['client_credentials'],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
        response_types_supported: ['token'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        token_endpoint_auth_signing_alg_values_supported: ['RS256'],
      });
      return;
    }
    json(res, 404, { error: 'not found' });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: opts.port ?? 0 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  url = `http://127.0.0.1:${port}`;
  const info: OAuthServerInfo = {
    url,
    issuer: url,
    tokenEndpoint: `${url}/oauth2/token`,
    jwksUrl: `${url}/.well-known/jwks.json`,
    discoveryUrl: `${url}/.well-known/openid-configuration`,
    audience: defaultAudience,
  };
  log(`OAuth server on ${url} (${Object.keys(clients).length} clients, tokens for ${lifetime} s)`);
  let stopping: Promise<void> | undefined;
  return {
    ...info,
    counts: () => ({ ...counts }),
    resetCounts: () => {
      counts = { tokenRequests: 0, tokensIssued: 0, failedRequests: 0, invalidClient: 0, jwksRequests: 0 };
    },
    fail: (how = {}) => {
      failing = {
        status: how.status ?? 503,
        error: how.error ?? 'temporarily_unavailable',
        left: how.requests,
      };
    },
    recover: () => {
      failing = undefined;
    },
    setLifetime: (seconds) => {
      lifetime = seconds;
    },
    issue,
    env: (prefix = 'OAUTH') => ({
      [`${prefix}_TOKEN_ENDPOINT`]: info.tokenEndpoint,
      [`${prefix}_JWKS_URL`]: info.jwksUrl,
      [`${prefix}_ISSUER`]: info.issuer,
      [`${prefix}_DISCOVERY_URL`]: info.discoveryUrl,
      [`${prefix}_AUDIENCE`]: info.audience,
    }),
    info: () => ({ ...info }),
    stop: () => {
      stopping ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return stopping;
    },
  };
}
