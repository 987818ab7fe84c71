// The pure pieces of configuration: route conditions, and the cross-field checks the schema
// cannot express (each refused with TRIB_HTTP_OPTIONS at a JSON pointer).
import { describe, expect, it } from 'vitest';
import { isTributaryError } from '@tributary/kernel';
import { matchWhen, type RequestFacts } from '../../src/config/when.ts';
import { gateway, startGateway } from '../helpers.ts';

const facts = (path: string, extra: Partial<RequestFacts> = {}): RequestFacts => ({
  method: 'GET',
  authority: 'api.example.com:8080',
  path,
  headers: [],
  ...extra,
});

describe('http when', () => {
  it('matches path prefixes on segment boundaries, patterns whole, and captures params', () => {
    expect(matchWhen({ path: '/api' }, facts('/api'))).toEqual({});
    expect(matchWhen({ path: '/api' }, facts('/api/items'))).toEqual({});
    expect(matchWhen({ path: '/api' }, facts('/apis'))).toBeUndefined();
    expect(matchWhen({ path: '/api/' }, facts('/api/x'))).toEqual({});
    expect(matchWhen({ path: '/files/*.json' }, facts('/files/a/b.json'))).toEqual({});
    expect(matchWhen({ path: '/files/*.json' }, facts('/files/a.json.bak'))).toBeUndefined();
    expect(matchWhen({ path: '/items/{id}' }, facts('/items/a%20b'))).toEqual({ id: 'a b' });
  });

  it('matches authority case-insensitively with wildcards, methods exactly, headers by value', () => {
    expect(matchWhen({ authority: '*.EXAMPLE.com:*' }, facts('/'))).toEqual({});
    expect(matchWhen({ authority: 'example.com' }, facts('/'))).toBeUndefined();
    expect(matchWhen({ method: 'get' }, facts('/'))).toBeUndefined();
    const headers = [{ name: 'x-tenant', value: 'acme-eu' }];
    expect(matchWhen({ headers: { 'X-Tenant': 'acme-*' } }, facts('/', { headers }))).toEqual({});
    expect(matchWhen({ headers: { 'x-tenant': 'other' } }, facts('/', { headers }))).toBeUndefined();
  });
});

async function issues(options: object, extra: Record<string, object> = {}): Promise<[string, string][]> {
  const error = await startGateway(
    gateway(
      {
        north: {
          type: 'http',
          kind: 'server',
          options: { listen: { port: 0, host: '127.0.0.1' }, ...options },
          exit: 'far',
        },
        far: { type: 'test', kind: 'client' },
      },
      extra,
    ),
  ).then(
    async (h) => {
      await h.stop();
      return undefined;
    },
    (e: unknown) => e,
  );
  if (!isTributaryError(error)) throw new Error('the configuration was accepted');
  // Problems found when the binding is created arrive as the cause of the start failure.
  const cause = error.cause;
  const all = [...error.issues, ...(isTributaryError(cause) ? cause.issues : [])];
  return all.map((issue) => [issue.code, issue.pointer]);
}

describe('http options checks', () => {
  it('refuses a TLS listener without tls options, clientAuth without ca, credentials for every origin', async () => {
    expect(
      await issues({
        listen: [{ port: 0, tls: true }],
        cors: { origins: '*', credentials: true },
        trustedProxies: ['10.0.0.0/33'],
        authorization: { nobody: { credentials: { headers: { authorization: 'Bearer {credentials}' } } } },
      }),
    ).toEqual(
      expect.arrayContaining([
        ['TRIB_HTTP_OPTIONS', '/bindings/north/options/listen/0/tls'],
        ['TRIB_HTTP_OPTIONS', '/bindings/north/options/cors/credentials'],
        ['TRIB_HTTP_OPTIONS', '/bindings/north/options/trustedProxies/0'],
        ['TRIB_HTTP_OPTIONS', '/bindings/north/options/authorization/nobody'],
      ]),
    );
    expect(
      await issues({ tls: { key: { file: 'k.pem' }, cert: { file: 'c.pem' }, clientAuth: 'require' } }),
    ).toContainEqual(['TRIB_HTTP_OPTIONS', '/bindings/north/options/tls/clientAuth']);
  });

  it('refuses TLS files that cannot be read when the binding is created', async () => {
    expect(
      await issues({ tls: { key: { file: '/nonexistent/k.pem' }, cert: { file: '/nonexistent/c.pem' } } }),
    ).toContainEqual(['TRIB_HTTP_OPTIONS', '/bindings/north/options/tls/key/file']);
  });
});
