/**
 * The `sse` benchmark's record source for the gateway: a plain `@platformatic/kafka` producer in a
 * process of its own (IPC from bench.ts), so that producing takes no CPU from the gateway's event
 * loop nor the clients'. For each {@link ProduceJob} it writes `keys × perKeyRate` records/s for
 * `seconds`, round-robin over the keys (record `seq` for key `k-<seq % keys>`), in batches of the
 * records due every 10 ms, each value stamped with its send time (./records.ts), and answers
 * with a {@link RateResult} (or `{ error }`).
 *
 * Environment: KAFKA_BOOTSTRAP.
 *
 * @module
 */
import { ProduceAcks, Producer, type MessageToProduce } from '@platformatic/kafka';
import { keyOf, now, paced, valueOf, type RateJob, type RateResult } from './records.ts';

export interface ProduceJob extends RateJob {
  readonly topic: string;
}

/** Sends in flight at most; a batch waits for a slot (and counts as behind schedule). */
const INFLIGHT = 8;
/** Records per send at most. */
const BATCH = 1_000;

const producer = new Producer({
  clientId: 'bench-sse-producer',
  bootstrapBrokers: [process.env['KAFKA_BOOTSTRAP'] ?? 'localhost:9092'],
  idempotent: false,
  compression: 'none',
  autocreateTopics: false,
  acks: ProduceAcks.LEADER,
});

async function produce(job: ProduceJob): Promise<RateResult> {
  const keys = Array.from({ length: job.keys }, (_, i) => Buffer.from(keyOf(i)));
  const inflight = new Set<Promise<void>>();
  let errors = 0;
  let firstError: unknown;
  const total = Math.round(job.keys * job.perKeyRate * job.seconds);
  const timing = await paced(total, job.keys * job.perKeyRate, async (due, to) => {
    // A source behind schedule has many records due at once: sends of at most BATCH records each
    // (one send is one batch per partition, which must stay under the broker's message size).
    for (let from = due; from < to; from += BATCH) {
      while (inflight.size >= INFLIGHT) await Promise.race(inflight);
      const end = Math.min(to, from + BATCH);
      const sentAt = now();
      const messages: MessageToProduce<Buffer, Buffer, Buffer, Buffer>[] = [];
      for (let seq = from; seq < end; seq++) {
        const i = seq % job.keys;
        messages.push({
          topic: job.topic,
          key: keys[i]!,
          value: Buffer.from(valueOf(job.call, seq, keyOf(i), sentAt)),
        });
      }
      const send: Promise<void> = producer.send({ messages }).then(
        () => void inflight.delete(send),
        (error: unknown) => {
          errors += end - from;
          firstError ??= error;
          inflight.delete(send);
        },
      );
      inflight.add(send);
    }
  });
  await Promise.all(inflight);
  if (errors > 0)
    process.stderr.write(`bench sse producer: ${errors} records failed: ${String(firstError)}\n`);
  return { sent: total - errors, ms: timing.ms, maxBehindMs: timing.maxBehindMs, errors };
}

if (process.send === undefined)
  throw new Error('producer.ts runs as a child of bench.ts, with an IPC channel');
process.on('message', (job: ProduceJob | { type: 'close' }) => {
  if ('type' in job) {
    void producer
      .close()
      .catch(() => undefined)
      .finally(() => process.exit(0));
    return;
  }
  produce(job).then(
    (result) => process.send!(result),
    (error: unknown) => process.send!({ error: String((error as Error).stack ?? error) }),
  );
});
