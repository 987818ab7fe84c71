import { describe, expect, it } from 'vitest';
import { parseBegin, parseCommit, parseProduceData } from '../../src/client/begin.ts';
import { enc } from './helpers.ts';

describe('parseBegin', () => {
  const ok = (ext: object) => {
    const parsed = parseBegin(ext as never);
    if (!parsed.ok) throw new Error(parsed.reason);
    return parsed.value;
  };
  const reason = (ext: unknown) => {
    const parsed = parseBegin(ext as never);
    return parsed.ok ? undefined : parsed.reason;
  };

  it('accepts each capability', () => {
    expect(
      ok({ type: 'kafka', capability: 'produce', topic: 't', acks: 'leader', timeoutMs: 100 }).ext.capability,
    ).toBe('produce');
    const fetch = ok({
      type: 'kafka',
      capability: 'fetch',
      topic: 'orders.v1_x-y',
      start: 'live',
      isolation: 'read_committed',
      partitions: [{ partition: 0, offset: 5n }],
      filters: [{ conditions: [{ key: enc('a') }] }],
    });
    expect(fetch.filter?.({ key: enc('a'), headers: [] })).toBe(true);
    expect(fetch.filter?.({ key: enc('b'), headers: [] })).toBe(false);
    expect(ok({ type: 'kafka', capability: 'meta', topic: 't' }).ext.capability).toBe('meta');
    expect(
      ok({ type: 'kafka', capability: 'describe', topic: 't', configs: ['cleanup.policy'] }).ext.capability,
    ).toBe('describe');
  });

  it('says what is wrong', () => {
    expect(reason(undefined)).toBe('no begin extension');
    expect(reason({ type: 'http' })).toBe('begin extension of type "http"');
    expect(reason({ type: 'kafka', capability: 'fetch' })).toMatch(/not a valid Kafka topic name/);
    expect(reason({ type: 'kafka', capability: 'fetch', topic: '..' })).toMatch(
      /not a valid Kafka topic name/,
    );
    expect(reason({ type: 'kafka', capability: 'fetch', topic: 'x'.repeat(250) })).toMatch(
      /not a valid Kafka topic name/,
    );
    expect(reason({ type: 'kafka', capability: 'push', topic: 't' })).toMatch(/capability "push"/);
    expect(reason({ type: 'kafka', capability: 'produce', topic: 't', acks: 'some' })).toMatch(/acks/);
    expect(reason({ type: 'kafka', capability: 'produce', topic: 't', timeoutMs: 0 })).toMatch(/timeoutMs/);
    expect(reason({ type: 'kafka', capability: 'fetch', topic: 't', start: 'now' })).toMatch(/start/);
    expect(reason({ type: 'kafka', capability: 'fetch', topic: 't', token: 5 })).toMatch(/token/);
    expect(reason({ type: 'kafka', capability: 'fetch', topic: 't', partitions: [] })).toMatch(/partitions/);
    expect(
      reason({ type: 'kafka', capability: 'fetch', topic: 't', partitions: [{ partition: -1, offset: 0n }] }),
    ).toMatch(/partition/);
    expect(
      reason({ type: 'kafka', capability: 'fetch', topic: 't', partitions: [{ partition: 0, offset: -1n }] }),
    ).toMatch(/offset/);
    expect(
      reason({
        type: 'kafka',
        capability: 'fetch',
        topic: 't',
        partitions: [
          { partition: 0, offset: 0n },
          { partition: 0, offset: 1n },
        ],
      }),
    ).toMatch(/twice/);
    expect(reason({ type: 'kafka', capability: 'fetch', topic: 't', filters: {} })).toMatch(/filters/);
    expect(reason({ type: 'kafka', capability: 'fetch', topic: 't', filters: [{ conditions: 3 }] })).toMatch(
      /filters are malformed/,
    );
    expect(reason({ type: 'kafka', capability: 'describe', topic: 't', configs: [1] })).toMatch(/configs/);
  });
});

describe('parseProduceData', () => {
  const base = { type: 'kafka', kind: 'produce', key: null, headers: [] };

  it('reads a record, a tombstone and the correlation', () => {
    const parsed = parseProduceData(
      { ...base, key: enc('k'), partition: 2, timestamp: 5, correlation: 'c' } as never,
      enc('v'),
    );
    expect(parsed.correlation).toBe('c');
    expect(parsed.record.ok && parsed.record.value).toMatchObject({ partition: 2, timestamp: 5 });
    const tombstone = parseProduceData({ ...base, tombstone: true } as never, new Uint8Array(0));
    expect(tombstone.record.ok && tombstone.record.value.value).toBeNull();
  });

  it('refuses malformed records but keeps their correlation', () => {
    const cases: [object | undefined, Uint8Array, RegExp][] = [
      [undefined, enc('v'), /no kafka produce extension/],
      [{ ...base, key: 'text' }, enc('v'), /key/],
      [{ ...base, headers: [{ name: 1 }] }, enc('v'), /header/],
      [{ ...base, headers: [{ name: 'h', value: 'text' }] }, enc('v'), /header "h"/],
      [{ ...base, partition: 1.5 }, enc('v'), /partition/],
      [{ ...base, timestamp: -1 }, enc('v'), /timestamp/],
      [{ ...base, tombstone: true }, enc('v'), /tombstone/],
    ];
    for (const [ext, payload, message] of cases) {
      const parsed = parseProduceData(
        ext === undefined ? undefined : ({ ...ext, correlation: 'x' } as never),
        payload,
      );
      expect(parsed.record.ok ? '' : parsed.record.reason).toMatch(message);
      if (ext !== undefined) expect(parsed.correlation).toBe('x');
    }
  });
});

describe('group begins and commits', () => {
  it('accepts a group begin and refuses one without a usable groupId', () => {
    const parsed = parseBegin({
      type: 'kafka',
      capability: 'group',
      topic: 't',
      groupId: 'g1',
      start: 'historical',
    } as never);
    expect(parsed.ok && parsed.value.ext.capability).toBe('group');
    for (const groupId of [undefined, '', 7, 'x'.repeat(256)]) {
      const refused = parseBegin({ type: 'kafka', capability: 'group', topic: 't', groupId } as never);
      expect(refused.ok, String(groupId)).toBe(false);
    }
  });

  it('checks commit offsets', () => {
    const commit = (offsets: unknown) => parseCommit({ type: 'kafka', kind: 'commit', offsets } as never);
    expect(
      commit([
        { partition: 0, offset: 5n },
        { partition: 1, offset: 0n },
      ]),
    ).toMatchObject({ ok: true });
    expect(commit('0:5')).toMatchObject({ ok: false, reason: 'offsets must be an array' });
    expect(commit([{ partition: -1, offset: 1n }])).toMatchObject({ ok: false });
    expect(commit([{ partition: 0, offset: 1 }])).toMatchObject({
      ok: false,
      reason: 'offsets[].offset must be a bigint ≥ 0',
    });
    expect(
      commit([
        { partition: 0, offset: 1n },
        { partition: 0, offset: 2n },
      ]),
    ).toMatchObject({
      ok: false,
      reason: 'partition 0 is listed twice',
    });
    expect(parseCommit({ type: 'kafka', kind: 'ack' } as never)).toMatchObject({ ok: false });
  });
});
