/**
 * Pure conversions between Kafka records and SSE events.
 */
import type { KafkaRecordDataEx } from '@tributary/binding-kafka';
import { sseEvent, type SseEventEx } from '@tributary/binding-sse';

const decoder = new TextDecoder();

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
