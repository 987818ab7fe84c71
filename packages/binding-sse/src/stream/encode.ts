/**
 * The `text/event-stream` wire format (WHATWG HTML, §9.2.5 "Parsing an event stream" and §9.2.6
 * "Interpreting an event stream"), as bytes.
 *
 * - Lines end with CRLF, LF or CR; a field line is `name: value`. The parser drops exactly one
 *   space after the colon, so every field is written with one (`data:  x` keeps the value's own
 *   leading space).
 * - `data` cannot hold a line break: data with line breaks is written as one `data:` line per
 *   line, which the client joins with LF. Any of CRLF, CR and LF splits a line, so the client
 *   receives CRLF and CR as LF; nothing else changes (the split is done on bytes: CR and LF never
 *   occur inside a multi-byte UTF-8 sequence).
 * - A blank line dispatches the event. An event whose data is empty is still dispatched: its one
 *   `data:` line makes the data buffer non-empty (`"\n"`, trailing LF removed on dispatch).
 * - `id` with NUL is ignored by the client, CR or LF would end the field early: they are removed
 *   from `id` and `event`. `retry` is only honoured when it is all ASCII digits.
 * - A line starting with `:` is a comment: heartbeats.
 *
 * @module
 */

const CR = 0x0d;
const LF = 0x0a;
const encoder = new TextEncoder();

const DATA = encoder.encode('data: ');
const NEWLINE = encoder.encode('\n');

export interface EventFields {
  readonly id?: string | undefined;
  readonly event?: string | undefined;
  readonly retry?: number | undefined;
}

/** Splits `bytes` at every CRLF, CR or LF; `a\r\nb\rc\nd` → `a`, `b`, `c`, `d`. Never empty. */
export function splitLines(bytes: Uint8Array): Uint8Array[] {
  const lines: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    if (byte !== CR && byte !== LF) continue;
    lines.push(bytes.subarray(start, i));
    if (byte === CR && bytes[i + 1] === LF) i++;
    start = i + 1;
  }
  lines.push(bytes.subarray(start));
  return lines;
}

/** Removes what would break a field line (CR, LF) and, for ids, NUL. */
function clean(value: string, id: boolean): string {
  return value.replace(id ? /[\r\n\0]/g : /[\r\n]/g, '');
}

/** The field lines (`id:`, `event:`, `retry:`) of an event, without the data or the blank line. */
function fieldLines(fields: EventFields): string {
  let text = '';
  if (fields.id !== undefined) text += `id: ${clean(fields.id, true)}\n`;
  if (fields.event !== undefined) text += `event: ${clean(fields.event, false)}\n`;
  if (fields.retry !== undefined && Number.isInteger(fields.retry) && fields.retry >= 0)
    text += `retry: ${fields.retry}\n`;
  return text;
}

/** One whole event: its fields, one `data:` line per line of `data`, and the blank line. */
export function encodeEvent(data: Uint8Array, fields: EventFields = {}): Uint8Array {
  const head = encoder.encode(fieldLines(fields));
  const lines = splitLines(data);
  let size = head.length + NEWLINE.length;
  for (const line of lines) size += DATA.length + line.length + NEWLINE.length;
  const out = new Uint8Array(size);
  out.set(head, 0);
  let at = head.length;
  for (const line of lines) {
    out.set(DATA, at);
    at += DATA.length;
    out.set(line, at);
    at += line.length;
    out.set(NEWLINE, at);
    at += NEWLINE.length;
  }
  out.set(NEWLINE, at);
  return out;
}

/**
 * Fields without data, then the blank line: the client records the id and the retry delay but
 * dispatches nothing. Empty when there is no field to write.
 */
export function encodeFields(fields: EventFields): Uint8Array {
  const head = fieldLines(fields);
  return head === '' ? new Uint8Array(0) : encoder.encode(`${head}\n`);
}

/** A `retry:` line alone, without the blank line: the client applies it and dispatches nothing. */
export function encodeRetry(ms: number): Uint8Array {
  return encoder.encode(Number.isInteger(ms) && ms >= 0 ? `retry: ${ms}\n` : '');
}

/** A comment line (`:` then `text`), which the client ignores; line breaks in `text` are removed. */
export function encodeComment(text = ''): Uint8Array {
  const clean = text.replace(/[\r\n]/g, ' ');
  return encoder.encode(clean === '' ? ':\n' : `: ${clean}\n`);
}
