// The whole HTTP path as clients see it: the real `http` server binding, the mapping, the Kafka
// cache and client, a real broker; requests from Node's HTTP client (undici), records read back
// with kcat.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestKernel, type TestHarness } from '@tributary/kernel/testkit';
import { plugin as kafkaPlugin } from '@tributary/binding-kafka/plugin';
import { plugin as httpPlugin } from '@tributary/binding-http/plugin';
import { boundAddresses } from '@tributary/binding-http';
import { kafka, uniqueTopic } from '../../../tools/it/context.ts';
import { startKafka, type KafkaHandle } from '../../../tools/kafka/broker.ts';
import { kcat, kcatArgs } from '../../../tools/kafka/clients.ts';
import type { KafkaInfo } from '../../../tools/kafka/broker.ts';
import { plugin } from '../src/plugin.ts';
import { createTopic, sleep } from './helpers.ts';

const FAST_CLIENT = {
  connectTimeoutMs: 1_000,
  requestTimeoutMs: 3_000,
  retries: 1,
  retryDelayMs: 50,
  retryDelayMaxMs: 500,
  fetch: { maxWaitMs: 200 },
};

interface Setup {
  readonly bootstrap: string;
  readonly topic: string;
  readonly server?: Record<string, unknown>;
  readonly api?: Record<string, unknown>;
  readonly client?: Record<string, unknown>;
  readonly guarded?: Record<string, string[]>;
  readonly guards?: Record<string, unknown>;
}

async function start(setup: Setup): Promise<{ harness: TestHarness; origin: string }> {
  const harness = await createTestKernel({
    config: {
      name: 'http-kafka-wire',
      bindings: {
        north_http: {
          type: 'http',
          kind: 'server',
          options: { listen: [{ host: '127.0.0.1', port: 0 }], ...setup.server },
          exit: 'items_api',
        },
        items_api: {
          type: 'http-kafka',
          kind: 'proxy',
          options: setup.api ?? {},
          routes: [
            {
              when: [{ method: 'PUT', path: '/items/{id}' }],
              exit: 'kafka_cache',
              ...(setup.guarded ? { guarded: setup.guarded } : {}),
              with: { capability: 'produce', topic: setup.topic, key: '${params.id}' },
            },
          ],
        },
        kafka_cache: { type: 'kafka', kind: 'cache', exit: 'kafka_client' },
        kafka_client: {
          type: 'kafka',
          kind: 'client',
          options: { servers: [setup.bootstrap], ...FAST_CLIENT, ...setup.client },
        },
      },
      ...(setup.guards ? { guards: setup.guards } : {}),
    },
    plugins: [httpPlugin, plugin, kafkaPlugin],
    logLevel: 'warn',
  });
  const address = boundAddresses(harness.gateway.binding('north_http'))?.[0];
  if (!address) throw new Error('http server bound no address');
  return { harness, origin: address.url };
}

async function keysIn(info: KafkaInfo, topic: string): Promise<string[]> {
  const result = await kcat([...kcatArgs(info, 'plaintext'), '-C', '-t', topic, '-e', '-q', '-f', '%k\n']);
  return result.stdout.split('\n').filter((line) => line.length > 0);
}

let harness: TestHarness | undefined;
afterEach(async () => {
  await harness?.stop(1_000);
  harness = undefined;
});

describe('http-kafka over HTTP', () => {
  it('streams a 10 MiB body into one record within the configured limits, 413 beyond them', async () => {
    const topic = uniqueTopic('wire-large');
    await createTopic(kafka().bootstrap, topic, 1, { 'max.message.bytes': String(16 * 1024 * 1024) });
    const started = await start({
      bootstrap: kafka().bootstrap,
      topic,
      server: { bodyLimit: 12 * 1024 * 1024 },
      api: { maxBodyBytes: 11 * 1024 * 1024 },
      client: { produce: { maxRecordBytes: 16 * 1024 * 1024 } },
    });
    harness = started.harness;
    const body = Buffer.alloc(10 * 1024 * 1024, 'x');
    const ok = await fetch(`${started.origin}/items/big`, { method: 'PUT', body });
    expect(ok.status).toBe(204);
    const refused = await fetch(`${started.origin}/items/huge`, {
      method: 'PUT',
      body: Buffer.alloc(11 * 1024 * 1024 + 1, 'y'),
    });
    expect(refused.status).toBe(413);
    expect(refused.headers.get('content-type')).toBe('application/problem+json');
    const result = await kcat([
      ...kcatArgs(kafka(), 'plaintext'),
      '-C',
      '-t',
      topic,
      '-e',
      '-q',
      '-f',
      '%k %S\n',
      '-X',
      'fetch.message.max.bytes=33554432',
      '-X',
      'receive.message.max.bytes=67108864',
    ]);
    expect(result.stdout.trim()).toBe(`big ${body.length}`);
  });

  it('takes guard credentials from the Authorization header: 401 without, 403 without the role', async () => {
    const topic = uniqueTopic('wire-guarded');
    await createTopic(kafka().bootstrap, topic, 1);
    const started = await start({
      bootstrap: kafka().bootstrap,
      topic,
      server: {
        authorization: { g0: { credentials: { headers: { authorization: 'Bearer {credentials}' } } } },
      },
      guarded: { g0: ['write'] },
      guards: {
        g0: {
          type: 'test',
          options: { credentials: { writer: { roles: ['write'] }, reader: { roles: ['read'] } } },
        },
      },
    });
    harness = started.harness;
    const put = (headers: Record<string, string>) =>
      fetch(`${started.origin}/items/1`, { method: 'PUT', headers, body: '{}' });
    const anonymous = await put({});
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await put({ authorization: 'Bearer nobody' })).status).toBe(401);
    expect((await put({ authorization: 'Bearer reader' })).status).toBe(403);
    expect((await put({ authorization: 'Bearer writer' })).status).toBe(204);
    expect(await keysIn(kafka(), topic)).toEqual(['1']);
  });
});

describe('http-kafka while the broker stops and comes back', () => {
  let broker: KafkaHandle;
  beforeAll(async () => {
    broker = await startKafka({ heap: '384m' });
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('answers every POST 204 with its record in Kafka, or 503 with Retry-After; none lost, none wrong', async () => {
    const topic = uniqueTopic('wire-outage');
    await createTopic(broker.bootstrap, topic, 2);
    const started = await start({
      bootstrap: broker.bootstrap,
      topic,
      client: { produce: { timeoutMs: 3_000 } },
    });
    harness = started.harness;
    const outcomes = new Map<string, { status: number; retryAfter: string | null }>();
    let sequence = 0;
    let phase: 'before' | 'during' | 'after' = 'before';
    const byPhase = { before: [] as number[], during: [] as number[], after: [] as number[] };
    let running = true;
    const writer = async () => {
      while (running) {
        const key = `k${sequence++}`;
        const current = phase;
        const response = await fetch(`${started.origin}/items/${key}`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ key }),
        }).catch(() => undefined);
        const status = response?.status ?? 0;
        await response?.arrayBuffer();
        outcomes.set(key, { status, retryAfter: response?.headers.get('retry-after') ?? null });
        byPhase[current].push(status);
      }
    };
    const writers = [writer(), writer(), writer(), writer()];
    await sleep(1_500);
    phase = 'during';
    await broker.pause();
    await sleep(6_000);
    phase = 'after';
    await broker.resume();
    const deadline = Date.now() + 60_000;
    while (byPhase.after.filter((s) => s === 204).length < 20 && Date.now() < deadline) await sleep(200);
    running = false;
    await Promise.all(writers);

    const statuses = [...outcomes.values()].map((o) => o.status);
    // Only the two honest answers exist: acknowledged, or not (with when to retry).
    expect(new Set(statuses)).toEqual(new Set([204, 503]));
    for (const outcome of outcomes.values())
      if (outcome.status === 503) expect(outcome.retryAfter).toMatch(/^\d+$/);
    expect(byPhase.before.filter((s) => s === 204).length).toBeGreaterThan(0);
    expect(byPhase.during.filter((s) => s === 503).length).toBeGreaterThan(0);
    expect(byPhase.after.filter((s) => s === 204).length).toBeGreaterThanOrEqual(20);

    // Every acknowledged write is in Kafka.
    const stored = new Set(await keysIn(broker.info(), topic));
    const acknowledged = [...outcomes].filter(([, o]) => o.status === 204).map(([key]) => key);
    expect(acknowledged.filter((key) => !stored.has(key))).toEqual([]);
    expect(harness.events.map((e) => e.name)).toEqual(
      expect.arrayContaining(['http-kafka.kafka.unavailable', 'http-kafka.kafka.available']),
    );
  });
});
