// Pure pieces of the mapping: route filters as Kafka filters, records as events.
import { describe, expect, it } from 'vitest';
import type { KafkaRecordDataEx } from '@tributary/binding-kafka';
import { recordEvent } from '../src/stream/records.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

function record(init: Partial<KafkaRecordDataEx>): KafkaRecordDataEx {
  return {
    type: 'kafka',
    kind: 'record',
    topic: 't',
    partition: 0,
    offset: 7n,
    timestamp: 0,
    key: enc('AAPL'),
    headers: [],
    tombstone: false,
    token: 'TOKEN',
    ...init,
  };
}

describe('recordEvent', () => {
  const spec = { eventHeader: 'event-type', deleteEvent: 'delete' };

  it('makes the value the data and the token the id, the type from the configured header', () => {
    const plain = recordEvent(record({}), enc('{"price":1}'), spec);
    expect(dec(plain.data)).toBe('{"price":1}');
    expect(plain.ext).toEqual({ type: 'sse', kind: 'event', id: 'TOKEN' });
    const typed = recordEvent(
      record({ headers: [{ name: 'event-type', value: enc('quote') }] }),
      enc('x'),
      spec,
    );
    expect(typed.ext).toEqual({ type: 'sse', kind: 'event', id: 'TOKEN', event: 'quote' });
    expect(
      recordEvent(record({ headers: [{ name: 'event-type', value: null }] }), enc('x'), spec).ext,
    ).not.toHaveProperty('event');
  });

  it('turns a tombstone into a delete event carrying the key', () => {
    const deleted = recordEvent(record({ tombstone: true }), new Uint8Array(0), spec);
    expect(dec(deleted.data)).toBe('AAPL');
    expect(deleted.ext).toEqual({ type: 'sse', kind: 'event', id: 'TOKEN', event: 'delete' });
    expect(recordEvent(record({ tombstone: true, key: null }), new Uint8Array(0), spec).data.byteLength).toBe(
      0,
    );
  });
});
