/**
 * kafka-cache: live fan-out of Kafka records to many filtered fetch streams through the gateway's
 * `kafka` cache, against the simplest in-process fan-out without it, on the same broker, in the
 * same run; plus the memory an idle fetch stream costs the gateway.
 *
 * - Subject: a gateway `app (test server) → kafka_cache → kafka_client` (createTestKernel, default
 *   options). N live fetch streams are opened from the `app` binding with
 *   `gateway.engine.open()`, each with `filters: [{ conditions: [{ key: k-<i> }] }]`, a 64 KiB
 *   window and a minimal reader that returns every frame's credit as it reads it.
 * - Baseline: one `@platformatic/kafka` `Consumer.fetch()` loop (no group; the same fetch sizes
 *   and wait as the gateway's client) whose handler, for each record, loops over all N
 *   subscribers' key filters and pushes the record to the matching subscriber's in-memory queue;
 *   after each fetch response the queues are drained into the same reader code.
 * - Records: produced by a plain `@platformatic/kafka` producer in a worker thread
 *   (./producer.ts), record `seq` keyed `k-<seq % N>` (each record matches exactly one
 *   subscriber), 64-byte values carrying the send time, the call id and `seq`. Every row has
 *   its own 4-partition topic, so that no path sees another row's records.
 * - Every delivery is counted and checked: the record key equals the subscriber's key,
 *   `seq % N` is the subscriber's index, the call id is the current call's, and no `seq` arrives
 *   twice; a call ends when all its records have arrived (or fails after 60 s).
 *
 * Rows (harness table): a timed call produces 40 000 records (2 000 with `--quick`) as fast as
 * the producer goes (sends of 500, 4 in flight) and waits for all of them to be delivered. On top of the table the benchmark reports,
 * in the description of the results: deliveries/s from first delivery to last, end-to-end
 * latency (send → reader) under that load and at a steady lower rate, and heap/RSS per idle
 * stream. See README.md for the method and the caveats.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { Admin, Consumer } from '@platformatic/kafka';
import type { DataFrame, Stream, StreamError, StreamHandler } from '@tributary/kernel';
import { createTestKernel, type TestHarness } from '@tributary/kernel/testkit';
import type { KafkaCacheBinding } from '../../packages/binding-kafka/src/cache/binding.ts';
import type {
  KafkaCaughtUpEx,
  KafkaFetchBeginEx,
  KafkaRecordDataEx,
} from '../../packages/binding-kafka/src/index.ts';
import { plugin } from '../../packages/binding-kafka/src/plugin.ts';
import { startKafka, type KafkaHandle } from '../../tools/kafka/index.ts';
import { percentile } from '../harness/measure.ts';
import { formatBytes, formatCount, formatMs } from '../harness/report.ts';
import type { BenchContext, BenchMeta } from '../harness/types.ts';
import { keyOf, VALUE_LAYOUT, type ProduceAnswer, type ProduceJob, type ProducerData } from './producer.ts';

const PARTITIONS = 4;
const VALUE_BYTES = 64;
/** Credit each subscriber stream grants up front (and returns frame by frame). */
const STREAM_WINDOW = 64 * 1024;
/** The gateway client's fetch defaults (packages/binding-kafka/src/config/options.ts), for the baseline. */
const FETCH = { maxWaitMs: 500, maxBytes: 1024 * 1024, partitionMaxBytes: 1024 * 1024 } as const;
/** How the producer sends under load: records per send, sends in flight. */
const LOAD = { batch: 500, inflight: 4 } as const;
/** At a steady rate, one send every STEADY_TICK_MS. */
const STEADY_TICK_MS = 5;
const CALL_TIMEOUT_MS = 60_000;
const SETUP_TIMEOUT_MS = 60_000;
const CLOSE_TIMEOUT_MS = 15_000;

interface Sizes {
  /** The two subscriber counts; the larger is the headline pair. */
  readonly small: number;
  readonly large: number;
  /** Records per timed call. */
  readonly records: number;
  readonly warmup: number;
  readonly iterations: number;
  /** Steady-rate latency runs: records per second and seconds per run. */
  readonly steadyRate: number;
  readonly steadySeconds: number;
}

const FULL: Sizes = {
  small: 1_000,
  large: 10_000,
  records: 40_000,
  warmup: 2,
  iterations: 8,
  steadyRate: 2_000,
  steadySeconds: 8,
};
const QUICK: Sizes = {
  small: 100,
  large: 1_000,
  records: 2_000,
  warmup: 1,
  iterations: 3,
  steadyRate: 1_000,
  steadySeconds: 1,
};

const count = (n: number): string => n.toLocaleString('en-US').replace(/,/g, ' ');
/** Row labels. */
const names = {
  gateway: (n: number) => `tributary kafka cache: ${count(n)} filtered fetch streams`,
  baseline: (n: number) => `Consumer.fetch() + loop over ${count(n)} key filters`,
};

/**
 * Mutable: `--quick` renames the headline rows for its smaller N before registering them, and
 * the description is filled in with the results at teardown. tools/bench.ts reads the labels'
 * roles and the description only once the rows and teardowns have run.
 */
const info: { -readonly [K in keyof BenchMeta]: BenchMeta[K] } = {
  title: 'Kafka cache live fan-out to N filtered fetch streams vs one consumer looping over N key filters',
  unit: 'deliveries',
  baseline: names.baseline(FULL.large),
  subject: names.gateway(FULL.large),
  description: 'Filled in with the results of the run.',
};
export const meta: BenchMeta = info;

// --- small helpers ---------------------------------------------------------------------------

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

async function until(what: string, check: () => boolean, timeoutMs = SETUP_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not done within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const now = (): number => performance.timeOrigin + performance.now();
const median = (values: readonly number[]): number => percentile(values, 50);
const gc = (globalThis as { gc?: () => void }).gc;

function collect(): void {
  gc?.();
  gc?.();
}

const encoder = new TextEncoder();

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Little-endian reads of the value layout without allocating a view per record. */
const scratch = new DataView(new ArrayBuffer(8));
function readF64(bytes: Uint8Array, at: number): number {
  for (let i = 0; i < 8; i++) scratch.setUint8(i, bytes[at + i]!);
  return scratch.getFloat64(0, true);
}
function readU32(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
}

// --- what arrived ----------------------------------------------------------------------------

interface CallResult {
  readonly records: number;
  /** First delivery to last, ms. */
  readonly spanMs: number;
  /** Send → reader, ms, one per record. */
  readonly latencies: Float64Array;
}

interface Call {
  readonly id: number;
  readonly records: number;
  readonly seen: Uint8Array;
  readonly latencies: Float64Array;
  delivered: number;
  first: number;
  last: number;
  readonly resolve: (result: CallResult) => void;
  readonly reject: (error: Error) => void;
}

/**
 * The readers' common end: every delivery of one row's subscribers lands here, is checked and
 * counted, and completes the current call once all its records have arrived.
 */
class Collector {
  readonly label: string;
  readonly subscribers: number;
  private call: Call | undefined;
  /** A failure outside a call (a stray record, a stream that died): the next call reports it. */
  private problem: Error | undefined;

  constructor(label: string, subscribers: number) {
    this.label = label;
    this.subscribers = subscribers;
  }

  start(id: number, records: number): Promise<CallResult> {
    return new Promise<CallResult>((resolve, reject) => {
      if (this.problem) {
        reject(this.problem);
        return;
      }
      this.call = {
        id,
        records,
        seen: new Uint8Array(records),
        latencies: new Float64Array(records),
        delivered: 0,
        first: 0,
        last: 0,
        resolve,
        reject,
      };
    });
  }

  /** Forgets the current call (it failed or timed out). */
  abandon(): void {
    this.call = undefined;
  }

  fail(error: Error): void {
    this.problem ??= error;
    const call = this.call;
    this.call = undefined;
    call?.reject(error);
  }

  /** One record reached subscriber `index`, whose own key is `own`. */
  deliver(index: number, own: Uint8Array, key: Uint8Array | null, value: Uint8Array): void {
    const at = now();
    const call = this.call;
    if (key === null || !sameBytes(own, key)) {
      this.fail(new Error(`${this.label}: subscriber ${index} received a record with another key`));
      return;
    }
    if (value.length < VALUE_LAYOUT.minBytes) {
      this.fail(new Error(`${this.label}: subscriber ${index} received a ${value.length}-byte value`));
      return;
    }
    const id = readU32(value, VALUE_LAYOUT.call);
    const seq = readU32(value, VALUE_LAYOUT.seq);
    if (call === undefined || id !== call.id) {
      this.fail(new Error(`${this.label}: record ${seq} of call ${id} arrived outside its call`));
      return;
    }
    if (seq >= call.records || seq % this.subscribers !== index || call.seen[seq] !== 0) {
      this.fail(new Error(`${this.label}: record ${seq} misrouted to subscriber ${index} or repeated`));
      return;
    }
    call.seen[seq] = 1;
    call.latencies[call.delivered] = at - readF64(value, VALUE_LAYOUT.sentAt);
    if (call.delivered === 0) call.first = at;
    call.last = at;
    call.delivered++;
    if (call.delivered === call.records) {
      this.call = undefined;
      call.resolve({ records: call.records, spanMs: call.last - call.first, latencies: call.latencies });
    }
  }
}

// --- the gateway's subscribers ---------------------------------------------------------------

/** A minimal fetch-stream reader: checks and counts records, returns credit frame by frame. */
class CacheReader implements StreamHandler {
  readonly index: number;
  readonly key: Uint8Array;
  readonly begin: KafkaFetchBeginEx;
  private readonly collector: Collector;
  private readonly progress: { caughtUp: number };
  stream: Stream | undefined;
  private caughtUp = false;
  /** Set when the benchmark closes the stream: its echo is not a failure. */
  private closing = false;
  /** A record arriving in fragments (not expected with a 64 KiB window): its parts so far. */
  private pending: { key: Uint8Array | null; parts: Uint8Array[] } | undefined;

  constructor(
    topic: string,
    index: number,
    key: string,
    collector: Collector,
    progress: { caughtUp: number },
  ) {
    this.index = index;
    this.key = encoder.encode(key);
    this.collector = collector;
    this.progress = progress;
    this.begin = {
      type: 'kafka',
      capability: 'fetch',
      topic,
      start: 'live',
      filters: [{ conditions: [{ key: this.key }] }],
    };
  }

  onData(frame: DataFrame): void {
    if (frame.first && frame.last) {
      this.collector.deliver(this.index, this.key, (frame.ext as KafkaRecordDataEx).key, frame.payload);
    } else {
      if (frame.first) this.pending = { key: (frame.ext as KafkaRecordDataEx).key, parts: [] };
      this.pending?.parts.push(frame.payload);
      if (frame.last && this.pending) {
        const { key, parts } = this.pending;
        this.pending = undefined;
        this.collector.deliver(this.index, this.key, key, Buffer.concat(parts));
      }
    }
    this.stream!.in.window(frame.credit);
  }

  onFlush(ext: unknown): void {
    if (!this.caughtUp && (ext as KafkaCaughtUpEx | undefined)?.kind === 'caught-up') {
      this.caughtUp = true;
      this.progress.caughtUp++;
    }
  }

  close(): void {
    this.closing = true;
    this.stream?.close({ code: 'BENCH_DONE' });
  }

  onEnd(): void {
    this.failed('ended');
  }

  onAbort(reason: StreamError): void {
    this.failed(`aborted: ${reason.code}`);
  }

  onReset(reason: StreamError): void {
    this.failed(`reset: ${reason.code}`);
  }

  private failed(how: string): void {
    if (!this.closing) this.collector.fail(new Error(`${this.collector.label}: stream ${this.index} ${how}`));
  }
}

interface MemorySample {
  readonly heap: number;
  readonly rss: number;
}

function sampleMemory(): MemorySample {
  collect();
  const usage = process.memoryUsage();
  return { heap: usage.heapUsed, rss: usage.rss };
}

interface PerStream {
  readonly n: number;
  readonly heap: number;
  readonly rss: number;
  /** Open + caught-up of all N, ms. */
  readonly openMs: number;
}

// --- the baseline ----------------------------------------------------------------------------

interface QueuedRecord {
  readonly key: Buffer | null;
  readonly value: Buffer;
}

interface BaselineSubscriber {
  readonly index: number;
  /** The key filter, as a string: the cheapest comparison we found for a naive loop. */
  readonly key: string;
  readonly keyBytes: Uint8Array;
  readonly queue: QueuedRecord[];
}

/**
 * One consumer for N in-memory subscribers: a `Consumer.fetch()` loop over all partitions from
 * their latest offsets; per record, every subscriber's key filter is tested and matches are
 * queued; after each response the non-empty queues are drained into the collector.
 */
class BaselineFanout {
  readonly collector: Collector;
  private readonly consumer: Consumer;
  private readonly topic: string;
  private subscribers: BaselineSubscriber[] = [];
  private stopped = false;
  private running: Promise<void> | undefined;

  constructor(consumer: Consumer, topic: string, collector: Collector) {
    this.consumer = consumer;
    this.topic = topic;
    this.collector = collector;
  }

  /** Builds the N subscribers (before start(), so that their memory can be measured alone). */
  subscribe(n: number): void {
    this.subscribers = Array.from({ length: n }, (_, index) => {
      const key = keyOf(index);
      return { index, key, keyBytes: encoder.encode(key), queue: [] };
    });
  }

  async start(): Promise<void> {
    const metadata = await this.consumer.metadata({ topics: [this.topic] });
    const topic = metadata.topics.get(this.topic);
    if (!topic) throw new Error(`no metadata for ${this.topic}`);
    const leaders = new Set(topic.partitions.map((partition) => partition.leader));
    const [leader] = leaders;
    if (leaders.size !== 1 || leader === undefined)
      throw new Error('expected one leader for every partition');
    const latest = (await this.consumer.listOffsets({ topics: [this.topic] })).get(this.topic) ?? [];
    if (latest.length !== PARTITIONS) throw new Error(`${this.topic}: ${latest.length} partitions`);
    const offsets = [...latest];
    this.running = this.loop(leader, topic.id, topic.partitions, offsets).catch((error: unknown) => {
      this.collector.fail(
        new Error(`${this.collector.label}: fetch loop failed: ${(error as Error).message}`, {
          cause: error,
        }),
      );
    });
  }

  private async loop(
    node: number,
    topicId: string,
    partitions: readonly { leaderEpoch: number }[],
    offsets: bigint[],
  ): Promise<void> {
    const subscribers = this.subscribers;
    const dirty: BaselineSubscriber[] = [];
    while (!this.stopped) {
      const response = await this.consumer.fetch({
        node,
        maxWaitTime: FETCH.maxWaitMs,
        minBytes: 1,
        maxBytes: FETCH.maxBytes,
        topics: [
          {
            topicId,
            partitions: offsets.map((fetchOffset, partition) => ({
              partition,
              fetchOffset,
              currentLeaderEpoch: partitions[partition]!.leaderEpoch,
              lastFetchedEpoch: -1,
              partitionMaxBytes: FETCH.partitionMaxBytes,
            })),
          },
        ],
      });
      if (this.stopped) return;
      for (const topic of response.responses) {
        for (const partition of topic.partitions) {
          if (partition.errorCode !== 0) {
            throw new Error(`partition ${partition.partitionIndex}: error ${partition.errorCode}`);
          }
          for (const batch of partition.records ?? []) {
            for (const record of batch.records) {
              // The filter loop: every subscriber's key filter, for every record.
              const key = record.key === null ? null : record.key.toString();
              const queued: QueuedRecord = { key: record.key, value: record.value ?? Buffer.alloc(0) };
              for (let s = 0; s < subscribers.length; s++) {
                const subscriber = subscribers[s]!;
                if (subscriber.key === key) {
                  if (subscriber.queue.length === 0) dirty.push(subscriber);
                  subscriber.queue.push(queued);
                }
              }
            }
            offsets[partition.partitionIndex] = batch.firstOffset + BigInt(batch.lastOffsetDelta) + 1n;
          }
        }
      }
      // Each subscriber reads its queue.
      for (const subscriber of dirty) {
        for (const record of subscriber.queue) {
          this.collector.deliver(subscriber.index, subscriber.keyBytes, record.key, record.value);
        }
        subscriber.queue.length = 0;
      }
      dirty.length = 0;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }
}

// --- the producer worker ---------------------------------------------------------------------

class ProducerWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<
    number,
    { resolve: (ms: number) => void; reject: (error: Error) => void }
  >();
  private next = 0;
  private exited = false;

  constructor(data: ProducerData) {
    this.worker = new Worker(new URL('./producer.ts', import.meta.url), { workerData: data });
    this.worker.on('message', (answer: ProduceAnswer) => {
      const waiter = this.pending.get(answer.id);
      this.pending.delete(answer.id);
      if (answer.type === 'done') waiter?.resolve(answer.ms);
      else waiter?.reject(new Error(`producer: ${answer.message}`));
    });
    const failAll = (error: Error) => {
      for (const waiter of this.pending.values()) waiter.reject(error);
      this.pending.clear();
    };
    this.worker.on('error', (error: unknown) =>
      failAll(error instanceof Error ? error : new Error(String(error))),
    );
    this.worker.on('exit', (code) => {
      this.exited = true;
      failAll(new Error(`producer worker exited with code ${code}`));
    });
  }

  /** Resolves with the time the producer took (first send to last acknowledgement), ms. */
  produce(job: Omit<ProduceJob, 'type' | 'id'>): Promise<number> {
    const id = ++this.next;
    return new Promise<number>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...job, type: 'produce', id } satisfies ProduceJob);
    });
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise((resolve) => this.worker.once('exit', resolve));
    this.worker.postMessage({ type: 'close' });
    try {
      await within('producer worker exit', 5_000, exited);
    } catch {
      await this.worker.terminate();
    }
  }
}

// --- the run ---------------------------------------------------------------------------------

/** One path (gateway or baseline) at one N, on its own topic. */
interface Path {
  readonly label: string;
  readonly kind: 'gateway' | 'baseline';
  readonly n: number;
  readonly topic: string;
  readonly collector: Collector;
  /** Per timed call: first → last deliveries/s, latencies, producer records/s, busy µs per delivery. */
  readonly rates: number[];
  readonly latencies: Float64Array[];
  readonly produced: number[];
  readonly busy: number[];
  calls: number;
  steady?: { rate: number; deliveriesPerSecond: number; p50: number; p99: number };
}

function latencyPercentiles(samples: readonly Float64Array[]): { p50: number; p99: number; min: number } {
  const all = new Float64Array(samples.reduce((sum, s) => sum + s.length, 0));
  let at = 0;
  for (const s of samples) {
    all.set(s, at);
    at += s.length;
  }
  all.sort();
  const pick = (p: number) =>
    all.length === 0
      ? Number.NaN
      : all[Math.min(all.length, Math.max(1, Math.ceil((p / 100) * all.length))) - 1]!;
  return { p50: pick(50), p99: pick(99), min: all.length === 0 ? Number.NaN : all[0]! };
}

export default async function kafkaCache(ctx: BenchContext): Promise<void> {
  const sizes = ctx.quick ? QUICK : FULL;
  info.baseline = names.baseline(sizes.large);
  info.subject = names.gateway(sizes.large);
  const run = randomUUID().slice(0, 8);

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

  try {
    kafka = await startKafka({
      log: (message) => ctx.log(message),
      heap: '1g',
      // Full JIT for the broker (the launcher's default is C1 only, for fast test starts).
      jvmArgs: ['-XX:TieredStopAtLevel=4'],
    });
    const bootstrap = kafka.bootstrap;

    const paths: Path[] = [];
    const path = (kind: Path['kind'], n: number): Path => {
      const label = kind === 'gateway' ? names.gateway(n) : names.baseline(n);
      const created: Path = {
        label,
        kind,
        n,
        topic: `bench-cache-${kind}-${n}-${run}`,
        collector: new Collector(label, n),
        rates: [],
        latencies: [],
        produced: [],
        busy: [],
        calls: 0,
      };
      paths.push(created);
      return created;
    };
    const gatewaySmall = path('gateway', sizes.small);
    const baselineSmall = path('baseline', sizes.small);
    const gatewayLarge = path('gateway', sizes.large);
    const baselineLarge = path('baseline', sizes.large);

    const admin = new Admin({ clientId: 'bench-kafka-cache-admin', bootstrapBrokers: [bootstrap] });
    closers.push({ name: 'admin', close: () => admin.close() });
    const topics = paths.map((p) => p.topic);
    await admin.createTopics({ topics, partitions: PARTITIONS, replicas: 1 });
    // One consumer per baseline path: Consumer.fetch() keeps one incremental fetch session per
    // broker, which two concurrent fetch loops on one consumer would break.
    const consumer = (name: string): Consumer => {
      const created = new Consumer({
        clientId: `bench-kafka-cache-${name}`,
        groupId: `bench-kafka-cache-unused-${run}`,
        bootstrapBrokers: [bootstrap],
      });
      closers.push({ name: `${name} consumer`, close: () => created.close(true) });
      return created;
    };
    const setupConsumer = consumer('setup');
    // Right after CreateTopics the leaders may not be known yet.
    const deadline = Date.now() + SETUP_TIMEOUT_MS;
    for (;;) {
      try {
        await setupConsumer.listOffsets({ topics });
        break;
      } catch (error) {
        if (Date.now() > deadline) throw new Error('topics not ready', { cause: error });
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }

    const producer = new ProducerWorker({ bootstrap });
    closers.push({ name: 'producer worker', close: () => producer.close() });

    // --- the gateway --------------------------------------------------------------------------
    const harness: TestHarness = await createTestKernel({
      config: {
        name: 'kafka-cache-bench',
        bindings: {
          app: {
            type: 'test',
            kind: 'server',
            routes: [{ when: [{ route: 'kafka' }], exit: 'kafka_cache' }],
          },
          kafka_cache: { type: 'kafka', kind: 'cache', exit: 'kafka_client', options: {} },
          kafka_client: { type: 'kafka', kind: 'client', options: { servers: [bootstrap] } },
        },
      },
      plugins: [plugin],
      logLevel: 'warn',
    });
    const readers: CacheReader[] = [];
    closers.push({
      name: 'gateway',
      close: async () => {
        for (const reader of readers) reader.close();
        await harness.stop(5_000);
      },
    });
    const cache = harness.gateway.binding('kafka_cache') as KafkaCacheBinding;
    const openReader = (reader: CacheReader): void => {
      reader.stream = harness.gateway.engine.open('app', 'kafka_cache', { ext: reader.begin }, reader);
      reader.stream.in.window(STREAM_WINDOW);
    };

    const memory: PerStream[] = [];
    const gatewaySubscribers = async (p: Path): Promise<void> => {
      // Hydrate the topic first (one probe stream on a key nobody produces, then closed), so
      // that the memory below is the streams' and not the topic's.
      const probeProgress = { caughtUp: 0 };
      const probe = new CacheReader(p.topic, -1, 'probe', p.collector, probeProgress);
      openReader(probe);
      await until(`${p.topic} hydrated`, () => probeProgress.caughtUp === 1);
      probe.close();

      const progress = { caughtUp: 0 };
      const mine = Array.from(
        { length: p.n },
        (_, i) => new CacheReader(p.topic, i, keyOf(i), p.collector, progress),
      );
      readers.push(...mine); // closed at teardown, also if opening fails half-way
      const before = sampleMemory();
      const started = performance.now();
      for (const reader of mine) openReader(reader);
      await until(`${p.label}: streams live`, () => progress.caughtUp === p.n);
      const openMs = performance.now() - started;
      const after = sampleMemory();
      const stats = cache.stats().find((s) => s.topic === p.topic);
      if (stats?.live !== p.n || stats.subscribers !== p.n) {
        throw new Error(
          `${p.label}: the cache holds ${JSON.stringify(stats)}, expected ${p.n} live subscribers`,
        );
      }
      memory.push({
        n: p.n,
        heap: (after.heap - before.heap) / p.n,
        rss: (after.rss - before.rss) / p.n,
        openMs,
      });
      ctx.log(
        `${p.label}: ${count(p.n)} streams live in ${Math.round(openMs)} ms; per stream ` +
          `heap ${formatBytes((after.heap - before.heap) / p.n)}, RSS ${formatBytes((after.rss - before.rss) / p.n)}`,
      );
    };
    await gatewaySubscribers(gatewaySmall);
    await gatewaySubscribers(gatewayLarge);
    if (harness.gateway.engine.openStreams('kafka_client') !== 2) {
      throw new Error(
        `expected one upstream fetch per topic (2), the client has ${harness.gateway.engine.openStreams('kafka_client')} streams`,
      );
    }

    // --- the baseline ---------------------------------------------------------------------------
    const baselineMemory: PerStream[] = [];
    const baselines = new Map<Path, BaselineFanout>();
    for (const p of [baselineSmall, baselineLarge]) {
      const fanout = new BaselineFanout(consumer(`baseline-${p.n}`), p.topic, p.collector);
      const before = sampleMemory();
      fanout.subscribe(p.n);
      const after = sampleMemory();
      baselineMemory.push({
        n: p.n,
        heap: (after.heap - before.heap) / p.n,
        rss: (after.rss - before.rss) / p.n,
        openMs: 0,
      });
      await fanout.start();
      closers.push({ name: `${p.label} loop`, close: () => fanout.stop() });
      baselines.set(p, fanout);
    }

    // --- calls ----------------------------------------------------------------------------------
    let callIds = 0;
    const call = async (
      p: Path,
      records: number,
      rate: number,
    ): Promise<CallResult & { producerMs: number; busyMs: number }> => {
      const id = ++callIds;
      const steady = Number.isFinite(rate);
      const delivered = p.collector.start(id, records);
      const loop = performance.eventLoopUtilization();
      try {
        const [result, producerMs] = await within(
          `${p.label}: call of ${records} records`,
          CALL_TIMEOUT_MS,
          Promise.all([
            delivered,
            producer.produce({
              topic: p.topic,
              keys: p.n,
              records,
              call: id,
              rate,
              batch: steady ? Math.max(1, Math.round((rate * STEADY_TICK_MS) / 1000)) : LOAD.batch,
              inflight: LOAD.inflight,
              valueBytes: VALUE_BYTES,
            }),
          ]),
        );
        // Main-thread time spent outside the event loop's idle wait: the path's work on the call.
        const busyMs = performance.eventLoopUtilization(loop).active;
        return { ...result, producerMs, busyMs };
      } catch (error) {
        p.collector.abandon();
        throw error;
      }
    };

    // Steady-rate latency, once every path has been warmed up by one call under load.
    for (const p of paths) await call(p, sizes.records, Infinity);
    for (const p of paths) {
      const records = sizes.steadyRate * sizes.steadySeconds;
      const result = await call(p, records, sizes.steadyRate);
      const { p50, p99 } = latencyPercentiles([result.latencies]);
      p.steady = {
        rate: sizes.steadyRate,
        deliveriesPerSecond: (result.records / result.spanMs) * 1000,
        p50,
        p99,
      };
      ctx.log(
        `${p.label}: at ${count(sizes.steadyRate)} records/s, latency p50 ${formatMs(p50)} ms, p99 ${formatMs(p99)} ms`,
      );
    }

    // --- rows -----------------------------------------------------------------------------------
    const timing = { ops: sizes.records, warmup: sizes.warmup, iterations: sizes.iterations };
    for (const p of [baselineLarge, gatewayLarge, baselineSmall, gatewaySmall]) {
      ctx.measure(
        p.label,
        async () => {
          const result = await call(p, sizes.records, Infinity);
          if (p.calls++ < sizes.warmup) return;
          p.rates.push((result.records / result.spanMs) * 1000);
          p.latencies.push(result.latencies);
          p.produced.push((result.records / result.producerMs) * 1000);
          p.busy.push((result.busyMs * 1000) / result.records);
        },
        timing,
      );
    }

    ctx.teardown(async () => {
      try {
        info.description = describe(sizes, paths, memory, baselineMemory, gc !== undefined, cache.memoryUsed);
        // Send times come from the worker's clock, arrival times from the main thread's.
        const earliest = Math.min(...paths.map((p) => latencyPercentiles(p.latencies).min));
        ctx.log(`smallest latency measured: ${formatMs(earliest)} ms`);
        if (earliest < -1) ctx.log("warning: negative latencies: the two threads' clocks disagree");
        ctx.log(info.description);
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

function describe(
  sizes: Sizes,
  paths: readonly Path[],
  memory: readonly PerStream[],
  baselineMemory: readonly PerStream[],
  collected: boolean,
  cached: number,
): string {
  const find = (kind: Path['kind'], n: number) => paths.find((p) => p.kind === kind && p.n === n)!;
  const bytes = (value: number) => formatBytes(Math.round(value));
  const pair = (a: number, b: number) => `${formatMs(a)} / ${formatMs(b)}`;
  const lines: string[] = [
    `N live subscribers, each filtering on its own record key; records produced round-robin over the N keys ` +
      `by a plain @platformatic/kafka producer in a worker thread (${VALUE_BYTES}-byte values carrying the send ` +
      `time), each row on its own ${PARTITIONS}-partition topic of one local Kafka broker. Subject: the gateway ` +
      `(test server → kafka cache → kafka client, default options) with N fetch streams, each with a key filter ` +
      `and a ${STREAM_WINDOW / 1024} KiB window returned as read. Baseline: one Consumer.fetch() loop (no group, ` +
      `the gateway client's fetch sizes and wait) testing all N key filters per record and queueing each match ` +
      `for its subscriber. Every delivery is checked (key, subscriber, call, no repeat). A timed call produces ` +
      `${count(sizes.records)} records as fast as the producer sends (${LOAD.batch} per send, ${LOAD.inflight} in ` +
      `flight) and ends at the last delivery: the big table's deliveries/s runs from the call's start, the table ` +
      `below from first delivery to last (medians of the timed calls); the big table's "vs baseline" compares ` +
      `every row with the ${count(sizes.large)}-filter baseline, the table below each gateway row with the ` +
      `baseline of the same N. Busy = main-thread event-loop time per ` +
      `delivery (the fan-out's own work, whatever limits the rate). Latency = send → reader; under load it ` +
      `includes waiting behind the call's earlier records; the steady rate is one both paths sustain. ` +
      `Method and caveats: benchmarks/kafka-cache/README.md.`,
    '',
    '| N | path | deliveries/s, first → last | vs baseline | busy µs / delivery | producer records/s | ' +
      `latency p50 / p99 under load (ms) | latency p50 / p99 at ${count(sizes.steadyRate)} records/s (ms) |`,
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const n of [sizes.large, sizes.small]) {
    const gateway = find('gateway', n);
    const baseline = find('baseline', n);
    for (const p of [gateway, baseline]) {
      const load = latencyPercentiles(p.latencies);
      const ratio = median(p.rates) / median(baseline.rates);
      lines.push(
        `| ${count(n)} | ${p.kind === 'gateway' ? 'tributary kafka cache' : 'baseline loop'} | ` +
          `${formatCount(median(p.rates))} | ${Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : 'n/a'} | ` +
          `${median(p.busy).toFixed(1)} | ${formatCount(median(p.produced))} | ${pair(load.p50, load.p99)} | ` +
          `${p.steady ? pair(p.steady.p50, p.steady.p99) : 'n/a'} |`,
      );
    }
  }
  lines.push(
    '',
    `Memory per idle live fetch stream, gateway (${collected ? 'after a forced GC' : 'no GC available (run without --expose-gc): noisy'}; ` +
      `the readers and begin extensions are allocated before the first sample, so this is the gateway's share):`,
    '',
    '| N | heap / stream | RSS / stream | N streams live in | baseline subscriber heap |',
    '| ---: | ---: | ---: | ---: | ---: |',
  );
  for (const m of memory) {
    const base = baselineMemory.find((b) => b.n === m.n);
    lines.push(
      `| ${count(m.n)} | ${bytes(m.heap)} | ${bytes(m.rss)} | ${formatCount(m.openMs)} ms | ${base ? bytes(base.heap) : 'n/a'} |`,
    );
  }
  lines.push(
    '',
    `At the end the cache held ${bytes(cached)} of records (its default budget is 256 MiB), which the ` +
      `gateway keeps so that late subscribers can replay; the process's RSS includes it.`,
    '',
  );
  return lines.join('\n');
}
