// The event-stream encoding, checked against the parsing rules of WHATWG HTML §9.2.6 with a
// small reference parser written from that section.
import { describe, expect, it } from 'vitest';
import { encodeComment, encodeEvent, encodeFields, splitLines } from '../src/stream/encode.ts';
import { acceptsEventStream } from '../src/stream/server.ts';

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const bytes = (s: string) => new TextEncoder().encode(s);

interface Parsed {
  readonly type: string;
  readonly data: string;
  readonly lastEventId: string;
}

/** WHATWG HTML §9.2.6 "Interpreting an event stream", as a client runs it. */
function parse(stream: string): { events: Parsed[]; lastEventId: string; retry: number | undefined } {
  const events: Parsed[] = [];
  let data = '';
  let type = '';
  let idBuffer = '';
  let lastEventId = '';
  let retry: number | undefined;
  for (const line of stream.split(/\r\n|\r|\n/).slice(0, -1)) {
    if (line === '') {
      lastEventId = idBuffer;
      if (data === '') {
        type = '';
        continue;
      }
      if (data.endsWith('\n')) data = data.slice(0, -1);
      events.push({ type: type === '' ? 'message' : type, data, lastEventId });
      data = '';
      type = '';
      continue;
    }
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') type = value;
    else if (field === 'data') data += `${value}\n`;
    else if (field === 'id' && !value.includes('\0')) idBuffer = value;
    else if (field === 'retry' && /^\d+$/.test(value)) retry = Number(value);
  }
  return { events, lastEventId, retry };
}

describe('splitLines', () => {
  it('splits at CRLF, CR and LF alike, keeping empty lines', () => {
    expect(splitLines(bytes('a\r\nb\rc\nd')).map(text)).toEqual(['a', 'b', 'c', 'd']);
    expect(splitLines(bytes('a\n\nb')).map(text)).toEqual(['a', '', 'b']);
    expect(splitLines(bytes('\r\n')).map(text)).toEqual(['', '']);
    expect(splitLines(bytes('a\r')).map(text)).toEqual(['a', '']);
    expect(splitLines(bytes('')).map(text)).toEqual(['']);
  });

  it('never splits a multi-byte UTF-8 character', () => {
    expect(splitLines(bytes('€\n日本')).map(text)).toEqual(['€', '日本']);
  });
});

describe('encodeEvent', () => {
  it('writes id, event, retry and data fields, then the blank line', () => {
    expect(text(encodeEvent(bytes('{"price":1}'), { id: 'AQ', event: 'update', retry: 2000 }))).toBe(
      'id: AQ\nevent: update\nretry: 2000\ndata: {"price":1}\n\n',
    );
    expect(text(encodeEvent(bytes('x')))).toBe('data: x\n\n');
  });

  it('writes multi-line data as one data line per line; the client joins them with LF', () => {
    const encoded = text(encodeEvent(bytes('one\r\ntwo\rthree\nfour')));
    expect(encoded).toBe('data: one\ndata: two\ndata: three\ndata: four\n\n');
    expect(parse(encoded).events).toEqual([
      { type: 'message', data: 'one\ntwo\nthree\nfour', lastEventId: '' },
    ]);
  });

  it('round-trips leading spaces, colons, trailing line breaks and empty data', () => {
    for (const data of [' leading space', 'a: b', 'ends with LF\n', '', '\n\n', ':not a comment', '€ ✓']) {
      const { events } = parse(text(encodeEvent(bytes(data), { id: '1' })));
      expect(events).toEqual([{ type: 'message', data: data.replace(/\r\n|\r/g, '\n'), lastEventId: '1' }]);
    }
  });

  it('removes line breaks from id and event, and NUL from id', () => {
    const encoded = text(encodeEvent(bytes('x'), { id: 'a\nb\0c', event: 'up\r\ndate' }));
    expect(encoded).toBe('id: abc\nevent: update\ndata: x\n\n');
    expect(parse(encoded).events).toEqual([{ type: 'update', data: 'x', lastEventId: 'abc' }]);
  });

  it('writes no retry field that the client would ignore', () => {
    expect(text(encodeEvent(bytes('x'), { retry: -1 }))).toBe('data: x\n\n');
    expect(text(encodeEvent(bytes('x'), { retry: 1.5 }))).toBe('data: x\n\n');
  });
});

describe('encodeFields and encodeComment', () => {
  it('sets the last event id and retry without dispatching an event', () => {
    const stream = text(encodeEvent(bytes('a'), { id: '1' })) + text(encodeFields({ id: '2', retry: 500 }));
    expect(parse(stream)).toEqual({
      events: [{ type: 'message', data: 'a', lastEventId: '1' }],
      lastEventId: '2',
      retry: 500,
    });
    expect(encodeFields({}).byteLength).toBe(0);
  });

  it('writes comments the client ignores', () => {
    expect(text(encodeComment())).toBe(':\n');
    expect(text(encodeComment('keep\nalive'))).toBe(': keep alive\n');
    expect(parse(`${text(encodeComment('x'))}${text(encodeEvent(bytes('y')))}`).events).toHaveLength(1);
  });
});

describe('acceptsEventStream', () => {
  it('wants text/event-stream named with a non-zero weight', () => {
    expect(acceptsEventStream('text/event-stream')).toBe(true);
    expect(acceptsEventStream('application/json, Text/Event-Stream;q=0.5')).toBe(true);
    expect(acceptsEventStream('text/event-stream;q=0')).toBe(false);
    expect(acceptsEventStream('*/*')).toBe(false);
    expect(acceptsEventStream(undefined)).toBe(false);
  });
});
