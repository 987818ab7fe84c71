import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { BindingConfig } from '@tributary/kernel';
import { plugin } from '../src/plugin.ts';
import {
  compilePath,
  matcher,
  validate,
  type HttpKafkaOptions,
  type HttpKafkaWhen,
  type HttpKafkaWith,
} from '../src/config/schema.ts';
import { noneMatch, parseIfNoneMatch, parsePrefer } from '../src/stream/preconditions.ts';
import { correlationId } from '../src/stream/correlation.ts';
import { kafkaProblem } from '../src/stream/exchange.ts';

const enc = (text: string) => new TextEncoder().encode(text);

describe('paths', () => {
  it('captures placeholders, one segment each, percent-decoded', () => {
    const items = compilePath('/items/{id}');
    expect(items('/items/42')).toEqual({ id: '42' });
    expect(items('/items/a%20b')).toEqual({ id: 'a b' });
    expect(items('/items/42/more')).toBeUndefined();
    expect(items('/items/')).toBeUndefined();
    expect(items('/items/%E0%A4%A')).toBeUndefined();
  });

  it('separates an async location from its correlation id', () => {
    const poll = compilePath('/items/{id};cid={correlationId}');
    expect(poll('/items/abc;cid=1-xyz_-')).toEqual({ id: 'abc', correlationId: '1-xyz_-' });
    expect(compilePath('/items/{id}')('/items/abc;cid=1')).toBeUndefined();
  });

  it('treats regex characters in paths literally', () => {
    expect(compilePath('/a.b/{x}')('/aXb/1')).toBeUndefined();
    expect(compilePath('/a.b/{x}')('/a.b/1')).toEqual({ x: '1' });
  });

  it('matches method and path together', () => {
    const match = matcher('PUT', '/items/7');
    expect(match({ method: 'PUT', path: '/items/{id}' })).toEqual({ id: '7' });
    expect(match({ method: 'GET', path: '/items/{id}' })).toBeUndefined();
    expect(match({ path: '/items/{id}' })).toEqual({ id: '7' });
  });
});

describe('validate', () => {
  const config = (routes: BindingConfig<HttpKafkaOptions, HttpKafkaWhen, HttpKafkaWith>['routes']) =>
    ({ name: 'api', type: 'http-kafka', kind: 'proxy', options: {}, routes }) as BindingConfig<
      HttpKafkaOptions,
      HttpKafkaWhen,
      HttpKafkaWith
    >;

  it('points at async without replyTo, repeated placeholders and polls without request-reply', () => {
    const issues = validate(
      config([
        {
          when: [{ path: '/a/{id}/{id}' }],
          exit: 'k',
          with: { capability: 'produce', topic: 't', async: { location: '/x' } },
        },
        {
          when: [{ method: 'GET', path: '/b;cid={correlationId}' }],
          exit: 'k',
          with: { capability: 'fetch', topic: 't' },
        },
        { when: [{ path: '/c' }], exit: 'k' },
      ]),
    );
    expect(issues.map((i) => i.pointer)).toEqual([
      '/bindings/api/routes/0/with/async',
      '/bindings/api/routes/0/when/0/path',
      '/bindings/api/routes/1/when/0/path',
      '/bindings/api/routes/2',
    ]);
  });

  it('accepts a request-reply route with an async location', () => {
    expect(
      validate(
        config([
          {
            when: [
              { method: 'PUT', path: '/i/{id}' },
              { method: 'GET', path: '/i/{id};cid={correlationId}' },
            ],
            exit: 'k',
            with: {
              capability: 'produce',
              topic: 'req',
              replyTo: 'res',
              async: { location: '/i/${params.id};cid=${correlationId}' },
            },
          },
        ]),
      ),
    ).toEqual([]);
  });
});

describe('Prefer (RFC 7240)', () => {
  it('reads respond-async and wait, caps the wait, ignores the rest', () => {
    expect(parsePrefer(['respond-async, wait=10'], 300)).toEqual({ respondAsync: true, wait: 10 });
    expect(parsePrefer(['wait=900'], 300)).toEqual({ respondAsync: false, wait: 300 });
    expect(parsePrefer(['handling=lenient', 'WAIT="5"'], 300)).toEqual({ respondAsync: false, wait: 5 });
    expect(parsePrefer(['wait=-1, wait=abc'], 300)).toEqual({ respondAsync: false, wait: undefined });
    expect(parsePrefer(['wait=3, wait=7'], 300).wait).toBe(3);
    expect(parsePrefer([], 300)).toEqual({ respondAsync: false, wait: undefined });
  });
});

describe('If-None-Match (RFC 9110 §13.1.2)', () => {
  it('compares weakly and understands *', () => {
    const tags = parseIfNoneMatch('W/"0-5", "1-7"');
    expect(tags).toEqual(['0-5', '1-7']);
    expect(noneMatch(tags, '0-5')).toBe(true);
    expect(noneMatch(tags, '0-6')).toBe(false);
    expect(noneMatch(parseIfNoneMatch('*'), 'anything')).toBe(true);
    expect(parseIfNoneMatch('unquoted')).toEqual([]);
    expect(parseIfNoneMatch(undefined)).toEqual([]);
  });
});

describe('correlation ids', () => {
  it('are the key and a hash of method, target and body: equal for equal requests only', () => {
    const a = correlationId('1', 'PUT', '/items/abc', enc('{"a":1}'));
    expect(a).toMatch(/^1-[A-Za-z0-9_-]{22}$/);
    expect(correlationId('1', 'PUT', '/items/abc', enc('{"a":1}'))).toBe(a);
    expect(correlationId('1', 'PUT', '/items/abc', enc('{"a":2}'))).not.toBe(a);
    expect(correlationId('1', 'POST', '/items/abc', enc('{"a":1}'))).not.toBe(a);
    expect(correlationId('1', 'PUT', '/items/abd', enc('{"a":1}'))).not.toBe(a);
    // Field boundaries count: moving bytes between fields changes the id.
    expect(correlationId('k', 'P', 'UT/x', enc(''))).not.toBe(correlationId('k', 'PU', 'T/x', enc('')));
  });
});

describe('Kafka failures as HTTP problems', () => {
  const error = (reason: string, extra: Record<string, unknown> = {}) => ({
    code: 'TRIB_KAFKA_X',
    ext: {
      type: 'kafka',
      kind: 'error',
      reason,
      code: 'TRIB_KAFKA_X',
      message: 'm',
      retriable: true,
      ...extra,
    },
  });

  it('makes unreachable, slow or refusing brokers 503 with Retry-After, never a 2xx', () => {
    for (const reason of ['unavailable', 'timeout', 'authentication', 'authorization']) {
      const problem = kafkaProblem(error(reason), '/items', 5);
      expect(problem.status).toBe(503);
      expect(problem.headers).toEqual([{ name: 'retry-after', value: '5' }]);
    }
    expect(kafkaProblem(error('unavailable', { retryAfterMs: 2_500 }), '/items', 5).headers).toEqual([
      { name: 'retry-after', value: '3' },
    ]);
  });

  it('maps what the client can fix to 4xx, and anything else to 502', () => {
    expect(kafkaProblem(error('unknown-topic'), '/items', 5).status).toBe(404);
    expect(
      kafkaProblem(
        error('invalid-record', { message: 'the record of 9 bytes exceeds produce.maxRecordBytes' }),
        '/i',
        5,
      ).status,
    ).toBe(413);
    expect(kafkaProblem(error('invalid-record'), '/i', 5).status).toBe(400);
    expect(kafkaProblem(error('internal'), '/i', 5).status).toBe(502);
    expect(kafkaProblem({ code: 'TRIB_STREAM_REFUSED' }, '/i', 5).status).toBe(502);
  });

  it('never shows the Kafka side’s own message to the client', () => {
    const problem = kafkaProblem(
      error('authentication', { message: 'SASL failed for alice on 10.0.0.7:9093' }),
      '/i',
      5,
    );
    expect(problem.detail).not.toContain('alice');
    expect(problem.detail).not.toContain('10.0.0.7');
  });
});

describe('plugin', () => {
  it('provides exactly what its package.json declares', () => {
    const manifest = (
      JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
        tributary: { provides: Record<string, string[]> };
      }
    ).tributary;
    expect(Object.keys(plugin.bindings)).toEqual(manifest.provides['bindings']);
  });
});
