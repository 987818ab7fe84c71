// Requests reach the exit their route picks: by authority, path, method and headers; requests no
// route takes get 404, guarded routes 401 or 403, each as an RFC 9457 problem document.
import { afterEach, describe, expect, it } from 'vitest';
import type { TestHarness } from '@tributary/kernel/testkit';
import { header, headerValues, isHttpBegin } from '../../src/index.ts';
import { curl, gateway, problemOf, request, startGateway, urlOf } from '../helpers.ts';

let harness: TestHarness | undefined;
afterEach(async () => {
  await harness?.stop(1_000);
  harness = undefined;
});

const routed = () =>
  gateway({
    north: {
      type: 'http',
      kind: 'server',
      options: { listen: { host: '127.0.0.1', port: 0 } },
      routes: [
        { when: [{ authority: 'api.example.com:*' }], exit: 'api' },
        { when: [{ path: '/items/{id}', method: 'PUT' }], exit: 'items' },
        { when: [{ path: '/files/*.json' }], exit: 'files' },
        { when: [{ path: '/tenant', headers: { 'x-tenant': 'acme-*' } }], exit: 'tenant' },
      ],
    },
    api: { type: 'test', kind: 'client', options: { mode: 'echo' } },
    items: { type: 'test', kind: 'client', options: { mode: 'echo' } },
    files: { type: 'test', kind: 'client', options: { mode: 'echo' } },
    tenant: { type: 'test', kind: 'client', options: { mode: 'echo' } },
  });

describe('http server: routing', () => {
  it('passes the request head to the exit with pseudo-headers first', async () => {
    harness = await startGateway(routed());
    const url = urlOf(harness);
    const res = await curl([
      '-X',
      'PUT',
      '-H',
      'content-type: text/plain',
      '-H',
      'x-a: 1',
      '-H',
      'x-a: 2',
      '--data-binary',
      'hello',
      `${url}/items/42?x=1`,
    ]);
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('hello');
    const begin = harness.client('items').begins[0];
    expect(isHttpBegin(begin)).toBe(true);
    if (!isHttpBegin(begin)) return;
    expect(begin.headers.slice(0, 4).map((h) => h.name)).toEqual([
      ':method',
      ':scheme',
      ':authority',
      ':path',
    ]);
    expect(header(begin, ':method')).toBe('PUT');
    expect(header(begin, ':scheme')).toBe('http');
    expect(header(begin, ':path')).toBe('/items/42?x=1');
    expect(header(begin, ':authority')).toBe(new URL(url).host);
    expect(header(begin, 'content-type')).toBe('text/plain');
    expect(headerValues(begin, 'x-a')).toEqual(['1', '2']);
    expect(header(begin, 'host')).toBeUndefined();
    expect(begin.remote?.address).toBe('127.0.0.1');
  });

  it('routes on authority, path prefix and pattern, method and headers', async () => {
    harness = await startGateway(routed());
    const url = urlOf(harness);
    expect((await curl(['-H', 'host: api.example.com:80', `${url}/anything`])).status).toBe(200);
    expect(harness.client('api').begins).toHaveLength(1);
    expect((await curl([`${url}/files/a/b.json`])).status).toBe(200);
    expect(harness.client('files').begins).toHaveLength(1);
    expect((await curl([`${url}/files/a/b.txt`])).status).toBe(404);
    expect((await curl(['-H', 'x-tenant: acme-eu', `${url}/tenant/x`])).status).toBe(200);
    expect(harness.client('tenant').begins).toHaveLength(1);
    expect((await curl(['-H', 'x-tenant: other', `${url}/tenant/x`])).status).toBe(404);
    expect((await curl([`${url}/tenantx`])).status).toBe(404);
    expect((await curl([`${url}/items/42`])).status).toBe(404);
  });

  it('answers 404 with a problem document when no route matches', async () => {
    harness = await startGateway(routed());
    const res = await curl([`${urlOf(harness)}/nowhere`]);
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(problemOf(res.body)).toEqual({
      type: 'urn:tributary:error:TRIB_HTTP_NOT_FOUND',
      title: 'Not Found',
      status: 404,
      detail: 'no route for GET /nowhere',
      code: 'TRIB_HTTP_NOT_FOUND',
    });
  });

  it('keeps the connection open after a refused request without a body', async () => {
    harness = await startGateway(routed());
    const url = urlOf(harness);
    const res = await curl(['-v', `${url}/nowhere`, `${url}/files/x.json`]);
    expect(res.status).toBe(404);
    expect(res.stderr).toMatch(/Re-using existing connection/);
  });
});

const guarded = () =>
  gateway(
    {
      north: {
        type: 'http',
        kind: 'server',
        options: {
          listen: { host: '127.0.0.1', port: 0 },
          authorization: {
            jwt0: {
              credentials: {
                headers: { authorization: 'Bearer {credentials}' },
                query: { access_token: '{credentials}' },
                cookies: { access_token: '{credentials}' },
              },
            },
          },
        },
        routes: [
          { when: [{ path: '/admin' }], exit: 'far', guarded: { jwt0: ['admin'] } },
          { when: [{ path: '/private' }], exit: 'far', guarded: { jwt0: [] } },
          { when: [{ path: '/public' }], exit: 'far' },
        ],
      },
      far: { type: 'test', kind: 'client', options: { mode: 'echo' } },
    },
    {
      guards: {
        jwt0: {
          type: 'test',
          options: {
            credentials: { alice: { identity: 'alice', roles: ['admin'] }, bob: { identity: 'bob' } },
            unverifiable: ['later'],
          },
        },
      },
    },
  );

describe('http server: credentials and guards', () => {
  it('authorizes credentials from a header, the query or a cookie and carries the session', async () => {
    harness = await startGateway(guarded());
    const url = urlOf(harness);
    expect((await curl(['-H', 'authorization: Bearer alice', `${url}/admin`])).status).toBe(200);
    expect((await curl([`${url}/admin?access_token=alice`])).status).toBe(200);
    expect((await curl(['-H', 'cookie: theme=dark; access_token=alice', `${url}/admin`])).status).toBe(200);
    expect((await curl(['-H', 'authorization: bearer alice', `${url}/admin`])).status).toBe(200);
    // HTTP/2 (RFC 9113 §8.2.3 lets clients split cookies into several fields).
    expect((await curl(['--http2-prior-knowledge', '-b', 'access_token=alice', `${url}/admin`])).status).toBe(
      200,
    );
    expect(
      (await curl(['--http2-prior-knowledge', '-b', 'theme=dark; access_token=alice', `${url}/admin`]))
        .status,
    ).toBe(200);
  });

  it('answers 503 with Retry-After for credentials the guard cannot verify now, not 401', async () => {
    harness = await startGateway(guarded());
    const url = urlOf(harness);
    const later = await curl(['-H', 'authorization: Bearer later', `${url}/private`]);
    expect(later.status).toBe(503);
    expect(later.headers['retry-after']).toBe('5');
    expect(problemOf(later.body)).toMatchObject({ code: 'TRIB_HTTP_GUARD_UNAVAILABLE', status: 503 });
    // Without credentials the request is routed as usual.
    expect((await curl([`${url}/public`])).status).toBe(200);
    expect((await curl([`${url}/private`])).status).toBe(401);
  });

  it('answers 401 with a challenge without valid credentials, 403 without the roles', async () => {
    harness = await startGateway(guarded());
    const url = urlOf(harness);
    const missing = await curl([`${url}/private`]);
    expect(missing.status).toBe(401);
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="north"');
    expect(problemOf(missing.body)).toMatchObject({ status: 401, code: 'TRIB_HTTP_UNAUTHORIZED' });
    const invalid = await curl(['-H', 'authorization: Bearer mallory', `${url}/private`]);
    expect(invalid.status).toBe(401);
    expect(invalid.headers['www-authenticate']).toBe('Bearer realm="north", error="invalid_token"');
    const forbidden = await curl(['-H', 'authorization: Bearer bob', `${url}/admin`]);
    expect(forbidden.status).toBe(403);
    expect(problemOf(forbidden.body)).toMatchObject({
      status: 403,
      code: 'TRIB_HTTP_FORBIDDEN',
      title: 'Forbidden',
    });
    expect((await curl(['-H', 'authorization: Bearer bob', `${url}/private`])).status).toBe(200);
    expect(harness.client('far').begins).toHaveLength(1);
  });

  it('lets unguarded routes through with invalid credentials or none', async () => {
    harness = await startGateway(guarded());
    const url = urlOf(harness);
    expect((await request(`${url}/public`, { headers: { authorization: 'Bearer mallory' } })).status).toBe(
      200,
    );
    expect((await request(`${url}/public`)).status).toBe(200);
  });
});
