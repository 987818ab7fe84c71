/**
 * The kafka-cache benchmark's record source: a plain `@platformatic/kafka` producer in a worker
 * thread, so that producing costs the measured thread (the gateway's fan-out, or the baseline's)
 * no event-loop time. The main thread posts jobs ({@link ProduceJob}) and gets one answer per
 * job ({@link ProduceAnswer}).
 *
 * Record `seq` of a job gets key `k-<seq % keys>` (round-robin over the subscribers' keys, so
 * every record matches exactly one subscriber) and a value of `valueBytes` bytes laid out as
 * {@link VALUE_LAYOUT}: the send time (ms on the clock `performance.timeOrigin +
 * performance.now()`, comparable across threads), the job's call id and `seq`.
 *
 * @module
 */
import { performance } from 'node:perf_hooks';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { ProduceAcks, Producer, type MessageToProduce } from '@platformatic/kafka';

/** Byte offsets in a record value. */
export const VALUE_LAYOUT = { sentAt: 0, call: 8, seq: 12, minBytes: 16 } as const;

export interface ProduceJob {
  readonly type: 'produce';
  /** Answer id. */
  readonly id: number;
  readonly topic: string;
  /** Number of subscriber keys (`k-0` … `k-<keys-1>`). */
  readonly keys: number;
  readonly records: number;
  /** Written into every value; the readers check it. */
  readonly call: number;
  /** Target records per second; `Infinity` = as fast as the sends complete. */
  readonly rate: number;
  /** Records per send. */
  readonly batch: number;
  /** Sends in flight at most. */
  readonly inflight: number;
  readonly valueBytes: number;
}

export type ProduceAnswer =
  | { readonly type: 'done'; readonly id: number; readonly sent: number; readonly ms: number }
  | { readonly type: 'error'; readonly id: number; readonly message: string };

export interface ProducerData {
  readonly bootstrap: string;
}

/** The key of subscriber `index`, as produced and as filtered on. */
export const keyOf = (index: number): string => `k-${index}`;

const now = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function serve(): void {
  const port = parentPort!;
  const { bootstrap } = workerData as ProducerData;
  const producer = new Producer({
    clientId: 'bench-kafka-cache-producer',
    bootstrapBrokers: [bootstrap],
    idempotent: false,
    compression: 'none',
    autocreateTopics: false,
    acks: ProduceAcks.LEADER,
  });
  const keyCache = new Map<number, Buffer[]>();
  const keysFor = (count: number): Buffer[] => {
    let keys = keyCache.get(count);
    if (!keys) {
      keys = Array.from({ length: count }, (_, i) => Buffer.from(keyOf(i)));
      keyCache.set(count, keys);
    }
    return keys;
  };

  const produce = async (job: ProduceJob): Promise<number> => {
    const keys = keysFor(job.keys);
    const started = now();
    const inflight = new Set<Promise<void>>();
    let failure: Error | undefined;
    let next = 0;
    while (next < job.records && failure === undefined) {
      // Batch k is due at started + k·batch/rate: a steady rate, whatever the sends' latency.
      const wait = started + (next / job.rate) * 1000 - now();
      if (wait >= 1) await sleep(wait);
      while (inflight.size >= job.inflight) await Promise.race(inflight);
      const size = Math.min(job.batch, job.records - next);
      const messages: MessageToProduce<Buffer, Buffer, Buffer, Buffer>[] = [];
      const sentAt = now();
      for (let i = 0; i < size; i++) {
        const seq = next + i;
        const value = Buffer.alloc(job.valueBytes);
        value.writeDoubleLE(sentAt, VALUE_LAYOUT.sentAt);
        value.writeUInt32LE(job.call, VALUE_LAYOUT.call);
        value.writeUInt32LE(seq, VALUE_LAYOUT.seq);
        messages.push({ topic: job.topic, key: keys[seq % job.keys]!, value });
      }
      next += size;
      const send: Promise<void> = producer.send({ messages }).then(
        () => void inflight.delete(send),
        (error: unknown) => {
          failure ??= error instanceof Error ? error : new Error(String(error));
          inflight.delete(send);
        },
      );
      inflight.add(send);
    }
    await Promise.all(inflight);
    if (failure !== undefined) throw failure;
    return next;
  };

  port.on('message', (message: ProduceJob | { type: 'close' }) => {
    if (message.type === 'close') {
      void producer
        .close()
        .catch(() => undefined)
        .finally(() => port.close());
      return;
    }
    const started = now();
    produce(message).then(
      (sent) =>
        port.postMessage({ type: 'done', id: message.id, sent, ms: now() - started } satisfies ProduceAnswer),
      (error: unknown) =>
        port.postMessage({
          type: 'error',
          id: message.id,
          message: error instanceof Error ? error.message : String(error),
        } satisfies ProduceAnswer),
    );
  });
}

if (!isMainThread && parentPort) serve();
