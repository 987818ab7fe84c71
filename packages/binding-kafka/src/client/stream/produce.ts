/**
 * The `produce` capability: records from the opener, acknowledgements back.
 *
 * - The reply begins once the topic's metadata is known; then the stream grants
 *   `produce.windowBytes` of credit.
 * - Each message (fragments joined) becomes one record. Records arriving in the same tick (or
 *   within `lingerMs`) form one batch; one batch per stream is in flight at a time, so records
 *   of a stream reach Kafka in order, and what arrives meanwhile forms the next batch.
 * - Every record is answered by a flush carrying a `KafkaAckEx`, in record order: `ack` only for
 *   what Kafka acknowledged at the requested level (with `acks: none`, once the request was
 *   written; the offset is then -1), `nack` otherwise. A record is answered once, never both.
 * - Credit for a record is returned only when it is answered, so a slow broker stalls the
 *   producer instead of growing memory. The fragments of a message still being assembled are
 *   returned at once (a message larger than the window could never complete otherwise), so a
 *   stream holds at most `windowBytes + maxRecordBytes`.
 * - The reply ends once the opener has ended and every answer has been sent.
 *
 * @module
 */
import type { DataFrame, Extension, Stream, StreamError, StreamHandler } from '@tributary/kernel';
import type { KafkaAckEx, KafkaAcks, KafkaProduceBeginEx } from '../../index.ts';
import { parseProduceData, type RecordIntent } from '../begin.ts';
import { partitionForKey } from '../partitioner.ts';
import type { ProduceOutcome, ProduceRecord } from '../port.ts';
import {
  clientFailure,
  streamError,
  type ClientContext,
  type ClientStream,
  type Failure,
} from './support.ts';

interface Pending {
  /** Credit to return once answered (the message's last fragment). */
  readonly credit: number;
  readonly correlation: string | undefined;
  readonly intent: RecordIntent | undefined;
  answer: KafkaAckEx | undefined;
}

interface Batch {
  readonly records: readonly Pending[];
  /** Set when the batch timed out: a late outcome is ignored. */
  expired: boolean;
  timer: NodeJS.Timeout | undefined;
}

export class ProduceStream implements ClientStream {
  readonly handler: StreamHandler;
  private readonly ctx: ClientContext;
  private readonly app: Stream;
  private readonly topic: string;
  private readonly acks: KafkaAcks;
  private readonly timeoutMs: number;
  /** Answers owed, in record order. */
  private readonly answers: Pending[] = [];
  /** Records not yet sent. */
  private readonly queue: Pending[] = [];
  private inflight: Batch | undefined;
  private sendScheduled: NodeJS.Immediate | NodeJS.Timeout | undefined;
  /** The message being assembled from fragments. */
  private parts: Uint8Array[] = [];
  private partsBytes = 0;
  private partsExt: Extension | undefined;
  private state: 'opening' | 'open' | 'closed' = 'opening';
  private appEnded = false;

  constructor(ctx: ClientContext, app: Stream, begin: KafkaProduceBeginEx) {
    this.ctx = ctx;
    this.app = app;
    this.topic = begin.topic;
    this.acks = begin.acks ?? ctx.options.produce.acks;
    this.timeoutMs = Math.min(
      begin.timeoutMs ?? ctx.options.produce.timeoutMs,
      ctx.options.produce.timeoutMs,
    );
    this.handler = {
      onData: (frame) => this.onAppData(frame),
      onEnd: () => this.onAppEnd(),
      onAbort: (reason) => this.onAppAbort(reason),
      onReset: (reason) => this.onAppReset(reason),
    };
  }

  /**
   * Opens the reply and grants credit at once: whether Kafka is reachable, and whether the topic
   * exists, is answered per record (each batch looks the topic up), so that an unreachable
   * cluster yields `nack`s rather than a failed stream.
   */
  start(): void {
    this.state = 'open';
    this.app.out.begin();
    this.app.in.window(this.ctx.options.produce.windowBytes);
  }

  shutdown(reason: StreamError): void {
    this.release();
    this.app.close(reason);
  }

  // --- app side ---

  private onAppData(frame: DataFrame): void {
    if (this.state === 'closed') return;
    if (frame.first) {
      this.parts = [];
      this.partsBytes = 0;
      this.partsExt = frame.ext;
    }
    this.partsBytes += frame.payload.byteLength;
    // Bytes beyond the largest record are dropped: the record will be refused anyway.
    if (this.partsBytes <= this.ctx.options.produce.maxRecordBytes) this.parts.push(frame.payload);
    if (!frame.last) {
      this.app.in.window(frame.credit);
      return;
    }
    const size = this.partsBytes;
    const payload = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    const ext = this.partsExt;
    this.parts = [];
    this.partsBytes = 0;
    this.partsExt = undefined;
    this.onAppRecord(payload, size, ext, frame.credit);
  }

  private onAppRecord(payload: Uint8Array, size: number, ext: Extension | undefined, credit: number): void {
    const parsed = parseProduceData(ext, payload);
    const pending: Pending = {
      credit,
      correlation: parsed.correlation,
      intent: parsed.record.ok ? parsed.record.value : undefined,
      answer: undefined,
    };
    this.answers.push(pending);
    if (!parsed.record.ok) {
      this.answer(pending, clientFailure('invalid-record', parsed.record.reason));
    } else if (size > this.ctx.options.produce.maxRecordBytes) {
      this.answer(
        pending,
        clientFailure(
          'invalid-record',
          `the record of ${size} bytes exceeds produce.maxRecordBytes (${this.ctx.options.produce.maxRecordBytes})`,
        ),
      );
    } else {
      this.queue.push(pending);
      this.scheduleSend();
    }
    this.flushAnswers();
  }

  private onAppEnd(): void {
    this.appEnded = true;
    this.maybeEnd();
  }

  private onAppAbort(reason: StreamError): void {
    // The opener gave up: nothing is answered any more; what is in flight may still land.
    this.release();
    this.app.out.abort(reason);
  }

  private onAppReset(reason: StreamError): void {
    this.release();
    this.app.in.reset(reason);
  }

  // --- net side ---

  private scheduleSend(): void {
    if (this.state !== 'open' || this.inflight !== undefined || this.sendScheduled !== undefined) return;
    if (this.queue.length === 0) return;
    const { lingerMs, maxBatchRecords } = this.ctx.options.produce;
    // Records that arrive in the same tick go together; `lingerMs` waits a little longer.
    this.sendScheduled =
      lingerMs > 0 && this.queue.length < maxBatchRecords
        ? setTimeout(() => this.doNetSend(), lingerMs)
        : setImmediate(() => this.doNetSend());
  }

  private doNetSend(): void {
    this.sendScheduled = undefined;
    if (this.state !== 'open' || this.inflight !== undefined || this.queue.length === 0) return;
    const records = this.queue.splice(0, this.ctx.options.produce.maxBatchRecords);
    const batch: Batch = { records, expired: false, timer: undefined };
    this.inflight = batch;
    batch.timer = setTimeout(() => this.onNetTimeout(batch), this.timeoutMs);
    this.ctx.port.metadata(this.topic).then(
      (metadata) => {
        if (batch.expired || this.state === 'closed') return;
        if (!metadata.ok) this.onNetOutcomes(batch, [], [], metadata.error);
        else this.doNetProduce(batch, metadata.value.partitions.length);
      },
      (cause: unknown) => this.onNetOutcomes(batch, [], [], clientFailure('internal', String(cause))),
    );
  }

  /** Chooses each record's partition (see `partitioner.ts`) and writes the batch. */
  private doNetProduce(batch: Batch, count: number): void {
    const sticky = this.ctx.sticky.next(this.topic, count);
    const sent: Pending[] = [];
    const wire: ProduceRecord[] = [];
    for (const pending of batch.records) {
      const intent = pending.intent!;
      let partition: number;
      if (intent.partition === undefined)
        partition = intent.key === null ? sticky : partitionForKey(intent.key, count);
      else if (intent.partition < count) partition = intent.partition;
      else {
        const why = `partition ${intent.partition} does not exist (topic "${this.topic}" has ${count})`;
        this.answer(pending, clientFailure('invalid-record', why));
        continue;
      }
      const record: { -readonly [K in keyof ProduceRecord]: ProduceRecord[K] } = {
        partition,
        key: intent.key,
        value: intent.value,
        headers: intent.headers,
      };
      if (intent.timestamp !== undefined) record.timestamp = intent.timestamp;
      sent.push(pending);
      wire.push(record);
    }
    if (wire.length === 0) {
      this.onNetOutcomes(batch, [], [], undefined);
      return;
    }
    this.ctx.port.produce(this.topic, wire, this.acks).then(
      (outcomes) => this.onNetOutcomes(batch, sent, outcomes, undefined),
      (cause: unknown) => this.onNetOutcomes(batch, [], [], clientFailure('internal', String(cause))),
    );
  }

  /** Answers the batch: `sent[i]` by `outcomes[i]`, anything left unanswered by `failure`. */
  private onNetOutcomes(
    batch: Batch,
    sent: readonly Pending[],
    outcomes: readonly ProduceOutcome[],
    failure: Failure | undefined,
  ): void {
    if (batch.expired || this.state === 'closed') return;
    sent.forEach((pending, i) => {
      const outcome = outcomes[i];
      if (pending.answer !== undefined || outcome === undefined) return;
      if (outcome.ok) {
        pending.answer = {
          type: 'kafka',
          kind: 'ack',
          correlation: pending.correlation,
          partition: outcome.partition,
          offset: outcome.offset,
        };
      } else this.answer(pending, outcome.error);
    });
    const fallback = failure ?? clientFailure('internal', 'Kafka gave no outcome for the record');
    for (const pending of batch.records) if (pending.answer === undefined) this.answer(pending, fallback);
    this.finishBatch(batch);
  }

  private onNetTimeout(batch: Batch): void {
    if (batch.expired || this.state === 'closed') return;
    // Kafka may still write these records; they are nacked, never acked.
    const down = this.ctx.monitor.state === 'down' || this.ctx.monitor.state === 'refused';
    const reason: Failure = down
      ? {
          reason: 'unavailable',
          message: `Kafka could not be reached within ${this.timeoutMs} ms`,
          retriable: true,
        }
      : { reason: 'timeout', message: `no acknowledgement within ${this.timeoutMs} ms`, retriable: true };
    for (const pending of batch.records) this.answer(pending, reason);
    this.finishBatch(batch);
  }

  private finishBatch(batch: Batch): void {
    if (batch.timer !== undefined) clearTimeout(batch.timer);
    batch.timer = undefined;
    batch.expired = true;
    if (this.inflight === batch) this.inflight = undefined;
    this.flushAnswers();
    this.scheduleSend();
  }

  // --- answers ---

  private answer(pending: Pending, failure: Failure): void {
    if (pending.answer !== undefined) return;
    const error = streamError(this.ctx, failure, {
      operation: 'produce',
      topic: this.topic,
      ms: this.timeoutMs,
    });
    pending.answer = { type: 'kafka', kind: 'nack', correlation: pending.correlation, error: error.ext };
  }

  /** Sends the answers that are due, in record order, returning their credit. */
  private flushAnswers(): void {
    while (this.state === 'open' && this.answers.length > 0 && this.answers[0]!.answer !== undefined) {
      const pending = this.answers.shift()!;
      this.app.out.flush(pending.answer);
      this.app.in.window(pending.credit);
    }
    this.maybeEnd();
  }

  private maybeEnd(): void {
    if (this.state !== 'open' || !this.appEnded || this.answers.length > 0) return;
    this.app.out.end();
    this.release();
  }

  /** Forgets everything; safe to call more than once. */
  private release(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (this.sendScheduled !== undefined) {
      clearTimeout(this.sendScheduled as NodeJS.Timeout);
      clearImmediate(this.sendScheduled as NodeJS.Immediate);
    }
    this.sendScheduled = undefined;
    if (this.inflight?.timer !== undefined) clearTimeout(this.inflight.timer);
    if (this.inflight) this.inflight.expired = true;
    this.inflight = undefined;
    this.queue.length = 0;
    this.answers.length = 0;
    this.ctx.closed(this);
  }
}
