// The test OAuth server: client-credentials tokens that verify against its own JWKS, both client
// authentication methods, refusals, counters and the failure switch.
import { createPublicKey, verify } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { startOAuthServer, type OAuthServerHandle } from '../oauth/index.ts';

let server: OAuthServerHandle | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

async function verifyJwt(s: OAuthServerHandle, jwt: string): Promise<Record<string, unknown>> {
  const [header, payload, signature] = jwt.split('.') as [string, string, string];
  const { kid, alg } = JSON.parse(Buffer.from(header, 'base64url').toString()) as {
    kid: string;
    alg: string;
  };
  expect(alg).toBe('RS256');
  const jwks = (await (await fetch(s.jwksUrl)).json()) as { keys: { kid: string }[] };
  const jwk = jwks.keys.find((k) => k.kid === kid);
  expect(jwk).toBeDefined();
  const key = createPublicKey({ key: jwk as never, format: 'jwk' });
  expect(
    verify('sha256', Buffer.from(`${header}.${payload}`), key, Buffer.from(signature, 'base64url')),
  ).toBe(true);
  return JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
}

describe('tools/oauth', () => {
  it('issues RS256 tokens for client_secret_basic and client_secret_post that verify against the JWKS', async () => {
    server = await startOAuthServer({
      clients: { gw: { secret: 's3cret:+/', sub: 'gateway-principal', scope: 'kafka.read kafka.write' } },
      lifetimeSeconds: 15,
    });
    const viaBasic = await fetch(server.tokenEndpoint, {
      method: 'POST',
      headers: { ...FORM, authorization: basic('gw', 's3cret:+/') },
      body: form({ grant_type: 'client_credentials', scope: 'kafka.read' }),
    });
    expect(viaBasic.status).toBe(200);
    expect(viaBasic.headers.get('cache-control')).toBe('no-store');
    const token = (await viaBasic.json()) as Record<string, unknown>;
    expect(token).toMatchObject({ token_type: 'Bearer', expires_in: 15, scope: 'kafka.read' });
    const claims = await verifyJwt(server, token['access_token'] as string);
    expect(claims).toMatchObject({
      iss: server.issuer,
      sub: 'gateway-principal',
      aud: 'kafka',
      scope: 'kafka.read',
      client_id: 'gw',
    });
    expect((claims['exp'] as number) - (claims['iat'] as number)).toBe(15);

    const viaPost = await fetch(server.tokenEndpoint, {
      method: 'POST',
      headers: FORM,
      body: form({
        grant_type: 'client_credentials',
        client_id: 'gw',
        client_secret: 's3cret:+/',
        audience: 'x',
      }),
    });
    const posted = (await viaPost.json()) as Record<string, unknown>;
    expect(await verifyJwt(server, posted['access_token'] as string)).toMatchObject({
      aud: 'x',
      scope: 'kafka.read kafka.write',
    });
    expect(server.counts()).toMatchObject({ tokenRequests: 2, tokensIssued: 2, invalidClient: 0 });

    const discovery = (await (await fetch(server.discoveryUrl)).json()) as Record<string, unknown>;
    expect(discovery).toMatchObject({
      issuer: server.issuer,
      token_endpoint: server.tokenEndpoint,
      jwks_uri: server.jwksUrl,
    });
  });

  it('refuses bad clients, grants, scopes and bodies with RFC 6749 errors', async () => {
    server = await startOAuthServer({ clients: { gw: { secret: 'right', scope: 'a' } } });
    const post = (headers: Record<string, string>, body: string) =>
      fetch(server!.tokenEndpoint, { method: 'POST', headers, body }).then(async (r) => ({
        status: r.status,
        body: (await r.json()) as { error: string },
        challenge: r.headers.get('www-authenticate'),
      }));
    const wrong = await post(
      { ...FORM, authorization: basic('gw', 'wrong') },
      form({ grant_type: 'client_credentials' }),
    );
    expect(wrong).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect(wrong.challenge).toMatch(/^Basic/);
    expect(
      await post({ ...FORM, authorization: basic('gw', 'right') }, form({ grant_type: 'password' })),
    ).toMatchObject({ status: 400, body: { error: 'unsupported_grant_type' } });
    expect(
      await post(
        { ...FORM, authorization: basic('gw', 'right') },
        form({ grant_type: 'client_credentials', scope: 'b' }),
      ),
    ).toMatchObject({ status: 400, body: { error: 'invalid_scope' } });
    expect(
      await post(
        { 'content-type': 'application/json' },
        JSON.stringify({ grant_type: 'client_credentials' }),
      ),
    ).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect(server.counts()).toMatchObject({ tokenRequests: 4, tokensIssued: 0, invalidClient: 1 });
  });

  it('fails while told to, then issues again', async () => {
    server = await startOAuthServer();
    const ask = () =>
      fetch(server!.tokenEndpoint, {
        method: 'POST',
        headers: { ...FORM, authorization: basic('gateway', 'gateway-secret') },
        body: form({ grant_type: 'client_credentials' }),
      }).then((r) => r.status);
    server.fail();
    expect([await ask(), await ask()]).toEqual([503, 503]);
    server.recover();
    expect(await ask()).toBe(200);
    server.fail({ status: 500, error: 'server_error', requests: 1 });
    expect([await ask(), await ask()]).toEqual([500, 200]);
    expect(server.counts()).toMatchObject({ tokenRequests: 5, tokensIssued: 2, failedRequests: 3 });
  });

  it('mints tokens directly with the same key', async () => {
    server = await startOAuthServer({ lifetimeSeconds: 60 });
    const claims = await verifyJwt(server, server.issue({ sub: 'direct', lifetimeSeconds: 5 }));
    expect(claims).toMatchObject({ sub: 'direct', iss: server.issuer });
    expect((claims['exp'] as number) - (claims['iat'] as number)).toBe(5);
    expect(server.counts().tokenRequests).toBe(0);
  });
});
