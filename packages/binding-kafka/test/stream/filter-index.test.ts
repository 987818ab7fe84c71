import { describe, expect, it } from 'vitest';
import type { KafkaCondition, KafkaFilter, KafkaHeader } from '../../src/index.ts';
import { FilterIndex } from '../../src/stream/filter-index.ts';
import { compileFilters, type RecordView } from '../../src/stream/filters.ts';

const text = new TextEncoder();
const b = (value: string) => text.encode(value);

function record(key: string | null, headers: [string, string | null][] = []): RecordView {
  return {
    key: key === null ? null : b(key),
    headers: headers.map(([name, value]) => ({ name, value: value === null ? null : b(value) })),
  };
}

const keyIs = (key: string | null): KafkaCondition => ({ key: key === null ? null : b(key) });
const headerIs = (name: string, value: string): KafkaCondition => ({ header: { name, value: b(value) } });
const all = (...conditions: KafkaCondition[]): KafkaFilter => ({ conditions });
const topicFilter = (filter: string): KafkaCondition => ({
  headers: {
    name: 'topic',
    sequence: filter
      .split('/')
      .map((level) =>
        level === '+' ? { skip: 'one' } : level === '#' ? { skip: 'many' } : { value: b(level) },
      ),
  },
});
const topic = (name: string): RecordView =>
  record(
    null,
    name.split('/').map((level): [string, string] => ['topic', level]),
  );

/** Subscribers visited for `rec`, in visiting order, failing on any second visit. */
function matched<S>(index: FilterIndex<S>, rec: RecordView): S[] {
  const visited: S[] = [];
  index.match(rec, (subscriber) => {
    expect(visited).not.toContain(subscriber);
    visited.push(subscriber);
  });
  return visited;
}

const sorted = <T>(items: T[]) => [...items].sort();

/** A record whose `headers` reads are counted: how often filters looked at it. */
function counting(rec: RecordView): { record: RecordView; reads: () => number } {
  let reads = 0;
  const headers = rec.headers;
  return {
    record: {
      key: rec.key,
      get headers(): readonly KafkaHeader[] {
        reads++;
        return headers;
      },
    },
    reads: () => reads,
  };
}

describe('FilterIndex', () => {
  it('visits the subscribers whose filters match, each once', () => {
    const index = new FilterIndex<string>();
    index.add('orders-1', [all(keyIs('order-1'))]);
    index.add('typed', [all(headerIs('type', 'created'))]);
    index.add('either', [
      all(keyIs('order-1')),
      all(headerIs('type', 'created')),
      all({ not: keyIs('zzz') }),
    ]);
    index.add('everything', undefined);
    index.add('nothing-yet', [all(keyIs('order-2'), headerIs('type', 'deleted'))]);

    expect(sorted(matched(index, record('order-1', [['type', 'created']])))).toEqual([
      'either',
      'everything',
      'orders-1',
      'typed',
    ]);
    expect(sorted(matched(index, record('order-2', [['type', 'deleted']])))).toEqual([
      'either',
      'everything',
      'nothing-yet',
    ]);
    expect(sorted(matched(index, record('zzz')))).toEqual(['everything']);
    expect(index.size).toBe(5);
  });

  it('groups subscribers with equal filter sets and evaluates the group once per record', () => {
    const index = new FilterIndex<number>();
    const filters = [all({ not: headerIs('type', 'x') }), all(headerIs('type', 'y'), { not: keyIs('k') })];
    const reordered = [
      all({ not: keyIs('k') }, headerIs('type', 'y')),
      all({ not: { not: { not: headerIs('type', 'x') } } }),
    ];
    for (let i = 0; i < 1000; i++) index.add(i, i % 2 === 0 ? filters : reordered);
    expect(index.size).toBe(1000);
    expect(index.groupCount).toBe(1);

    const probe = counting(record('a', [['type', 'y']]));
    expect(matched(index, probe.record)).toHaveLength(1000);
    // The index walks the headers once, the group's filters read them at most twice more.
    expect(probe.reads()).toBeLessThanOrEqual(3);
  });

  it('finds one of 10 000 key subscribers without evaluating the others', () => {
    const index = new FilterIndex<number>();
    for (let i = 0; i < 10_000; i++) index.add(i, [all(keyIs(`device-${i}`), headerIs('kind', 'reading'))]);
    expect(index.groupCount).toBe(10_000);
    const probe = counting(record('device-4711', [['kind', 'reading']]));
    expect(matched(index, probe.record)).toEqual([4711]);
    // One read by the header walk, one by the single residual (the header condition).
    expect(probe.reads()).toBeLessThanOrEqual(2);
    expect(matched(index, record('device-4711', [['kind', 'other']]))).toEqual([]);
    expect(matched(index, record('device-10000', [['kind', 'reading']]))).toEqual([]);
  });

  it('removes subscribers, and a group with its last subscriber', () => {
    const index = new FilterIndex<string>();
    index.add('a', [all(keyIs('k'))]);
    index.add('b', [all(keyIs('k'))]);
    index.add('c', [all(headerIs('h', 'v'))]);
    index.add('d', [all({ not: keyIs('k') })]);
    index.add('e', []);
    expect(index.groupCount).toBe(4);

    index.remove('a');
    expect(matched(index, record('k', [['h', 'v']]))).toEqual(expect.arrayContaining(['b', 'c', 'e']));
    expect(matched(index, record('k'))).not.toContain('a');
    index.remove('b');
    expect(index.groupCount).toBe(3);
    index.remove('d');
    index.remove('e');
    index.remove('missing');
    expect(sorted(matched(index, record('x', [['h', 'v']])))).toEqual(['c']);
    index.remove('c');
    expect(index.size).toBe(0);
    expect(index.groupCount).toBe(0);
    expect(matched(index, record('k', [['h', 'v']]))).toEqual([]);
  });

  it('replaces the filters of a subscriber added again', () => {
    const index = new FilterIndex<string>();
    index.add('s', [all(keyIs('a'))]);
    index.add('s', [all(keyIs('b'))]);
    expect(index.size).toBe(1);
    expect(index.groupCount).toBe(1);
    expect(matched(index, record('a'))).toEqual([]);
    expect(matched(index, record('b'))).toEqual(['s']);
    index.add('s', [all(keyIs('b'))]);
    expect(matched(index, record('b'))).toEqual(['s']);
  });

  it('indexes null keys, and matches NOT-only and empty filters by scanning', () => {
    const index = new FilterIndex<string>();
    index.add('null', [all(keyIs(null))]);
    index.add('empty-key', [all(keyIs(''))]);
    index.add('not-a', [all({ not: keyIs('a') })]);
    index.add('all', [all()]);
    expect(sorted(matched(index, record(null)))).toEqual(['all', 'not-a', 'null']);
    expect(sorted(matched(index, record('')))).toEqual(['all', 'empty-key', 'not-a']);
    expect(sorted(matched(index, record('a')))).toEqual(['all']);
  });

  it('matches MQTT wildcard subscriptions through their literal levels', () => {
    const index = new FilterIndex<string>();
    const filters = [
      'sensors/#',
      'sensors/+/temperature',
      'sensors/kitchen/+',
      '#',
      '+/+',
      'other/#',
      'sensors',
    ];
    for (const filter of filters) index.add(filter, [all(topicFilter(filter))]);
    expect(sorted(matched(index, topic('sensors')))).toEqual(['#', 'sensors', 'sensors/#']);
    expect(sorted(matched(index, topic('sensors/kitchen/temperature')))).toEqual(
      sorted(['sensors/#', 'sensors/+/temperature', 'sensors/kitchen/+', '#']),
    );
    expect(sorted(matched(index, topic('sensors/kitchen')))).toEqual(sorted(['sensors/#', '#', '+/+']));
    expect(sorted(matched(index, topic('other/x/y')))).toEqual(sorted(['#', 'other/#']));
  });

  it('lets visit add, remove and match again', () => {
    const index = new FilterIndex<string>();
    index.add('a', [all(keyIs('k'))]);
    index.add('b', [all(keyIs('k'))]);
    index.add('c', [all(headerIs('h', 'v'))]);
    const seen: string[] = [];
    index.match(record('k', [['h', 'v']]), (subscriber) => {
      seen.push(subscriber);
      if (subscriber === 'a') {
        index.remove('b'); // not yet visited: skipped
        expect(matched(index, record('k'))).toEqual(['a']);
      }
    });
    expect(seen).toEqual(['a', 'c']);
    expect(matched(index, record('k', [['h', 'v']]))).toEqual(['a', 'c']);
  });

  it('keeps its own copy of indexed bytes', () => {
    const index = new FilterIndex<string>();
    const key = b('k');
    index.add('s', [{ conditions: [{ key }] }]);
    key[0] = 0x78;
    expect(matched(index, record('k'))).toEqual(['s']);
  });

  it('agrees with evaluating every subscriber, over random subscribers, filters, changes and records', () => {
    const rng = random(21);
    let cases = 0;
    for (let run = 0; run < 40; run++) {
      const index = new FilterIndex<number>();
      const live = new Map<number, (rec: RecordView) => boolean>();
      const subscribers = 20 + rng.int(180);
      for (let step = 0; step < 300; step++) {
        const id = rng.int(subscribers);
        if (rng.int(3) > 0) {
          // Few distinct filter sets, so that groups form and split.
          const filters = rng.int(3) === 0 ? shared[rng.int(shared.length)] : randomFilters(rng);
          index.add(id, filters);
          live.set(id, compileFilters(filters));
        } else {
          index.remove(id);
          live.delete(id);
        }
        if (index.size !== live.size) expect(index.size).toBe(live.size);
        for (let r = 0; r < 3; r++) {
          const rec = randomRecord(rng);
          const expected = [...live].filter(([, matches]) => matches(rec)).map(([id]) => id);
          const visited: number[] = [];
          index.match(rec, (subscriber) => visited.push(subscriber));
          // Plain comparison first: expect() on every case would dominate the run time.
          const actual = visited.sort((x, y) => x - y);
          if (actual.join() !== expected.sort((x, y) => x - y).join())
            expect({ run, step, actual }).toEqual({ run, step, actual: expected });
          cases++;
        }
      }
    }
    expect(cases).toBe(40 * 300 * 3);
  });
});

// --- random filters and records ---------------------------------------------------------------

function random(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  };
  const int = (max: number) => Math.floor(next() * max);
  return { next, int, pick: <T>(items: readonly T[]): T => items[int(items.length)]! };
}

type Rng = ReturnType<typeof random>;
const VALUES = ['', 'a', 'b', 'ab', 'c'];
const NAMES = ['h', 'topic'];

function randomCondition(rng: Rng, depth = 0): KafkaCondition {
  switch (rng.int(depth > 1 ? 5 : 6)) {
    case 0:
    case 1:
      return keyIs(rng.int(6) === 0 ? null : rng.pick(VALUES));
    case 2:
      return headerIs(rng.pick(NAMES), rng.pick(VALUES));
    case 3:
    case 4:
      return {
        headers: {
          name: rng.pick(NAMES),
          sequence: Array.from({ length: rng.int(4) }, () =>
            rng.int(3) === 0 ? { skip: rng.pick(['one', 'many'] as const) } : { value: b(rng.pick(VALUES)) },
          ),
        },
      };
    default:
      return { not: randomCondition(rng, depth + 1) };
  }
}

function randomFilters(rng: Rng): KafkaFilter[] | undefined {
  if (rng.int(30) === 0) return rng.int(2) === 0 ? undefined : [];
  return Array.from({ length: 1 + rng.int(3) }, () =>
    all(...Array.from({ length: rng.int(10) === 0 ? 0 : 1 + rng.int(3) }, () => randomCondition(rng))),
  );
}

const shared = Array.from({ length: 6 }, (_, i) => randomFilters(random(100 + i)));

function randomRecord(rng: Rng): RecordView {
  const headers: KafkaHeader[] = Array.from({ length: rng.int(5) }, () => ({
    name: rng.pick(NAMES),
    value: rng.int(8) === 0 ? null : b(rng.pick(VALUES)),
  }));
  return { key: rng.int(6) === 0 ? null : b(rng.pick(VALUES)), headers };
}
