/**
 * Checks the extensions that reach the client kind from other bindings: the begin of a stream
 * ({@link KafkaClientBeginEx}), the per-record extension of produce data
 * ({@link KafkaProduceDataEx}) and the commits of group streams ({@link KafkaCommitEx}). They come from other plugins' code, so nothing is assumed.
 *
 * @module
 */
import type { Extension } from '@tributary/kernel';
import type {
  KafkaClientBeginEx,
  KafkaCommitEx,
  KafkaFilter,
  KafkaHeader,
  KafkaProduceDataEx,
} from '../index.ts';
import { compileFilters, type RecordPredicate } from '../stream/filters.ts';

export type Parsed<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

/** Kafka's legal topic names (`Topic.validate`). */
const TOPIC = /^[a-zA-Z0-9._-]{1,249}$/;
const MAX_INT32 = 0x7fffffff;
const MAX_OFFSET = 0x7fff_ffff_ffff_ffffn;
/** Not a Kafka limit; a bound on what reaches the group coordinator. */
const MAX_GROUP_ID = 255;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;
const isBytes = (value: unknown): value is Uint8Array => value instanceof Uint8Array;
const isPartition = (value: unknown): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_INT32;

const bad = <T>(reason: string): Parsed<T> => ({ ok: false, reason });

/** A valid begin, with the fetch filters compiled. */
export type ClientBegin = { readonly ext: KafkaClientBeginEx; readonly filter?: RecordPredicate };

export function parseBegin(ext: Extension | undefined): Parsed<ClientBegin> {
  if (!isObject(ext)) return bad('no begin extension');
  if (ext.type !== 'kafka') return bad(`begin extension of type "${String(ext.type)}"`);
  const begin = ext as unknown as Record<string, unknown>;
  if (
    typeof begin['topic'] !== 'string' ||
    !TOPIC.test(begin['topic']) ||
    begin['topic'] === '.' ||
    begin['topic'] === '..'
  ) {
    return bad(`topic ${JSON.stringify(begin['topic'])} is not a valid Kafka topic name`);
  }
  switch (begin['capability']) {
    case 'produce': {
      const acks = begin['acks'];
      if (acks !== undefined && acks !== 'none' && acks !== 'leader' && acks !== 'all') {
        return bad(`acks ${JSON.stringify(acks)} is not none, leader or all`);
      }
      const timeout = begin['timeoutMs'];
      if (
        timeout !== undefined &&
        !(typeof timeout === 'number' && Number.isFinite(timeout) && timeout > 0)
      ) {
        return bad('timeoutMs must be a positive number');
      }
      return { ok: true, value: { ext: ext as unknown as KafkaClientBeginEx } };
    }
    case 'fetch': {
      const start = begin['start'];
      if (start !== undefined && start !== 'historical' && start !== 'live') {
        return bad(`start ${JSON.stringify(start)} is not historical or live`);
      }
      if (begin['token'] !== undefined && typeof begin['token'] !== 'string')
        return bad('token must be a string');
      const isolation = begin['isolation'];
      if (isolation !== undefined && isolation !== 'read_uncommitted' && isolation !== 'read_committed') {
        return bad(`isolation ${JSON.stringify(isolation)} is not read_uncommitted or read_committed`);
      }
      const partitions = begin['partitions'];
      if (partitions !== undefined) {
        if (!Array.isArray(partitions) || partitions.length === 0)
          return bad('partitions must be a non-empty array');
        const problem = checkOffsets(partitions as unknown[], 'partitions');
        if (problem !== undefined) return bad(problem);
      }
      if (begin['tombstones'] !== undefined && typeof begin['tombstones'] !== 'boolean') {
        return bad('tombstones must be a boolean');
      }
      let filter: RecordPredicate;
      try {
        const filters = begin['filters'];
        if (filters !== undefined && !Array.isArray(filters)) return bad('filters must be an array');
        filter = compileFilters(filters as readonly KafkaFilter[] | undefined);
      } catch (cause) {
        return bad(`filters are malformed: ${cause instanceof Error ? cause.message : String(cause)}`);
      }
      return { ok: true, value: { ext: ext as unknown as KafkaClientBeginEx, filter } };
    }
    case 'group': {
      const groupId = begin['groupId'];
      if (typeof groupId !== 'string' || groupId === '' || groupId.length > MAX_GROUP_ID) {
        return bad(`groupId must be a non-empty string of at most ${MAX_GROUP_ID} characters`);
      }
      const start = begin['start'];
      if (start !== undefined && start !== 'historical' && start !== 'live') {
        return bad(`start ${JSON.stringify(start)} is not historical or live`);
      }
      const isolation = begin['isolation'];
      if (isolation !== undefined && isolation !== 'read_uncommitted' && isolation !== 'read_committed') {
        return bad(`isolation ${JSON.stringify(isolation)} is not read_uncommitted or read_committed`);
      }
      let filter: RecordPredicate;
      try {
        const filters = begin['filters'];
        if (filters !== undefined && !Array.isArray(filters)) return bad('filters must be an array');
        filter = compileFilters(filters as readonly KafkaFilter[] | undefined);
      } catch (cause) {
        return bad(`filters are malformed: ${cause instanceof Error ? cause.message : String(cause)}`);
      }
      return { ok: true, value: { ext: ext as unknown as KafkaClientBeginEx, filter } };
    }
    case 'meta':
      return { ok: true, value: { ext: ext as unknown as KafkaClientBeginEx } };
    case 'describe': {
      const configs = begin['configs'];
      if (
        configs !== undefined &&
        !(Array.isArray(configs) && configs.every((name) => typeof name === 'string'))
      ) {
        return bad('configs must be an array of strings');
      }
      return { ok: true, value: { ext: ext as unknown as KafkaClientBeginEx } };
    }
    default:
      return bad(
        `capability ${JSON.stringify(begin['capability'])} is not produce, fetch, group, meta or describe`,
      );
  }
}

/** The offsets of a group stream's commit flush. */
export function parseCommit(ext: Extension | undefined): Parsed<KafkaCommitEx['offsets']> {
  if (!isObject(ext) || ext.type !== 'kafka' || (ext as { kind?: unknown }).kind !== 'commit') {
    return bad('the flush has no kafka commit extension');
  }
  const offsets = (ext as unknown as Record<string, unknown>)['offsets'];
  if (!Array.isArray(offsets)) return bad('offsets must be an array');
  const problem = checkOffsets(offsets as unknown[], 'offsets');
  if (problem !== undefined) return bad(problem);
  return { ok: true, value: (ext as unknown as KafkaCommitEx).offsets };
}

/** What is wrong with a list of `{ partition, offset }` entries named `field`, if anything. */
function checkOffsets(entries: readonly unknown[], field: string): string | undefined {
  const seen = new Set<number>();
  for (const entry of entries) {
    if (!isObject(entry) || !isPartition(entry['partition']))
      return `${field}[].partition must be an int32 ≥ 0`;
    const offset = entry['offset'];
    if (typeof offset !== 'bigint' || offset < 0n || offset > MAX_OFFSET)
      return `${field}[].offset must be a bigint ≥ 0`;
    if (seen.has(entry['partition'])) return `partition ${entry['partition']} is listed twice`;
    seen.add(entry['partition']);
  }
  return undefined;
}

/** The record a produce data frame describes, before its partition is chosen. */
export interface RecordIntent {
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers: readonly KafkaHeader[];
  readonly partition: number | undefined;
  readonly timestamp: number | undefined;
}

/** The record of a produce message. `correlation` is read even when the rest is invalid. */
export function parseProduceData(
  ext: Extension | undefined,
  payload: Uint8Array,
): { readonly correlation: string | undefined; readonly record: Parsed<RecordIntent> } {
  if (!isObject(ext) || ext.type !== 'kafka' || (ext as { kind?: unknown }).kind !== 'produce') {
    return { correlation: undefined, record: bad('the message has no kafka produce extension') };
  }
  const data = ext as unknown as Record<string, unknown>;
  const correlation = typeof data['correlation'] === 'string' ? data['correlation'] : undefined;
  const fail = (reason: string) => ({ correlation, record: bad<RecordIntent>(reason) });
  const key = data['key'];
  if (key !== null && !isBytes(key)) return fail('key must be bytes or null');
  const headers = data['headers'];
  if (!Array.isArray(headers)) return fail('headers must be an array');
  for (const header of headers as unknown[]) {
    if (!isObject(header) || typeof header['name'] !== 'string')
      return fail('every header needs a string name');
    if (header['value'] !== null && !isBytes(header['value']))
      return fail(`header "${header['name']}" value must be bytes or null`);
  }
  const partition = data['partition'];
  if (partition !== undefined && !isPartition(partition)) return fail('partition must be an int32 ≥ 0');
  const timestamp = data['timestamp'];
  if (
    timestamp !== undefined &&
    !(typeof timestamp === 'number' && Number.isSafeInteger(timestamp) && timestamp >= 0)
  ) {
    return fail('timestamp must be epoch milliseconds');
  }
  const tombstone = data['tombstone'];
  if (tombstone !== undefined && typeof tombstone !== 'boolean') return fail('tombstone must be a boolean');
  if (tombstone === true && payload.byteLength > 0) return fail('a tombstone must have an empty payload');
  const produce = ext as unknown as KafkaProduceDataEx;
  return {
    correlation,
    record: {
      ok: true,
      value: {
        key: produce.key,
        value: tombstone === true ? null : payload,
        headers: produce.headers,
        partition: partition,
        timestamp: timestamp,
      },
    },
  };
}
