/**
 * Small conversions between HTTP and Kafka shapes: UTF-8, record headers, route filters.
 */
import type { HttpHeader } from '@tributary/binding-http';
import type { KafkaHeader, KafkaRecordDataEx } from '@tributary/binding-kafka';

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
