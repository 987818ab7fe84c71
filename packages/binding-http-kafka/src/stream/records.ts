/**
 * Small conversions between HTTP and Kafka shapes: UTF-8, record headers, route filters.
 */
import type { HttpHeader } from '@tributary/binding-http';
import type { KafkaCondition, KafkaFilter, KafkaHeader, KafkaRecordDataEx } from '@tributary/binding-kafka';
import type { HttpKafkaFilter } from '../config/schema.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

export function text(bytes: Uint8Array | null): string {
  return bytes === null ? '' : decoder.decode(bytes);
}

/** The first value of Kafka header `name`, as text. */
export function recordHeader(headers: readonly KafkaHeader[], name: string): string | undefined {
  for (const h of headers) if (h.name === name) return text(h.value);
  return undefined;
}

/**
 * Route filters as Kafka filters. `raw` is the filter list as configured: a template that
 * resolved to nothing (no such param, no identity) removed its property from `resolved`, and
 * must then match nothing rather than everything, so it becomes a condition on the empty value.
 */
export function kafkaFilters(
  resolved: readonly HttpKafkaFilter[] | undefined,
  raw: readonly HttpKafkaFilter[] | undefined,
): KafkaFilter[] | undefined {
  if (raw === undefined) return undefined;
  return raw.map((configured, i) => {
    const filter = resolved?.[i];
    const conditions: KafkaCondition[] = [];
    if (configured.key !== undefined) conditions.push({ key: utf8(filter?.key ?? '') });
    for (const name of Object.keys(configured.headers ?? {}))
      conditions.push({ header: { name, value: utf8(filter?.headers?.[name] ?? '') } });
    return { conditions };
  });
}

/**
 * Response headers from a reply record: every header but pseudo-headers and the binding's own
 * (`tributary:` by default), lower-cased, as sent.
 */
export function replyHeaders(record: KafkaRecordDataEx, own: ReadonlySet<string>): HttpHeader[] {
  const headers: HttpHeader[] = [];
  for (const h of record.headers) {
    const name = h.name.toLowerCase();
    if (name.startsWith(':') || own.has(name) || HOP_BY_HOP.has(name) || name === 'content-length') continue;
    headers.push({ name, value: text(h.value) });
  }
  return headers;
}

/** Connection-specific headers (RFC 9110 §7.6.1) never cross a hop. */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
]);
