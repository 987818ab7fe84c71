// Fan-out at scale: 1 000 concurrent SSE clients (Node HTTP clients, one connection each), each
// filtering on its own key, through the real http server, sse and sse-kafka bindings and the
// Kafka cache, against a real broker. Every client must receive exactly its own records, in order.
import http from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import type { TestHarness } from '@tributary/kernel/testkit';
import { kafka, uniqueTopic } from '../../../tools/it/context.ts';
import { SseClient } from '../../../tools/it/sse-client.ts';
import { createTopic, produce, sleep, startGateway, type Rec } from './helpers.ts';

const CLIENTS = 1_000;
const key = (i: number) => `k${String(i).padStart(4, '0')}`;
const value = (i: number, n: number) => JSON.stringify({ key: key(i), n });

let harness: TestHarness | undefined;
const clients: SseClient[] = [];
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
afterAll(async () => {
  for (const client of clients) client.close();
  agent.destroy();
  await harness?.stop(2_000);
});

describe('sse-kafka fan-out', () => {
  it(
    `delivers to ${CLIENTS} concurrent clients exactly the records of their own key`,
    { timeout: 180_000 },
    async () => {
      const topic = uniqueTopic('sse-fanout');
      // Compacted, as fan-out topics of current values are (scenario sse.kafka.fanout).
      await createTopic(kafka().bootstrap, topic, 4, { 'cleanup.policy': 'compact' });
      // One record per key before anyone subscribes: history, delivered first.
      const history: Rec[] = [];
      for (let i = 0; i < CLIENTS; i++) history.push({ key: key(i), value: value(i, 0) });
      await produce(kafka().bootstrap, topic, history);

      const started = await startGateway({
        bootstrap: kafka().bootstrap,
        routes: [
          {
            when: [{ path: '/events/{key}' }],
            exit: 'kafka_cache',
            with: { topic, filters: [{ key: '${params.key}' }] },
          },
        ],
        server: { keepAliveTimeout: 120_000 },
      });
      harness = started.harness;

      for (let at = 0; at < CLIENTS; at += 100) {
        const batch = await Promise.all(
          Array.from({ length: Math.min(100, CLIENTS - at) }, (_, j) =>
            SseClient.open(`${started.origin}/events/${key(at + j)}`, { agent }),
          ),
        );
        clients.push(...batch);
      }
      expect(clients.every((c) => c.status === 200)).toBe(true);
      await Promise.all(clients.map((c) => c.eventsAtLeast(1, 60_000)));

      // Live: two more records per key, interleaved with records of keys nobody subscribed to.
      const live: Rec[] = [];
      for (let n = 1; n <= 2; n++)
        for (let i = 0; i < CLIENTS; i++) {
          live.push({ key: key(i), value: value(i, n) });
          live.push({ key: `other-${i}`, value: 'noise' });
        }
      await produce(kafka().bootstrap, topic, live);
      await Promise.all(clients.map((c) => c.eventsAtLeast(3, 60_000)));
      // A behaviour window: nothing else arrives afterwards.
      await sleep(1_000);

      const wrong: string[] = [];
      clients.forEach((client, i) => {
        const got = client.events.map((e) => e.data);
        const want = [value(i, 0), value(i, 1), value(i, 2)];
        if (JSON.stringify(got) !== JSON.stringify(want)) wrong.push(`${key(i)}: ${JSON.stringify(got)}`);
        if (new Set(client.events.map((e) => e.lastEventId)).size !== 3)
          wrong.push(`${key(i)}: ids not distinct`);
        if (client.outcome !== undefined) wrong.push(`${key(i)}: stream ended (${client.outcome})`);
      });
      expect(wrong.slice(0, 10)).toEqual([]);
    },
  );
});
