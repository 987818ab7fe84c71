import type { StreamError } from '@tributary/kernel';
import type { KafkaHeader } from '../index.ts';

/** One record as the cache keeps it. The value may be dropped by compaction or eviction. */
export interface Entry {
  readonly offset: bigint;
  readonly timestamp: number;
  readonly key: Uint8Array | null;
  readonly headers: readonly KafkaHeader[];
  /** Null for a tombstone. */
  readonly value: Uint8Array | null;
  /** Bytes this entry holds (key, headers, value). */
  readonly size: number;
  /** A later record with the same key exists (compacted topics only). */
  superseded: boolean;
}

export function entrySize(
  key: Uint8Array | null,
  headers: readonly KafkaHeader[],
  value: Uint8Array | null,
): number {
  let size = 64 + (key?.byteLength ?? 0) + (value?.byteLength ?? 0);
  for (const header of headers) size += header.name.length + (header.value?.byteLength ?? 0) + 16;
  return size;
}

/**
 * The bytes in a buffer of their own. Fetched records are views into the response buffer of a
 * whole fetch; keeping a view would keep that entire buffer alive, so the cache copies what it
 * keeps, and its accounting stays true.
 */
export function own(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
}

export function ownHeaders(headers: readonly KafkaHeader[]): readonly KafkaHeader[] {
  // Most records carry no headers: keep the (empty) array rather than allocate one per record.
  if (headers.length === 0) return headers;
  return headers.map((h) => (h.value === null ? h : { name: h.name, value: own(h.value) }));
}

/** A stream close reason from a coded error. */
export function closing(error: { code: string; message: string }): StreamError {
  return { code: error.code, message: error.message };
}

/** Placeholder for evicted slots below the log's head, which are never read. */
const EVICTED: Entry = Object.freeze({
  offset: -1n,
  timestamp: 0,
  key: null,
  headers: [],
  value: null,
  size: 0,
  superseded: true,
});

/** Latin-1 string of the bytes: a cheap, exact map key for record keys. */
export function keyString(key: Uint8Array | null): string | null {
  if (key === null) return null;
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

/**
 * The records of one partition that the cache holds, in offset order: a contiguous window
 * `[low, high)` of the partition's log (offsets inside it may be missing — compaction and
 * transaction markers leave gaps). On compacted topics it also tracks the latest offset of every
 * key, which outlives eviction so that a refetch can skip superseded records.
 */
export class PartitionLog {
  readonly partition: number;
  readonly compacted: boolean;
  private entries: Entry[] = [];
  /** Index of the first live element of `entries` (eviction advances it; compaction of the array is lazy). */
  private head = 0;
  /** First offset the window covers. */
  low: bigint;
  /** Next offset the window expects. */
  high: bigint;
  bytes = 0;
  /** Changes whenever positions from `seek` become invalid; holders re-seek by offset. */
  generation = 0;
  /** Latest offset per key (compacted topics). */
  readonly latest = new Map<string | null, bigint>();

  constructor(partition: number, compacted: boolean, start: bigint) {
    this.partition = partition;
    this.compacted = compacted;
    this.low = start;
    this.high = start;
  }

  get length(): number {
    return this.entries.length - this.head;
  }

  /** Appends a fetched record; on compacted topics the entry it supersedes releases its bytes. */
  append(entry: Entry): void {
    this.entries.push(entry);
    this.bytes += entry.size;
    this.high = entry.offset + 1n;
    if (!this.compacted) return;
    const k = keyString(entry.key);
    const previous = this.latest.get(k);
    this.latest.set(k, entry.offset);
    if (previous !== undefined && previous >= this.low) {
      const old = this.find(previous);
      if (old && !old.superseded) {
        old.superseded = true;
        this.bytes -= old.size;
      }
    }
  }

  /** Moves `high` past offsets the broker skipped (control records, compacted gaps). */
  advanceTo(next: bigint): void {
    if (next > this.high) this.high = next;
  }

  /** True when `offset` falls inside the window (records for it, if any, are here). */
  holds(offset: bigint): boolean {
    return offset >= this.low && offset <= this.high;
  }

  /** Position of the first entry with offset ≥ `offset` (binary search), or `end()` when none. */
  seek(offset: bigint): number {
    let lo = this.head;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.entries[mid]!.offset < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The entry at a position from `seek`, or undefined past the end. */
  at(position: number): Entry | undefined {
    return position >= this.head ? this.entries[position] : undefined;
  }

  /** Positions stay valid across appends; eviction invalidates positions below the new head. */
  get start(): number {
    return this.head;
  }

  end(): number {
    return this.entries.length;
  }

  private find(offset: bigint): Entry | undefined {
    const entry = this.entries[this.seek(offset)];
    return entry?.offset === offset ? entry : undefined;
  }

  /**
   * Drops the oldest entries until at most `keepBytes` remain or the next entry is newer than
   * `minTimestamp`. Returns the bytes released. `low` moves past what was dropped.
   */
  evict(keepBytes: number, minTimestamp = -Infinity): number {
    let released = 0;
    while (this.head < this.entries.length) {
      const first = this.entries[this.head]!;
      if (this.bytes <= keepBytes && first.timestamp >= minTimestamp) break;
      if (!first.superseded) {
        this.bytes -= first.size;
        released += first.size;
      }
      // Release the slot now: waiting for the array compaction would keep the records alive.
      this.entries[this.head] = EVICTED;
      this.head++;
      this.low = first.offset + 1n;
    }
    if (this.head === this.entries.length) this.low = this.high;
    // Compact the array once the dead prefix dominates, so memory really is released.
    if (this.head > 256 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
      this.generation++;
    }
    return released;
  }

  /** Releases everything (topic dropped). */
  clear(): void {
    this.entries = [];
    this.head = 0;
    this.bytes = 0;
    this.generation++;
    this.low = this.high;
  }
}
