/**
 * Pure conversions between Kafka records and SSE events, and route filters as Kafka filters.
 */
import type { KafkaCondition, KafkaFilter, KafkaRecordDataEx } from '@tributary/binding-kafka';
import { sseEvent, type SseEventEx } from '@tributary/binding-sse';
import type { SseKafkaFilter } from '../config/schema.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Route filters as Kafka filters. `raw` is the filter list as configured: a template that
 * resolved to nothing (no such param, a session without identity) removed its property from
 * `resolved` (or left it null), and must then match nothing rather than everything. A condition
 * on the empty value would still match records whose key or header *is* empty, so such a
 * condition becomes a contradiction (`c` and `not c`), which no record satisfies.
 */
export function kafkaFilters(
  resolved: readonly SseKafkaFilter[] | undefined,
  raw: readonly SseKafkaFilter[] | undefined,
): KafkaFilter[] | undefined {
  if (raw === undefined) return undefined;
  return raw.map((configured, i) => {
    const filter = resolved?.[i];
    const conditions: KafkaCondition[] = [];
    const add = (value: string | null | undefined, condition: (bytes: Uint8Array) => KafkaCondition) => {
      if (typeof value === 'string') conditions.push(condition(encoder.encode(value)));
      else {
        const never = condition(new Uint8Array(0));
        conditions.push(never, { not: never });
      }
    };
    if (configured.key !== undefined) add(filter?.key, (key) => ({ key }));
    for (const name of Object.keys(configured.headers ?? {}))
      add(filter?.headers?.[name], (value) => ({ header: { name, value } }));
    return { conditions };
  });
}

export interface EventSpec {
  /** Record header naming the event type. */
  readonly eventHeader: string | undefined;
  /** Event type of tombstones. */
  readonly deleteEvent: string;
}

/**
 * One record as one event: `id` is the record's progress token (so `Last-Event-ID` resumes just
 * after it), the data its value and the type the configured header's value when present. A
 * tombstone becomes a `deleteEvent` event whose data is the key.
 */
export function recordEvent(
  record: KafkaRecordDataEx,
  value: Uint8Array,
  spec: EventSpec,
): { readonly data: Uint8Array; readonly ext: SseEventEx } {
  if (record.tombstone)
    return {
      data: record.key ?? new Uint8Array(0),
      ext: sseEvent({ id: record.token, event: spec.deleteEvent }),
    };
  let event: string | undefined;
  if (spec.eventHeader !== undefined)
    for (const h of record.headers)
      if (h.name === spec.eventHeader && h.value !== null && h.value.byteLength > 0) {
        event = decoder.decode(h.value);
        break;
      }
  return { data: value, ext: sseEvent({ id: record.token, event }) };
}
