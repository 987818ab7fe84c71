// Options of the client kind: schema errors at the right pointers, cross-field checks, TLS
// material that cannot be loaded, defaults and backoff. No broker needed: nothing here connects
// (a valid configuration points at a closed port and is stopped at once).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isTributaryError, type TributaryError } from '@tributary/kernel';
import { createTestKernel } from '@tributary/kernel/testkit';
import { plugin } from '../../src/plugin.ts';
import { backoff, CLIENT_DEFAULTS, resolveClientOptions } from '../../src/config/options.ts';
import { gatewayConfig, type GatewayExtras } from './helpers.ts';

const OPTIONS = '/bindings/kafka_client/options';

async function attempt(options: unknown, extras: GatewayExtras = {}): Promise<TributaryError> {
  const result = await createTestKernel({
    config: gatewayConfig(options as never, extras),
    plugins: [plugin],
    logLevel: 'silent',
    ...(extras.env === undefined ? {} : { env: extras.env }),
  }).then(
    async (harness) => {
      await harness.stop();
      return undefined;
    },
    (error: unknown) => error,
  );
  if (!isTributaryError(result)) throw new Error(`expected a TributaryError, got ${String(result)}`);
  return result;
}

const OAUTH = { tokenEndpoint: 'https://idp.example/oauth2/token', clientId: 'gw', clientSecret: 's' };

const issues = (error: TributaryError) => error.issues.map((issue) => [issue.code, issue.pointer]);

describe('kafka client options', () => {
  const cases: [string, unknown, string, string][] = [
    ['servers missing', {}, 'TRIB_CONFIG_SCHEMA', `${OPTIONS}/servers`],
    ['servers empty', { servers: [] }, 'TRIB_CONFIG_SCHEMA', `${OPTIONS}/servers`],
    ['a server without a port', { servers: ['kafka.local'] }, 'TRIB_CONFIG_SCHEMA', `${OPTIONS}/servers/0`],
    [
      'an unknown option',
      { servers: ['k:9092'], bootstrap: ['x'] },
      'TRIB_CONFIG_SCHEMA',
      `${OPTIONS}/bootstrap`,
    ],
    [
      'a bad SASL mechanism',
      { servers: ['k:9092'], sasl: { mechanism: 'kerberos' } },
      'TRIB_CONFIG_SCHEMA',
      `${OPTIONS}/sasl/mechanism`,
    ],
    [
      'SCRAM without a password',
      { servers: ['k:9092'], sasl: { mechanism: 'scram-sha-256', username: 'u' } },
      'TRIB_CONFIG_SCHEMA',
      `${OPTIONS}/sasl/password`,
    ],
    [
      'OAUTHBEARER without a token source',
      { servers: ['k:9092'], sasl: { mechanism: 'oauthbearer' } },
      'TRIB_KAFKA_OPTIONS',
      `${OPTIONS}/sasl`,
    ],
    [
      'OAUTHBEARER with two token sources',
      { servers: ['k:9092'], sasl: { mechanism: 'oauthbearer', token: 't', oauth: OAUTH } },
      'TRIB_KAFKA_OPTIONS',
      `${OPTIONS}/sasl/oauth`,
    ],
    [
      'OAUTHBEARER from a guard that is not defined',
      { servers: ['k:9092'], sasl: { mechanism: 'oauthbearer', guard: 'nope' } },
      'TRIB_KAFKA_OPTIONS',
      `${OPTIONS}/sasl/guard`,
    ],
    [
      'oauth with PLAIN',
      { servers: ['k:9092'], sasl: { mechanism: 'plain', username: 'u', password: 'p', oauth: OAUTH } },
      'TRIB_KAFKA_OPTIONS',
      `${OPTIONS}/sasl/oauth`,
    ],
    [
      'oauth without a client secret',
      {
        servers: ['k:9092'],
        sasl: { mechanism: 'oauthbearer', oauth: { tokenEndpoint: 'https://idp/token', clientId: 'c' } },
      },
      'TRIB_CONFIG_SCHEMA',
      `${OPTIONS}/sasl/oauth/clientSecret`,
    ],
    [
      'oauth with a token endpoint that is not http(s)',
      {
        servers: ['k:9092'],
        sasl: { mechanism: 'oauthbearer', oauth: { ...OAUTH, tokenEndpoint: 'ftp://x' } },
      },
      'TRIB_CONFIG_SCHEMA',
      `${OPTIONS}/sasl/oauth/tokenEndpoint`,
    ],
    [
      'oauth with credentials in the token endpoint',
      {
        servers: ['k:9092'],
        sasl: { mechanism: 'oauthbearer', oauth: { ...OAUTH, tokenEndpoint: 'https://a:b@idp/token' } },
      },
      'TRIB_KAFKA_OPTIONS',
      `${OPTIONS}/sasl/oauth/tokenEndpoint`,
    ],
    [
      'oauth trusting a vault alias without a vault',
      {
        servers: ['k:9092'],
        sasl: { mechanism: 'oauthbearer', oauth: { ...OAUTH, tls: { ca: { vault: 'idp' } } } },
      },
      'TRIB_KAFKA_OPTIONS',
      `${OPTIONS}/sasl/oauth/tls/ca/vault`,
    ],
    [
      'a TLS source with both file and vault',
      { servers: ['k:9092'], tls: { ca: { file: 'a', vault: 'b' } } },
      'TRIB_CONFIG_SCHEMA',
      `${OPTIONS}/tls/ca`,
    ],
    [
      'a client certificate without its key',
      { servers: ['k:9092'], tls: { cert: { file: 'c.pem' } } },
      'TRIB_CONFIG_SCHEMA',
      `${OPTIONS}/tls`,
    ],
    [
      'an option to skip verification',
      { servers: ['k:9092'], tls: { rejectUnauthorized: false } },
      'TRIB_CONFIG_SCHEMA',
      `${OPTIONS}/tls/rejectUnauthorized`,
    ],
    [
      'a bad compression',
      { servers: ['k:9092'], produce: { compression: 'brotli' } },
      'TRIB_CONFIG_SCHEMA',
      `${OPTIONS}/produce/compression`,
    ],
    [
      'a short token key',
      { servers: ['k:9092'], token: { key: 'short' } },
      'TRIB_CONFIG_SCHEMA',
      `${OPTIONS}/token/key`,
    ],
    [
      'a negative timeout',
      { servers: ['k:9092'], requestTimeoutMs: -1 },
      'TRIB_CONFIG_SCHEMA',
      `${OPTIONS}/requestTimeoutMs`,
    ],
    [
      'a max retry delay below the first',
      { servers: ['k:9092'], retryDelayMs: 500, retryDelayMaxMs: 100 },
      'TRIB_KAFKA_OPTIONS',
      `${OPTIONS}/retryDelayMaxMs`,
    ],
    [
      'a group heartbeat longer than the session',
      { servers: ['k:9092'], group: { sessionTimeoutMs: 3_000, heartbeatIntervalMs: 5_000 } },
      'TRIB_KAFKA_OPTIONS',
      `${OPTIONS}/group/heartbeatIntervalMs`,
    ],
    [
      'a rebalance timeout below the session timeout',
      { servers: ['k:9092'], group: { sessionTimeoutMs: 30_000 } },
      'TRIB_KAFKA_OPTIONS',
      `${OPTIONS}/group/rebalanceTimeoutMs`,
    ],
    [
      'an unknown group option',
      { servers: ['k:9092'], group: { sessionTimeout: 3_000 } },
      'TRIB_CONFIG_SCHEMA',
      `${OPTIONS}/group/sessionTimeout`,
    ],
    [
      'a vault alias without a vault',
      { servers: ['k:9092'], tls: { ca: { vault: 'ca' } } },
      'TRIB_KAFKA_OPTIONS',
      `${OPTIONS}/tls/ca/vault`,
    ],
    [
      'idempotence without acks all',
      { servers: ['k:9092'], produce: { idempotent: true, acks: 'leader' } },
      'TRIB_KAFKA_OPTIONS',
      `${OPTIONS}/produce/idempotent`,
    ],
    [
      'a token with SCRAM',
      { servers: ['k:9092'], sasl: { mechanism: 'plain', username: 'u', password: 'p', token: 't' } },
      'TRIB_KAFKA_OPTIONS',
      `${OPTIONS}/sasl/token`,
    ],
  ];
  for (const [label, options, code, pointer] of cases) {
    it(`refuses ${label}: ${code} at ${pointer}`, async () => {
      const error = await attempt(options);
      expect(error.code).toBe('TRIB_CONFIG_INVALID');
      expect(issues(error)).toContainEqual([code, pointer]);
    });
  }

  it('takes a guard that is defined, and refuses at start one that lends no credentials', async () => {
    const guards = (options: object) => ({ top: { guards: { idp: { type: 'test', options } } } });
    const error = await attempt(
      { servers: ['127.0.0.1:1'], sasl: { mechanism: 'oauthbearer', guard: 'idp' } },
      guards({ credentials: { x: {} } }),
    );
    expect(error.code).toBe('TRIB_LIFECYCLE_START_FAILED');
    const cause = error.cause as TributaryError;
    expect(cause.code).toBe('TRIB_KAFKA_OPTIONS');
    expect(issues(cause)).toEqual([['TRIB_KAFKA_OPTIONS', `${OPTIONS}/sasl/guard`]]);
    expect(cause.message).toMatch(/cannot lend credentials/);

    const harness = await createTestKernel({
      config: gatewayConfig(
        { servers: ['127.0.0.1:1'], sasl: { mechanism: 'oauthbearer', guard: 'idp' } },
        guards({ outbound: { token: 't' } }),
      ),
      plugins: [plugin],
      logLevel: 'silent',
    });
    await harness.stop();
  });

  it('refuses, when the binding is created, an OAuth CA file that does not exist', async () => {
    const error = await attempt({
      servers: ['127.0.0.1:1'],
      sasl: { mechanism: 'oauthbearer', oauth: { ...OAUTH, tls: { ca: { file: 'no/such/idp-ca.pem' } } } },
    });
    expect(error.code).toBe('TRIB_LIFECYCLE_START_FAILED');
    expect(issues(error.cause as TributaryError)).toEqual([
      ['TRIB_KAFKA_OPTIONS', `${OPTIONS}/sasl/oauth/tls/ca/file`],
    ]);
  });

  it('reports every problem at once', async () => {
    const error = await attempt({ servers: [], sasl: { mechanism: 'nope' }, produce: { acks: 2 } });
    expect(issues(error).map(([, pointer]) => pointer)).toEqual(
      expect.arrayContaining([`${OPTIONS}/servers`, `${OPTIONS}/sasl/mechanism`, `${OPTIONS}/produce/acks`]),
    );
  });

  it('refuses, when the binding is created, TLS files that do not exist, pointing at the option', async () => {
    const error = await attempt({ servers: ['127.0.0.1:1'], tls: { ca: { file: 'no/such/ca.pem' } } });
    expect(error.code).toBe('TRIB_LIFECYCLE_START_FAILED');
    const cause = error.cause;
    expect(isTributaryError(cause) && cause.code).toBe('TRIB_KAFKA_OPTIONS');
    expect(isTributaryError(cause) && issues(cause)).toEqual([
      ['TRIB_KAFKA_OPTIONS', `${OPTIONS}/tls/ca/file`],
    ]);
    expect(error.message).toMatch(/no\/such\/ca\.pem/);
  });

  it('refuses a TLS file that holds no PEM, and a vault alias the vault does not hold', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tributary-kafka-options-'));
    const notPem = path.join(dir, 'ca.txt');
    writeFileSync(notPem, 'not a certificate');
    const error = await attempt(
      {
        servers: ['127.0.0.1:1'],
        tls: { ca: { file: notPem }, cert: { vault: 'missing' }, key: { vault: 'missing' } },
      },
      { top: { vaults: { certs: { type: 'filesystem', options: {} } } }, binding: { vault: 'certs' } },
    );
    const cause = error.cause as TributaryError;
    expect(issues(cause)).toEqual([
      ['TRIB_KAFKA_OPTIONS', `${OPTIONS}/tls/ca/file`],
      ['TRIB_KAFKA_OPTIONS', `${OPTIONS}/tls/cert/vault`],
      ['TRIB_KAFKA_OPTIONS', `${OPTIONS}/tls/key/vault`],
    ]);
  });

  it('starts without Kafka and takes secrets from the environment', async () => {
    const harness = await createTestKernel({
      config: gatewayConfig({
        servers: ['127.0.0.1:1'],
        sasl: { mechanism: 'scram-sha-512', username: 'gateway', password: '${{ env.KAFKA_PASSWORD }}' },
      }),
      plugins: [plugin],
      env: { KAFKA_PASSWORD: 's3cret-value' },
      logLevel: 'debug',
    });
    expect(harness.gateway.state).toBe('running');
    await harness.stop();
    expect(JSON.stringify(harness.logs)).not.toContain('s3cret-value');
  });

  it('fills in defaults', () => {
    const resolved = resolveClientOptions({
      servers: ['k:9092'],
      produce: { acks: 'leader' },
      token: { key: 'a-key-of-16-chars' },
    });
    expect(resolved.produce).toEqual({ ...CLIENT_DEFAULTS.produce, acks: 'leader' });
    expect(resolved.fetch).toEqual(CLIENT_DEFAULTS.fetch);
    expect(resolved.requestTimeoutMs).toBe(30_000);
    expect(Buffer.from(resolved.tokenKey!).toString()).toBe('a-key-of-16-chars');
  });

  it('backs off exponentially, capped, with jitter', () => {
    const options = { retryDelayMs: 100, retryDelayMaxMs: 1_000 };
    const middle = () => 0.5;
    expect([1, 2, 3, 4, 5, 10].map((attempt) => backoff(options, attempt, middle))).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
    expect(backoff(options, 1, () => 0)).toBe(80);
    expect(backoff(options, 1, () => 1)).toBe(120);
  });
});
