/**
 * What the `sse` benchmark's records and events look like, shared by the producer, the in-memory
 * baseline and the clients: the key of subscriber `i` is `k-<i>`, and a value is a JSON object of
 * exactly `bytes` bytes holding the call id, the record's sequence number, its key and its send
 * time, padded:
 *
 *     {"c":3,"s":12345,"k":"k-123","t":1712345678901.123,"p":"xxxx…"}
 *
 * The send time is `performance.timeOrigin + performance.now()` (ms since the epoch, sub-ms),
 * read in the process that creates the record; clients read the same clock on arrival.
 *
 * @module
 */
import { performance } from 'node:perf_hooks';

/** The key of subscriber `index`, as produced and as subscribed to (`/events/k-<index>`). */
export const keyOf = (index: number): string => `k-${index}`;

/** Wall-clock ms with sub-ms precision, comparable across processes on one machine. */
export const now = (): number => performance.timeOrigin + performance.now();

/** Bytes of every record value. */
export const VALUE_BYTES = 128;

export interface RecordValue {
  readonly c: number;
  readonly s: number;
  readonly k: string;
  readonly t: number;
}

/** A value of exactly `bytes` bytes (ASCII). */
export function valueOf(call: number, seq: number, key: string, sentAt: number, bytes = VALUE_BYTES): string {
  const head = `{"c":${call},"s":${seq},"k":"${key}","t":${sentAt.toFixed(3)},"p":"`;
  const fill = bytes - head.length - 2;
  if (fill < 0) throw new Error(`${bytes} bytes is too small for a record value`);
  return `${head}${'x'.repeat(fill)}"}`;
}

/** A produce (or, for the baseline, emit) job: `keys × perKeyRate` records/s for `seconds`. */
export interface RateJob {
  readonly call: number;
  /** Subscribers' keys `k-0` … `k-<keys-1>`; record `seq` is for key `seq % keys`. */
  readonly keys: number;
  /** Records per second per key. */
  readonly perKeyRate: number;
  readonly seconds: number;
}

/** What a producer (or the baseline's timer) reports about a job. */
export interface RateResult {
  /** Records sent (or written to the matching connections' sockets). */
  readonly sent: number;
  /** Ms from the first to the last batch. */
  readonly ms: number;
  /** Largest delay of a batch behind its schedule, ms: the source itself fell behind when large. */
  readonly maxBehindMs: number;
  readonly errors: number;
}

/** Tick of the rate loops: records due in each 10 ms go out together. */
export const TICK_MS = 10;

/**
 * Runs `emit(from, to)` for the records due so far every TICK_MS, so that record `seq` leaves
 * at about `start + seq / rate` (never earlier), until `total` records have left.
 */
export async function paced(
  total: number,
  rate: number,
  emit: (from: number, to: number) => void | Promise<void>,
): Promise<{ ms: number; maxBehindMs: number }> {
  const started = now();
  let next = 0;
  let maxBehindMs = 0;
  while (next < total) {
    const t = now() - started;
    const due = Math.min(total, Math.floor((t / 1000) * rate) + 1);
    if (due > next) {
      maxBehindMs = Math.max(maxBehindMs, t - (next / rate) * 1000);
      const from = next;
      next = due;
      await emit(from, due);
    }
    if (next < total) {
      const wait = started + (next / rate) * 1000 - now();
      await new Promise((resolve) => setTimeout(resolve, Math.max(TICK_MS, wait)));
    }
  }
  return { ms: now() - started, maxBehindMs };
}
