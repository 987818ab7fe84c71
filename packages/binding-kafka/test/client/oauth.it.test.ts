// OAUTHBEARER against a broker that validates JWTs: a broker of its own with a SASL_PLAINTEXT
// listener running Kafka's OAuthBearerValidatorCallbackHandler against the JWKS of the test OAuth
// server (tools/oauth), and `connections.max.reauth.ms` so that connections must re-authenticate
// (KIP-368). Tokens live 15 s: streams that keep working for longer prove that fresh tokens reach
// both new connections and re-authentications.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TestHarness } from '@tributary/kernel/testkit';
import { startKafka, type KafkaHandle } from '../../../../tools/kafka/broker.ts';
import { uniqueTopic } from '../../../../tools/it/context.ts';
import { startOAuthServer, type OAuthServerHandle } from '../../../../tools/oauth/index.ts';
import type { KafkaClientOptions, KafkaOAuthOptions } from '../../src/config/options.ts';
import {
  close,
  createTopic,
  dec,
  eventually,
  failure,
  open,
  produce,
  send,
  sleep,
  startGateway,
  waitAnswers,
  waitRecords,
  type GatewayExtras,
} from './helpers.ts';

const TOKEN_LIFETIME_S = 15;
const REAUTH_MS = 10_000;
const SECRET = 'gateway-secret-value';
/** Kafka protocol: SaslAuthenticate (API key 36). */
const SASL_AUTHENTICATE = 36;

let oauth: OAuthServerHandle;
let broker: KafkaHandle;
let listener: string;

/** SaslAuthenticate requests per library connection: more than one means it re-authenticated. */
const authentications = new Map<object, number>();
const onRequest = (message: unknown) => {
  const { apiKey, connection } = message as { apiKey?: number; connection?: object };
  if (apiKey === SASL_AUTHENTICATE && connection !== undefined)
    authentications.set(connection, (authentications.get(connection) ?? 0) + 1);
};
const reauthenticated = () => [...authentications.values()].filter((n) => n > 1).length;

beforeAll(async () => {
  oauth = await startOAuthServer({
    clients: { gateway: { secret: SECRET, sub: 'tributary-gateway', scope: 'kafka' } },
    lifetimeSeconds: TOKEN_LIFETIME_S,
    audience: 'kafka',
  });
  // The validator fetches the JWKS when the broker starts, so the OAuth server comes first.
  broker = await startKafka({
    heap: '320m',
    extraListeners: [
      {
        name: 'OAUTH',
        securityProtocol: 'SASL_PLAINTEXT',
        properties: {
          'sasl.enabled.mechanisms': 'OAUTHBEARER',
          'oauthbearer.sasl.jaas.config':
            'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;',
          'oauthbearer.sasl.server.callback.handler.class':
            'org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler',
        },
      },
    ],
    properties: {
      'sasl.oauthbearer.jwks.endpoint.url': oauth.jwksUrl,
      'sasl.oauthbearer.expected.audience': 'kafka',
      'sasl.oauthbearer.expected.issuer': oauth.issuer,
      // Expired means expired (the default tolerates 30 s).
      'sasl.oauthbearer.clock.skew.seconds': 1,
      // Sessions end at the token's expiry or after 10 s, whichever is first (KIP-368).
      'connections.max.reauth.ms': REAUTH_MS,
    },
    // Kafka 4 only fetches JWKS from URLs it is told to trust.
    jvmArgs: [`-Dorg.apache.kafka.sasl.oauthbearer.allowed.urls=${oauth.jwksUrl}`],
  });
  listener = broker.extraListeners['OAUTH']!;
  subscribe('tracing:plt:kafka:connections:api:start', onRequest);
});

afterAll(async () => {
  unsubscribe('tracing:plt:kafka:connections:api:start', onRequest);
  await broker?.stop();
  await oauth?.stop();
});

describe('OAUTHBEARER with tokens that expire', () => {
  let harness: TestHarness | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await harness?.stop();
    harness = undefined;
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    dir = undefined;
    oauth.recover();
  });

  const oauthOptions = (extra: Partial<KafkaOAuthOptions> = {}): KafkaClientOptions => ({
    servers: [listener],
    sasl: {
      mechanism: 'oauthbearer',
      oauth: {
        tokenEndpoint: oauth.tokenEndpoint,
        clientId: 'gateway',
        clientSecret: '${{ env.OAUTH_CLIENT_SECRET }}',
        scope: 'kafka',
        ...extra,
      },
    },
  });

  /**
   * Produces a record every second and checks that a live fetch stream receives each, until
   * `done()` holds; returns how many went through. Every record must be acked: no failure is
   * tolerated while tokens come and go.
   */
  const keepStreaming = async (h: TestHarness, topic: string, done: () => boolean, deadlineMs: number) => {
    const fetch = open(
      h,
      { capability: 'fetch', topic, start: 'historical' },
      { initialWindow: 1 << 20, autoWindow: true },
    );
    const producer = open(h, { capability: 'produce', topic });
    await producer.next('begin', 20_000);
    const until = Date.now() + deadlineMs;
    let sent = 0;
    while (!done()) {
      if (Date.now() > until) throw new Error(`still streaming after ${deadlineMs} ms (${sent} records)`);
      send(producer, { key: 'k', value: `record ${sent}` });
      sent++;
      const answers = await waitAnswers(producer, sent, 20_000);
      expect(answers.map((a) => a.kind)).toEqual(Array(sent).fill('ack'));
      const received = await waitRecords(fetch, sent, 20_000);
      expect(dec(received[sent - 1]!.value)).toBe(`record ${sent - 1}`);
      await sleep(1_000);
    }
    expect(fetch.frames.some((f) => f.frame === 'abort' || f.frame === 'reset')).toBe(false);
    await close(producer);
    await close(fetch);
    return sent;
  };

  const unexpected = (h: TestHarness) =>
    h.events.filter((e) => e.name.startsWith('kafka.') && e.name !== 'kafka.connection.recovered');

  it('(a) client credentials: streams keep working across token expiry; the provider refreshed and connections re-authenticated', async () => {
    const topic = uniqueTopic('oauth-cc');
    await createTopic(broker, topic, 1);
    oauth.resetCounts();
    authentications.clear();
    harness = await startGateway(oauthOptions(), { env: { OAUTH_CLIENT_SECRET: SECRET } });
    const started = Date.now();
    // Past two token lifetimes: the first token and its successor have expired by the end.
    const sent = await keepStreaming(
      harness,
      topic,
      () => Date.now() - started > 2 * TOKEN_LIFETIME_S * 1000 + 2_000 && reauthenticated() > 0,
      90_000,
    );
    expect(sent).toBeGreaterThan(10);
    // One token at first, then one per refresh ahead of expiry (20 % of 15 s before it).
    expect(oauth.counts().tokensIssued).toBeGreaterThanOrEqual(3);
    expect(oauth.counts().invalidClient).toBe(0);
    expect(reauthenticated()).toBeGreaterThan(0);
    expect(unexpected(harness)).toEqual([]);
    expect(JSON.stringify(harness.logs)).not.toContain(SECRET);
  });

  it('(b) a token from a guard: the test guard reads a token file that is rotated, across expiry', async () => {
    const topic = uniqueTopic('oauth-guard');
    await createTopic(broker, topic, 1);
    dir = await mkdtemp(join(tmpdir(), 'trib-oauth-guard-'));
    const file = join(dir, 'kafka.jwt');
    const rotate = () =>
      writeFile(file, oauth.issue({ sub: 'guard-principal', lifetimeSeconds: TOKEN_LIFETIME_S }));
    await rotate();
    authentications.clear();
    const extras: GatewayExtras = {
      top: { guards: { idp: { type: 'test', options: { outbound: { file } } } } },
    };
    harness = await startGateway(
      { servers: [listener], sasl: { mechanism: 'oauthbearer', guard: 'idp' } },
      extras,
    );
    // An agent outside the gateway renews the file every 5 s (as a sidecar would).
    let rotations = 0;
    const rotator = setInterval(() => {
      rotations++;
      void rotate();
    }, 5_000);
    const started = Date.now();
    try {
      await keepStreaming(
        harness,
        topic,
        () => Date.now() - started > TOKEN_LIFETIME_S * 1000 + 5_000 && reauthenticated() > 0,
        90_000,
      );
    } finally {
      clearInterval(rotator);
    }
    expect(rotations).toBeGreaterThanOrEqual(3);
    expect(reauthenticated()).toBeGreaterThan(0);
    expect(unexpected(harness)).toEqual([]);
  });

  it('(c) a wrong client secret: the failure events and nack/abort with reason authentication, never an ack', async () => {
    const topic = uniqueTopic('oauth-bad-secret');
    await createTopic(broker, topic, 1);
    oauth.resetCounts();
    harness = await startGateway(oauthOptions(), { env: { OAUTH_CLIENT_SECRET: 'not-the-secret' } });
    const { peer, answers } = await produce(harness, topic, [{ value: 'x' }, { value: 'y' }]);
    expect(answers.map((a) => (a.kind === 'nack' ? a.error.reason : 'ack'))).toEqual([
      'authentication',
      'authentication',
    ]);
    const nack = answers[0]!;
    expect(nack.kind === 'nack' && nack.error.code).toBe('TRIB_KAFKA_AUTHENTICATION');
    expect(nack.kind === 'nack' && nack.error.message).toMatch(/invalid_client/);
    await close(peer);
    const fetch = open(
      harness,
      { capability: 'fetch', topic, start: 'historical' },
      { initialWindow: 65536 },
    );
    const failed = await failure(fetch);
    expect(failed.code).toBe('TRIB_KAFKA_AUTHENTICATION');
    expect(failed.ext?.reason).toBe('authentication');
    const names = harness.events.map((e) => e.name);
    expect(names.filter((n) => n === 'kafka.authentication.failed')).toHaveLength(1);
    const tokenFailed = harness.events.filter((e) => e.name === 'kafka.oauth.token.failed');
    expect(tokenFailed).toHaveLength(1);
    expect(tokenFailed[0]).toMatchObject({
      source: 'kafka_client',
      level: 'error',
      detail: { code: 'invalid_client', provider: 'client-credentials', servingLastGood: false },
    });
    expect(oauth.counts().invalidClient).toBeGreaterThanOrEqual(1);
    expect(oauth.counts().tokensIssued).toBe(0);
    expect(JSON.stringify(harness.events)).not.toContain('not-the-secret');
    expect(JSON.stringify(harness.logs)).not.toContain('not-the-secret');
  });

  it('(d) the OAuth server failing for a while: the last good token is used, one failure event, then one recovery', async () => {
    const topic = uniqueTopic('oauth-outage');
    await createTopic(broker, topic, 1);
    // Refresh 7.5 s before expiry (at most half of 15 s): plenty of last-good time on a slow machine.
    harness = await startGateway(oauthOptions({ refreshBeforeExpirySeconds: 10 }), {
      env: { OAUTH_CLIENT_SECRET: SECRET },
    });
    const h = harness;
    const acked = async (value: string) => {
      const { peer, answers } = await produce(h, topic, [{ value }]);
      await close(peer);
      return answers.map((a) => a.kind);
    };
    expect(await acked('before')).toEqual(['ack']);
    oauth.resetCounts();
    oauth.fail();
    const names = () => h.events.map((e) => e.name).filter((n) => n.startsWith('kafka.oauth.'));
    await eventually(() => names().length > 0, 30_000);
    expect(h.events.find((e) => e.name === 'kafka.oauth.token.failed')).toMatchObject({
      level: 'warn',
      detail: { code: 'temporarily_unavailable', servingLastGood: true },
    });
    // Kafka keeps accepting the last good token meanwhile.
    expect(await acked('during')).toEqual(['ack']);
    // Retried with backoff, not once per connection or record.
    await eventually(() => oauth.counts().failedRequests >= 2, 10_000);
    oauth.recover();
    await eventually(() => names().includes('kafka.oauth.token.recovered'), 30_000);
    expect(names()).toEqual(['kafka.oauth.token.failed', 'kafka.oauth.token.recovered']);
    expect(await acked('after')).toEqual(['ack']);
    expect(h.events.filter((e) => e.name === 'kafka.authentication.failed')).toEqual([]);
  });

  it('(e) control: a static token stops working once it expires (the broker enforces expiry)', async () => {
    const topic = uniqueTopic('oauth-static');
    await createTopic(broker, topic, 1);
    const token = oauth.issue({ sub: 'static-principal', lifetimeSeconds: 5 });
    harness = await startGateway(
      { servers: [listener], sasl: { mechanism: 'oauthbearer', token: '${{ env.KAFKA_TOKEN }}' } },
      { env: { KAFKA_TOKEN: token } },
    );
    const h = harness;
    const outcome = async () => {
      const { peer, answers } = await produce(h, topic, [{ value: 'x' }]);
      await close(peer);
      const answer = answers[0]!;
      return answer.kind === 'ack' ? 'ack' : answer.error.reason;
    };
    expect(await outcome()).toBe('ack');
    // The request that meets the failed re-authentication may see the connection close
    // (`unavailable`); the next connection is refused outright.
    await eventually(async () => (await outcome()) === 'authentication', 40_000, 1_000);
    expect(h.events.map((e) => e.name)).toContain('kafka.authentication.failed');
  });
});
