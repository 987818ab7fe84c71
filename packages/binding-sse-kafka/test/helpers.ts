// A whole gateway as SSE clients reach it: the real `http` server on a free port → `sse` →
// `sse-kafka` → the Kafka cache and client → a real broker. Records are produced with the
// @platformatic/kafka producer (the Kafka binding's own library, not the gateway).
import { Producer, ProduceAcks } from '@platformatic/kafka';
import { createTestKernel, type TestHarness } from '@tributary/kernel/testkit';
import { plugin as kafkaPlugin } from '@tributary/binding-kafka/plugin';
import { plugin as httpPlugin } from '@tributary/binding-http/plugin';
import { plugin as ssePlugin } from '@tributary/binding-sse/plugin';
import { boundAddresses } from '@tributary/binding-http';
import { plugin } from '../src/plugin.ts';

export const FAST_CLIENT = {
  connectTimeoutMs: 1_000,
  requestTimeoutMs: 3_000,
  retries: 1,
  retryDelayMs: 50,
  retryDelayMaxMs: 500,
  fetch: { maxWaitMs: 100 },
};

export interface GatewaySetup {
  readonly bootstrap: string;
  /** Routes of the `sse-kafka` binding. */
  readonly routes: readonly unknown[];
  /** Routes of the `sse` binding; by default every path goes to `sse-kafka`. */
  readonly sseRoutes?: readonly unknown[];
  readonly sse?: Record<string, unknown>;
  readonly sseKafka?: Record<string, unknown>;
  readonly server?: Record<string, unknown>;
  readonly client?: Record<string, unknown>;
  readonly guards?: Record<string, unknown>;
}

export async function startGateway(setup: GatewaySetup): Promise<{ harness: TestHarness; origin: string }> {
  const harness = await createTestKernel({
    config: {
      name: 'sse-kafka-wire',
      bindings: {
        north_http: {
          type: 'http',
          kind: 'server',
          options: { listen: [{ host: '127.0.0.1', port: 0 }], ...setup.server },
          exit: 'north_sse',
        },
        north_sse: {
          type: 'sse',
          kind: 'server',
          options: setup.sse ?? {},
          ...(setup.sseRoutes ? { routes: setup.sseRoutes } : { exit: 'events_kafka' }),
        },
        events_kafka: {
          type: 'sse-kafka',
          kind: 'proxy',
          options: setup.sseKafka ?? {},
          routes: setup.routes,
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
    plugins: [httpPlugin, ssePlugin, plugin, kafkaPlugin],
    logLevel: 'warn',
  });
  const address = boundAddresses(harness.gateway.binding('north_http'))?.[0];
  if (!address) throw new Error('http server bound no address');
  return { harness, origin: address.url };
}

export { createTopic } from '../../../tools/kafka/topics.ts';

export interface Rec {
  readonly key: string;
  /** Undefined: a tombstone. */
  readonly value?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Produces `records` in order (acks all) and closes the producer. */
export async function produce(bootstrap: string, topic: string, records: readonly Rec[]): Promise<void> {
  const producer = new Producer({ clientId: 'sse-kafka-test-producer', bootstrapBrokers: [bootstrap] });
  try {
    for (let at = 0; at < records.length; at += 500) {
      await producer.send({
        acks: ProduceAcks.ALL,
        messages: records.slice(at, at + 500).map((r) => ({
          topic,
          key: Buffer.from(r.key),
          ...(r.value === undefined ? {} : { value: Buffer.from(r.value) }),
          headers: new Map(Object.entries(r.headers ?? {}).map(([n, v]) => [Buffer.from(n), Buffer.from(v)])),
        })),
      });
    }
  } finally {
    await producer.close();
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
