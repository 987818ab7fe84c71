/**
 * kafka-clients: `@platformatic/kafka` (the client Tributary uses, docs/adr/0002-kafka-client.md)
 * against kafkajs (the client it was chosen over), on the same broker, in the same run.
 *
 * - produce: 1 KiB records, no compression, idempotence off, 100 records per send (record `i`
 *   of a send goes to partition `i % 6`, so both clients put the same bytes on the wire), one
 *   send in flight at a time; acks=all and acks=1;
 * - fetch: N pre-produced 1 KiB records read from offset 0 of a 6-partition topic:
 *   - `@platformatic/kafka` `Consumer.fetch()` of the 6 partitions from chosen offsets, no group
 *     (how the cache reads Kafka);
 *   - `@platformatic/kafka` `MessagesStream` (`consume()`, manual offsets 0, no autocommit);
 *   - kafkajs consumer group, `eachBatch`, no autocommit: one consumer joined once during setup
 *     and rewound with `seek()` to offset 0 before each call, so that the group join is **not**
 *     in the timed calls (kafkajs cannot read partitions without a group).
 *
 * The benchmark starts its own Kafka (tools/kafka) and stops it in teardown.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { Admin, Consumer, ProduceAcks, Producer, type MessageToProduce } from '@platformatic/kafka';
import kafkajs from 'kafkajs';
import type { Consumer as KafkaJsConsumer, EachBatchPayload, Producer as KafkaJsProducer } from 'kafkajs';
import { startKafka, type KafkaHandle } from '../../tools/kafka/index.ts';
import type { BenchContext, BenchMeta } from '../harness/types.ts';

const RECORD_BYTES = 1024;
const PARTITIONS = 6;
const BATCH = 100;
/** Fetch sizes for every consumer row (kafkajs' defaults: 10 MiB per request, 1 MiB per partition). */
const FETCH_MAX_BYTES = 10 * 1024 * 1024;
const PARTITION_MAX_BYTES = 1024 * 1024;
/**
 * How long the broker may hold a fetch when there is no data. Data is always there while a row
 * runs; it bounds how long kafkajs, paused between calls, takes to notice `resume()` (it sleeps
 * this long when every partition is paused), which is inside its timed call.
 */
const MAX_WAIT_MS = 10;
/** A timed call that has not finished by then fails the run (a hung client, a dead broker). */
const CALL_TIMEOUT_MS = 60_000;
const CLOSE_TIMEOUT_MS = 15_000;

const ROWS = {
  platformaticProduceAll: '@platformatic/kafka: produce, acks=all',
  kafkajsProduceAll: 'kafkajs: produce, acks=all',
  platformaticProduceLeader: '@platformatic/kafka: produce, acks=1',
  kafkajsProduceLeader: 'kafkajs: produce, acks=1',
  platformaticFetch: '@platformatic/kafka: Consumer.fetch()',
  platformaticStream: '@platformatic/kafka: MessagesStream',
  kafkajsFetch: 'kafkajs: consumer group eachBatch',
} as const;

/** Each @platformatic/kafka row and the kafkajs row doing the same work. */
const PAIRS: readonly (readonly [string, string])[] = [
  [ROWS.platformaticProduceAll, ROWS.kafkajsProduceAll],
  [ROWS.platformaticProduceLeader, ROWS.kafkajsProduceLeader],
  [ROWS.platformaticFetch, ROWS.kafkajsFetch],
  [ROWS.platformaticStream, ROWS.kafkajsFetch],
];

export const meta: BenchMeta = {
  title: '@platformatic/kafka against kafkajs: produce and fetch of 1 KiB records',
  unit: 'messages',
  baseline: ROWS.kafkajsProduceAll,
  subject: ROWS.platformaticProduceAll,
  description:
    'Both clients against one local single-node Kafka 4.4 started by the benchmark, measured interleaved. ' +
    'Produce: calls of 20,000 records of 1 KiB (2,000 with --quick), no compression, idempotence off, sends of ' +
    '100 records spread over 6 partitions, one send in flight; acks=all and acks=1 (on one broker both wait for ' +
    'the leader only). Fetch: calls reading 200,000 pre-produced 1 KiB records (20,000 with --quick) from offset 0 ' +
    'of a 6-partition topic, 10 MiB per fetch, 1 MiB per partition; @platformatic/kafka by Consumer.fetch() ' +
    'without a group (how the cache reads) and by MessagesStream (its group rejoin in every call is included); ' +
    'kafkajs by one consumer group joined during setup and rewound with seek() before each call (join excluded; ' +
    'up to 10 ms of its idle poll included). "vs baseline" compares every row with kafkajs produce acks=all: ' +
    'compare each @platformatic/kafka row with the kafkajs row doing the same work ' +
    '(benchmarks/kafka-clients/README.md).',
};

const { Kafka, logLevel, CompressionTypes, Partitioners } = kafkajs;

/** Rejects when `work` has not settled within `ms`. */
async function within<T>(what: string, ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN;
};

/** The sends of one produce call: `messages / BATCH` arrays of BATCH records, partition `i % 6`. */
function produceBatches(messages: number, value: Buffer): { partition: number; value: Buffer }[][] {
  return Array.from({ length: messages / BATCH }, () =>
    Array.from({ length: BATCH }, (_, i) => ({ partition: i % PARTITIONS, value })),
  );
}

/**
 * Waits until the broker leads every partition of `topics`. Right after CreateTopics a produce
 * can fail for some partitions (NOT_LEADER_OR_FOLLOWER); a non-idempotent producer that retries
 * the whole send then writes the other partitions' records twice.
 */
async function partitionsReady(consumer: Consumer, topics: string[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await consumer.listOffsets({ topics });
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error('topics not ready within 30 s', { cause: error });
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

export default async function kafkaClients(ctx: BenchContext): Promise<void> {
  const produceMessages = ctx.quick ? 2_000 : 20_000;
  const fetchMessages = ctx.quick ? 20_000 : 200_000;
  const produceTiming = ctx.quick
    ? { ops: produceMessages }
    : { ops: produceMessages, iterations: 10, warmup: 3 };
  const fetchTiming = ctx.quick ? { ops: fetchMessages } : { ops: fetchMessages, iterations: 8, warmup: 2 };
  const value = Buffer.alloc(RECORD_BYTES, 0x61);
  const run = randomUUID().slice(0, 8);
  const topicName = (name: string) => `bench-${name}-${run}`;

  // Everything opened is closed here, in reverse order, each step bounded; then the broker stops.
  const closers: { name: string; close: () => Promise<unknown> }[] = [];
  let kafka: KafkaHandle | undefined;
  let cleaned: Promise<void> | undefined;
  const cleanup = (): Promise<void> =>
    (cleaned ??= (async () => {
      for (const { name, close } of closers.reverse()) {
        try {
          await within(`closing ${name}`, CLOSE_TIMEOUT_MS, close());
        } catch (error) {
          ctx.log(`warning: ${(error as Error).message}`);
        }
      }
      await kafka?.stop();
    })());

  // Wall time and process CPU time (ms) of every call per row, warm-ups first, to report each
  // pair's ratios at the end. CPU time is steadier than wall time on a busy machine.
  const calls = new Map<string, { wall: number[]; cpu: number[]; ops: number }>();
  const warmups = new Map<string, number>();
  const sent = new Map<string, { topic: string; records: number }>();
  let failed = false;
  const measure = (label: string, timing: { ops: number; warmup?: number }, fn: () => Promise<void>) => {
    const row = { wall: [] as number[], cpu: [] as number[], ops: timing.ops };
    calls.set(label, row);
    warmups.set(label, timing.warmup ?? (ctx.quick ? 1 : 3));
    ctx.measure(
      label,
      async () => {
        const cpu = process.cpuUsage();
        const started = performance.now();
        try {
          await within(label, CALL_TIMEOUT_MS, fn());
        } catch (error) {
          failed = true;
          throw error;
        }
        row.wall.push(performance.now() - started);
        const used = process.cpuUsage(cpu);
        row.cpu.push((used.user + used.system) / 1000);
      },
      timing,
    );
  };

  try {
    kafka = await startKafka({
      log: (message) => ctx.log(message),
      heap: '1g',
      // The launcher starts the JVM with C1 only (fast start for tests); a throughput benchmark
      // wants the broker's full JIT so that the broker is less of the bottleneck for both clients.
      jvmArgs: ['-XX:TieredStopAtLevel=4'],
    });
    const bootstrapBrokers = [kafka.bootstrap];

    const topics = {
      all: { platformatic: topicName('produce-all-pk'), kafkajs: topicName('produce-all-kjs') },
      leader: { platformatic: topicName('produce-one-pk'), kafkajs: topicName('produce-one-kjs') },
      fetch: topicName('fetch'),
    };
    const admin = new Admin({ clientId: 'bench-admin', bootstrapBrokers });
    closers.push({ name: 'admin', close: () => admin.close() });
    const allTopics = [
      topics.all.platformatic,
      topics.all.kafkajs,
      topics.leader.platformatic,
      topics.leader.kafkajs,
      topics.fetch,
    ];
    await admin.createTopics({ topics: allTopics, partitions: PARTITIONS, replicas: 1 });
    // Also reads end offsets: once per fetch row, and at the end to check what the produce rows wrote.
    const fetcher = new Consumer({
      clientId: 'bench-platformatic-fetch',
      groupId: `bench-unused-${run}`,
      bootstrapBrokers,
    });
    closers.push({ name: '@platformatic/kafka fetch consumer', close: () => fetcher.close(true) });
    await partitionsReady(fetcher, allTopics);

    // --- produce -------------------------------------------------------------------------------
    const producer = new Producer({
      clientId: 'bench-platformatic-producer',
      bootstrapBrokers,
      idempotent: false,
      compression: 'none',
      autocreateTopics: false,
    });
    closers.push({ name: '@platformatic/kafka producer', close: () => producer.close() });
    const kjs = new Kafka({
      clientId: 'bench-kafkajs',
      brokers: bootstrapBrokers,
      logLevel: logLevel.ERROR,
      // Errors only; kafkajs logs (and retries) e.g. the coordinator not being ready at first.
      logCreator:
        () =>
        ({ namespace, log }) =>
          ctx.log(
            `kafkajs ${namespace}: ${log.message}${typeof log.error === 'string' ? `: ${log.error}` : ''}`,
          ),
    });
    const kjsProducer: KafkaJsProducer = kjs.producer({
      allowAutoTopicCreation: false,
      idempotent: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await kjsProducer.connect();
    closers.push({ name: 'kafkajs producer', close: () => kjsProducer.disconnect() });

    const batches = produceBatches(produceMessages, value);
    const platformaticProduce = (label: string, topic: string, acks: number) => {
      const sends: MessageToProduce[][] = batches.map((batch) =>
        batch.map((record) => ({ ...record, topic })),
      );
      sent.set(label, { topic, records: 0 });
      measure(label, produceTiming, async () => {
        for (const messages of sends) {
          await producer.send({ messages, acks });
          sent.get(label)!.records += messages.length;
        }
      });
    };
    const kafkajsProduce = (label: string, topic: string, acks: number) => {
      sent.set(label, { topic, records: 0 });
      measure(label, produceTiming, async () => {
        for (const messages of batches) {
          await kjsProducer.send({ topic, messages, acks, compression: CompressionTypes.None });
          sent.get(label)!.records += messages.length;
        }
      });
    };
    platformaticProduce(ROWS.platformaticProduceAll, topics.all.platformatic, ProduceAcks.ALL);
    kafkajsProduce(ROWS.kafkajsProduceAll, topics.all.kafkajs, -1);
    platformaticProduce(ROWS.platformaticProduceLeader, topics.leader.platformatic, ProduceAcks.LEADER);
    kafkajsProduce(ROWS.kafkajsProduceLeader, topics.leader.kafkajs, 1);

    // --- fetch: the data -----------------------------------------------------------------------
    ctx.log(`writing ${fetchMessages.toLocaleString('en-US')} records of 1 KiB to ${topics.fetch}`);
    const fill = produceBatches(fetchMessages, value).map((batch) =>
      batch.map((record) => ({ ...record, topic: topics.fetch })),
    );
    for (let next = 0; next < fill.length;) {
      const chunk = fill.slice(next, next + 8);
      next += chunk.length;
      await within(
        'writing the fetch topic',
        CALL_TIMEOUT_MS,
        Promise.all(chunk.map((messages) => producer.send({ messages, acks: ProduceAcks.LEADER }))),
      );
    }

    const metadata = await fetcher.metadata({ topics: [topics.fetch] });
    const topicMetadata = metadata.topics.get(topics.fetch);
    if (!topicMetadata) throw new Error(`no metadata for ${topics.fetch}`);
    const leaders = new Set(topicMetadata.partitions.map((partition) => partition.leader));
    const [leader] = leaders;
    if (leaders.size !== 1 || leader === undefined)
      throw new Error('expected one leader for every partition');
    const ends = (await fetcher.listOffsets({ topics: [topics.fetch] })).get(topics.fetch) ?? [];
    const total = ends.reduce((sum, offset) => sum + offset, 0n);
    if (ends.length !== PARTITIONS || total !== BigInt(fetchMessages)) {
      throw new Error(
        `${topics.fetch} holds ${total} records in ${ends.length} partitions, expected ${fetchMessages}`,
      );
    }
    const check = (label: string, count: number, bytes: number) => {
      if (count !== fetchMessages || bytes !== fetchMessages * RECORD_BYTES) {
        throw new Error(
          `${label}: read ${count} records / ${bytes} bytes, expected ${fetchMessages} of 1 KiB`,
        );
      }
    };

    // --- fetch: @platformatic/kafka Consumer.fetch() -------------------------------------------
    measure(ROWS.platformaticFetch, fetchTiming, async () => {
      const offsets = ends.map(() => 0n);
      let count = 0;
      let bytes = 0;
      while (offsets.some((offset, partition) => offset < ends[partition]!)) {
        const response = await fetcher.fetch({
          node: leader,
          maxWaitTime: MAX_WAIT_MS,
          minBytes: 1,
          maxBytes: FETCH_MAX_BYTES,
          topics: [
            {
              topicId: topicMetadata.id,
              partitions: offsets.map((fetchOffset, partition) => ({
                partition,
                fetchOffset,
                currentLeaderEpoch: topicMetadata.partitions[partition]!.leaderEpoch,
                lastFetchedEpoch: -1,
                partitionMaxBytes: PARTITION_MAX_BYTES,
              })),
            },
          ],
        });
        for (const topic of response.responses) {
          for (const partition of topic.partitions) {
            if (partition.errorCode !== 0) {
              throw new Error(`fetch of partition ${partition.partitionIndex}: error ${partition.errorCode}`);
            }
            for (const batch of partition.records ?? []) {
              for (const record of batch.records) {
                count++;
                bytes += record.value?.length ?? 0;
              }
              offsets[partition.partitionIndex] = batch.firstOffset + BigInt(batch.lastOffsetDelta) + 1n;
            }
          }
        }
      }
      check(ROWS.platformaticFetch, count, bytes);
    });

    // --- fetch: @platformatic/kafka MessagesStream ---------------------------------------------
    const streamConsumer = new Consumer({
      clientId: 'bench-platformatic-stream',
      groupId: `bench-stream-${run}`,
      bootstrapBrokers,
      autocommit: false,
      maxWaitTime: MAX_WAIT_MS,
      maxBytes: FETCH_MAX_BYTES,
      maxBytesPerPartition: PARTITION_MAX_BYTES,
    });
    closers.push({ name: '@platformatic/kafka stream consumer', close: () => streamConsumer.close(true) });
    const streamJoinMs: number[] = [];
    measure(ROWS.platformaticStream, fetchTiming, async () => {
      const started = performance.now();
      const stream = await streamConsumer.consume({
        topics: [topics.fetch],
        mode: 'manual',
        offsets: ends.map((_, partition) => ({ topic: topics.fetch, partition, offset: 0n })),
        autocommit: false,
      });
      streamJoinMs.push(performance.now() - started);
      let count = 0;
      let bytes = 0;
      const next = ends.map(() => 0n);
      try {
        await new Promise<void>((resolve, reject) => {
          stream.on('error', reject);
          stream.on('data', (message) => {
            if (message.offset !== next[message.partition]) {
              reject(
                new Error(
                  `MessagesStream: partition ${message.partition} at ${message.offset}, expected ${next[message.partition]}`,
                ),
              );
            }
            next[message.partition] = message.offset + 1n;
            count++;
            bytes += message.value.length;
            if (count >= fetchMessages) resolve();
          });
        });
      } finally {
        await stream.close();
      }
      check(ROWS.platformaticStream, count, bytes);
    });

    // --- fetch: kafkajs consumer group ---------------------------------------------------------
    const kjsConsumer: KafkaJsConsumer = kjs.consumer({
      groupId: `bench-kafkajs-${run}`,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: MAX_WAIT_MS,
      maxBytes: FETCH_MAX_BYTES,
      maxBytesPerPartition: PARTITION_MAX_BYTES,
    });
    await kjsConsumer.connect();
    closers.push({ name: 'kafkajs consumer', close: () => kjsConsumer.disconnect() });
    await kjsConsumer.subscribe({ topic: topics.fetch, fromBeginning: true });
    let pass:
      | {
          count: number;
          bytes: number;
          next: bigint[];
          started: number;
          idleMs: number | undefined;
          done: () => void;
          failed: (error: Error) => void;
        }
      | undefined;
    const kafkajsIdleMs: number[] = [];
    const nextPass = () =>
      new Promise<{ count: number; bytes: number }>((resolve, reject) => {
        const state = {
          count: 0,
          bytes: 0,
          next: ends.map(() => 0n),
          started: performance.now(),
          idleMs: undefined as number | undefined,
          done: () => resolve(state),
          failed: reject,
        };
        pass = state;
      });
    const firstPass = nextPass();
    // The first fetch after resume() (kafkajs sleeps up to MAX_WAIT_MS while all is paused).
    const fetchStarted = kjsConsumer.on(kjsConsumer.events.FETCH_START, () => {
      if (pass && pass.idleMs === undefined) {
        pass.idleMs = performance.now() - pass.started;
        kafkajsIdleMs.push(pass.idleMs);
      }
    });
    closers.push({ name: 'kafkajs fetch listener', close: () => Promise.resolve(fetchStarted()) });
    const joinedGroup = kjsConsumer.on(kjsConsumer.events.GROUP_JOIN, (event) =>
      ctx.log(`kafkajs: group joined in ${event.payload.duration} ms (setup, untimed)`),
    );
    closers.push({ name: 'kafkajs join listener', close: () => Promise.resolve(joinedGroup()) });
    const crashed = kjsConsumer.on(kjsConsumer.events.CRASH, (event) => pass?.failed(event.payload.error));
    closers.push({ name: 'kafkajs crash listener', close: () => Promise.resolve(crashed()) });
    await kjsConsumer.run({
      autoCommit: false,
      eachBatch: ({ batch }: EachBatchPayload) => {
        const current = pass;
        if (!current || batch.isEmpty()) return Promise.resolve();
        // Every record once, in order: a batch left over from before a seek would show here.
        const first = BigInt(batch.firstOffset()!);
        if (first !== current.next[batch.partition]) {
          current.failed(
            new Error(
              `kafkajs: partition ${batch.partition} at ${first}, expected ${current.next[batch.partition]}`,
            ),
          );
          return Promise.resolve();
        }
        current.next[batch.partition] = BigInt(batch.lastOffset()) + 1n;
        for (const message of batch.messages) {
          current.count++;
          current.bytes += message.value?.length ?? 0;
        }
        if (current.count >= fetchMessages) {
          // Stop fetching until the next call rewinds: the topic holds exactly fetchMessages.
          kjsConsumer.pause([{ topic: topics.fetch }]);
          pass = undefined;
          current.done();
        }
        return Promise.resolve();
      },
    });
    // The join and a first full read happen here, untimed.
    const joined = performance.now();
    const first = await within('kafkajs: group join and first read', CALL_TIMEOUT_MS, firstPass);
    check('kafkajs: first read', first.count, first.bytes);
    ctx.log(
      `kafkajs: group joined and first read in ${Math.round(performance.now() - joined)} ms (setup, untimed)`,
    );
    measure(ROWS.kafkajsFetch, fetchTiming, async () => {
      const done = nextPass();
      for (let partition = 0; partition < PARTITIONS; partition++) {
        kjsConsumer.seek({ topic: topics.fetch, partition, offset: '0' });
      }
      kjsConsumer.resume([{ topic: topics.fetch }]);
      const { count, bytes } = await done;
      check(ROWS.kafkajsFetch, count, bytes);
    });

    ctx.teardown(async () => {
      try {
        // After a failed call the runner is already reporting its error: just clean up.
        if (failed) return;
        // Check that each produce row wrote what it claims: its topic holds every record it sent.
        const produced = await fetcher.listOffsets({ topics: [...sent.values()].map(({ topic }) => topic) });
        for (const [label, { topic, records }] of sent) {
          const written = (produced.get(topic) ?? []).reduce((sum, offset) => sum + offset, 0n);
          if (written !== BigInt(records)) {
            throw new Error(`${label}: ${topic} holds ${written} records, ${records} were sent`);
          }
        }
        // What the fetch rows spend before their first fetch, inside the timed calls.
        ctx.log(
          `inside the fetch rows' timed calls (median): MessagesStream consume() (group rejoin) ` +
            `${median(streamJoinMs).toFixed(1)} ms; kafkajs seek() + resume() to its first fetch ` +
            `${median(kafkajsIdleMs.slice(1)).toFixed(1)} ms`,
        );
        // Per pair: throughput ratio (median call), and client CPU µs per message of each row.
        const timed = (label: string, key: 'wall' | 'cpu') => {
          const row = calls.get(label)!;
          return (median(row[key].slice(warmups.get(label))) * 1000) / row.ops;
        };
        for (const [platformatic, kafkajsRow] of PAIRS) {
          if (
            ![platformatic, kafkajsRow].every((label) => calls.get(label)!.wall.length > warmups.get(label)!)
          ) {
            continue;
          }
          const speed = timed(kafkajsRow, 'wall') / timed(platformatic, 'wall');
          const [cpuA, cpuB] = [timed(platformatic, 'cpu'), timed(kafkajsRow, 'cpu')];
          ctx.log(
            `${platformatic} / ${kafkajsRow}: ${speed.toFixed(2)}× messages/s; ` +
              `process CPU ${cpuA.toFixed(1)} vs ${cpuB.toFixed(1)} µs/message (${(cpuB / cpuA).toFixed(2)}× less)`,
          );
        }
      } finally {
        await cleanup();
      }
    });
  } catch (error) {
    // The runner only runs teardowns after measuring: a failed setup cleans up here.
    await cleanup();
    throw error;
  }
}
