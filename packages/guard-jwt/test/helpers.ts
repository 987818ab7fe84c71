/**
 * Fixtures of the guard tests: key pairs made with jose, tokens signed with them, a JWKS server
 * on loopback (node:http) that counts its requests and can be told to fail, and a guard created
 * through the plugin with a context that records events.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose';
import type { DiagnosticEvent, GuardHandler, GuardSession, PluginContext } from '@tributary/kernel';
import { plugin } from '../src/plugin.ts';
import type { JwtAlgorithm, JwtOptions } from '../src/config/schema.ts';

export const ISSUER = 'https://idp.test/realms/tributary';
export const AUDIENCE = 'tributary';

/** Claims to sign; `undefined` leaves a default claim out. */
type Claims = Readonly<Record<string, unknown>>;

export interface TestKey {
  readonly alg: JwtAlgorithm;
  readonly kid: string;
  /** The public JWK, with `kid` and `alg`. */
  readonly jwk: JWK;
  /** The public key as SPKI PEM text. */
  readonly pem: string;
  /** Signs `claims` (merged over sensible defaults) with this key. */
  sign(claims?: Claims, header?: Record<string, unknown>): Promise<string>;
}

const now = (): number => Math.floor(Date.now() / 1000);

export async function makeKey(alg: JwtAlgorithm, kid: string = `${alg.toLowerCase()}-1`): Promise<TestKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  const pem = await exportSPKI(publicKey);
  return {
    alg,
    kid,
    jwk,
    pem,
    sign: (claims = {}, header = {}) =>
      new SignJWT({
        sub: 'alice',
        iss: ISSUER,
        aud: AUDIENCE,
        iat: now(),
        exp: now() + 300,
        ...claims,
      })
        .setProtectedHeader({ alg, kid, typ: 'JWT', ...header })
        .sign(privateKey),
  };
}

/** A JWT that is not signed: `{"alg":"none"}` and an empty signature (RFC 7519 §6). */
export function unsecured(claims: JWTPayload): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`;
}

/** Serves a JWKS on loopback; `mode` switches between answering, failing and hanging. */
export class JwksServer {
  keys: JWK[];
  mode: 'ok' | 'fail' | 'drop' = 'ok';
  /** Delay before each answer, in ms. */
  delayMs = 0;
  requests = 0;
  readonly url: string;
  private readonly server: Server;

  private constructor(server: Server, keys: JWK[]) {
    this.server = server;
    this.keys = keys;
    const { port } = server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${String(port)}/realms/tributary/certs`;
  }

  static async start(keys: JWK[]): Promise<JwksServer> {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const jwks = new JwksServer(server, keys);
    server.on('request', (req, res) => {
      jwks.requests += 1;
      setTimeout(() => {
        switch (jwks.mode) {
          case 'drop':
            req.socket.destroy();
            return;
          case 'fail':
            res.writeHead(503, { 'content-type': 'text/plain' }).end('down for maintenance');
            return;
          case 'ok':
            res
              .writeHead(200, { 'content-type': 'application/jwk-set+json' })
              .end(JSON.stringify({ keys: jwks.keys }));
        }
      }, jwks.delayMs);
    });
    return jwks;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close');
  }
}

export interface TestGuard {
  readonly handler: GuardHandler;
  readonly events: DiagnosticEvent[];
  /** What the guard held readiness back with, settled. */
  readonly ready: Promise<void>;
  authorize(token: string): Promise<GuardSession>;
}

/** A `jwt` guard named `jwt0`, created and started through the plugin. */
export async function startGuard(options: JwtOptions): Promise<TestGuard> {
  const events: DiagnosticEvent[] = [];
  const holds: Promise<unknown>[] = [];
  const ctx = {
    events: { emit: (event: DiagnosticEvent) => events.push(event) },
    holdReadiness: (_label: string, until: Promise<unknown>) => holds.push(until),
  } as unknown as PluginContext;
  const handler = await plugin.guards['jwt'].create(ctx, { name: 'jwt0', type: 'jwt', options });
  await handler.start?.();
  stopLater.push(handler);
  const ready = Promise.all(holds).then(() => undefined);
  return {
    handler,
    events,
    ready,
    async authorize(token) {
      const result = await handler.authorize(token);
      if (!result.ok) throw new Error(`refused: ${result.failure.code} ${result.failure.message}`);
      return result.session;
    },
  };
}

const stopLater: GuardHandler[] = [];

/** Stops the guards started by the test (their retry timers); call from afterEach. */
export async function stopGuards(): Promise<void> {
  for (const handler of stopLater.splice(0)) await handler.stop?.();
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export const names = (events: readonly DiagnosticEvent[]): string[] => events.map((event) => event.name);
