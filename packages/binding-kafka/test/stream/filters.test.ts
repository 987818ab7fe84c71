import { describe, expect, it } from 'vitest';
import type { KafkaCondition, KafkaFilter, KafkaHeader } from '../../src/index.ts';
import { compileFilters, filterKey, type RecordView } from '../../src/stream/filters.ts';

const text = new TextEncoder();
const b = (value: string) => text.encode(value);

/** A record with an optional key and headers given as [name, value] pairs. */
function record(key: string | null, headers: [string, string | null][] = []): RecordView {
  return {
    key: key === null ? null : b(key),
    headers: headers.map(([name, value]) => ({ name, value: value === null ? null : b(value) })),
  };
}

/** An MQTT topic as one `topic` header per level, as mqtt-kafka writes it. */
function topic(name: string, extra: [string, string | null][] = []): RecordView {
  return record(null, [...extra, ...name.split('/').map((level): [string, string] => ['topic', level])]);
}

/** An MQTT topic filter as a header sequence condition. */
function topicFilter(filter: string): KafkaCondition {
  return {
    headers: {
      name: 'topic',
      sequence: filter
        .split('/')
        .map((level) =>
          level === '+' ? { skip: 'one' } : level === '#' ? { skip: 'many' } : { value: b(level) },
        ),
    },
  };
}

const keyIs = (key: string | null): KafkaCondition => ({ key: key === null ? null : b(key) });
const headerIs = (name: string, value: string): KafkaCondition => ({ header: { name, value: b(value) } });
const all = (...conditions: KafkaCondition[]): KafkaFilter => ({ conditions });

describe('compileFilters', () => {
  it('accepts every record without filters, or with a filter without conditions', () => {
    for (const filters of [undefined, [], [all()], [all(keyIs('x')), all()]]) {
      const matches = compileFilters(filters);
      expect(matches(record(null))).toBe(true);
      expect(matches(record('k', [['h', 'v']]))).toBe(true);
    }
  });

  it('matches keys by bytes, and a null key only with key: null', () => {
    const matches = compileFilters([all(keyIs('order-1'))]);
    expect(matches(record('order-1'))).toBe(true);
    expect(matches({ key: Buffer.from('order-1'), headers: [] })).toBe(true);
    expect(
      matches({ key: new Uint8Array(new TextEncoder().encode('xorder-1').buffer, 1), headers: [] }),
    ).toBe(true);
    expect(matches(record('order-10'))).toBe(false);
    expect(matches(record('order-'))).toBe(false);
    expect(matches(record(null))).toBe(false);

    const nullKey = compileFilters([all(keyIs(null))]);
    expect(nullKey(record(null))).toBe(true);
    expect(nullKey(record(''))).toBe(false);
    const emptyKey = compileFilters([all(keyIs(''))]);
    expect(emptyKey(record(''))).toBe(true);
    expect(emptyKey(record(null))).toBe(false);
  });

  it('matches a header when any header of that name has that value', () => {
    const matches = compileFilters([all(headerIs('type', 'b'))]);
    expect(
      matches(
        record(null, [
          ['type', 'a'],
          ['type', 'b'],
        ]),
      ),
    ).toBe(true);
    expect(
      matches(
        record(null, [
          ['type', 'a'],
          ['other', 'b'],
        ]),
      ),
    ).toBe(false);
    expect(matches(record(null, [['type', null]]))).toBe(false);
    expect(matches(record(null, [['Type', 'b']]))).toBe(false);
    expect(compileFilters([all(headerIs('type', ''))])(record(null, [['type', null]]))).toBe(false);
    expect(compileFilters([all(headerIs('type', ''))])(record(null, [['type', '']]))).toBe(true);
  });

  it('ANDs within a filter, ORs across filters, and negates with not', () => {
    const matches = compileFilters([
      all(keyIs('a'), headerIs('type', 'x')),
      all(keyIs('b'), { not: headerIs('type', 'x') }),
    ]);
    expect(matches(record('a', [['type', 'x']]))).toBe(true);
    expect(matches(record('a', [['type', 'y']]))).toBe(false);
    expect(matches(record('b', [['type', 'y']]))).toBe(true);
    expect(matches(record('b'))).toBe(true);
    expect(matches(record('b', [['type', 'x']]))).toBe(false);
    expect(matches(record('c'))).toBe(false);
    expect(compileFilters([all({ not: { not: keyIs('a') } })])(record('a'))).toBe(true);
  });

  describe('header sequences (MQTT topic filters, MQTT 5.0 §4.7)', () => {
    const cases: [filter: string, topic: string, matches: boolean][] = [
      ['a/b/c', 'a/b/c', true],
      ['a/b/c', 'a/b', false],
      ['a/b/c', 'a/b/c/d', false],
      ['a/+/c/#', 'a/b/c', true],
      ['a/+/c/#', 'a/b/c/d/e', true],
      ['a/+/c/#', 'a/c', false],
      ['a/+/c/#', 'a/b/x/c', false],
      // "sport/tennis/player1/#" matches the parent level too.
      ['sport/tennis/player1/#', 'sport/tennis/player1', true],
      ['sport/tennis/player1/#', 'sport/tennis/player1/ranking', true],
      ['sport/tennis/player1/#', 'sport/tennis/player1/score/wimbledon', true],
      ['sport/#', 'sport', true],
      ['#', 'anything/at/all', true],
      ['sport/tennis/+', 'sport/tennis/player1', true],
      ['sport/tennis/+', 'sport/tennis/player1/ranking', false],
      ['sport/+', 'sport', false],
      ['sport/+', 'sport/', true],
      ['+/+', '/finance', true],
      ['/+', '/finance', true],
      ['+', '/finance', false],
      ['+/monitor/Clients', 'SYS/monitor/Clients', true],
      ['a/#/c', 'a/c', true],
      ['a/#/c', 'a/x/y/c', true],
      ['a/#/c', 'a/x/y/c/d', false],
      ['#/c/#/e', 'a/c/d/c/x/e', true],
      ['#/c/+/e', 'c/d/c/x/e', true],
      ['#/c/+/e', 'c/d/c/x/y/e', false],
    ];
    it.each(cases)('%s against %s → %s', (filter, name, expected) => {
      expect(compileFilters([all(topicFilter(filter))])(topic(name))).toBe(expected);
    });

    it('ignores headers of other names between the levels', () => {
      const interleaved = record(null, [
        ['topic', 'a'],
        ['x', 'b'],
        ['topic', 'b'],
        ['topic', null],
        ['y', 'c'],
        ['topic', 'c'],
      ]);
      expect(compileFilters([all(topicFilter('a/b/+/c'))])(interleaved)).toBe(true);
      expect(compileFilters([all(topicFilter('a/b/c'))])(interleaved)).toBe(false);
      // A literal never matches a null value; `+` does.
      expect(compileFilters([all(topicFilter('a/b//c'))])(interleaved)).toBe(false);
    });

    it('treats an empty sequence as "no such header" and [many] as anything', () => {
      const empty = compileFilters([all({ headers: { name: 'topic', sequence: [] } })]);
      expect(empty(record(null))).toBe(true);
      expect(empty(topic('a'))).toBe(false);
      const many = compileFilters([all({ headers: { name: 'topic', sequence: [{ skip: 'many' }] } })]);
      expect(many(record(null))).toBe(true);
      expect(many(topic('a/b'))).toBe(true);
    });

    it('agrees with a reference matcher on random sequences', () => {
      const rng = random(11);
      const levels = ['a', 'b', ''];
      for (let i = 0; i < 5000; i++) {
        const pattern = Array.from({ length: rng.int(6) }, () => rng.pick(['a', 'b', '', '+', '#', '#']));
        const values = Array.from({ length: rng.int(7) }, () => rng.pick(levels));
        const headers: [string, string | null][] = values.map((value) => ['topic', value]);
        if (rng.int(3) === 0) headers.splice(rng.int(headers.length + 1), 0, ['other', 'a']);
        const condition: KafkaCondition = {
          headers: {
            name: 'topic',
            sequence: pattern.map((p) =>
              p === '+' ? { skip: 'one' } : p === '#' ? { skip: 'many' } : { value: b(p) },
            ),
          },
        };
        expect(
          compileFilters([all(condition)])(record(null, headers)),
          `${pattern.join('/')} ~ ${values.join('/')}`,
        ).toBe(globMatch(pattern, values));
      }
    });
  });

  it('agrees with a direct reading of the semantics on random filters and records', () => {
    const rng = random(12);
    for (let i = 0; i < 3000; i++) {
      const filters = randomFilters(rng);
      const matches = compileFilters(filters);
      for (let r = 0; r < 5; r++) {
        const rec = randomRecord(rng);
        expect(matches(rec)).toBe(reference(filters, rec));
      }
    }
  });
});

describe('filterKey', () => {
  it('ignores the order of filters and conditions, duplicates and double negation', () => {
    const a = all(keyIs('k'), headerIs('h', 'v'));
    const a2 = all(headerIs('h', 'v'), keyIs('k'), { not: { not: keyIs('k') } });
    const c = all({ not: headerIs('h', 'w') });
    expect(filterKey([a, c])).toBe(filterKey([c, a2, a]));
  });

  it('treats equivalent skip runs as equal', () => {
    const seq = (...levels: string[]): KafkaFilter =>
      all({
        headers: {
          name: 'topic',
          sequence: levels.map((l) =>
            l === '+' ? { skip: 'one' } : l === '#' ? { skip: 'many' } : { value: b(l) },
          ),
        },
      });
    expect(filterKey([seq('a', '#', '+', '#', 'b')])).toBe(filterKey([seq('a', '+', '#', 'b')]));
    expect(filterKey([seq('a', '+', '+')])).not.toBe(filterKey([seq('a', '+')]));
    expect(filterKey([seq('a', '')])).not.toBe(filterKey([seq('a')]));
  });

  it('gives every set matching everything the same empty key', () => {
    expect(filterKey(undefined)).toBe('');
    expect(filterKey([])).toBe('');
    expect(filterKey([all(), all(keyIs('x'))])).toBe('');
    expect(filterKey([all(keyIs('x'))])).not.toBe('');
  });

  it('distinguishes different filters', () => {
    const keys = [
      [all(keyIs(null))],
      [all(keyIs(''))],
      [all(keyIs('a'))],
      [all(keyIs('a'), keyIs('b'))],
      [all(keyIs('a')), all(keyIs('b'))],
      [all(headerIs('a', 'b'))],
      [all(headerIs('a=', 'b'))],
      [all(headerIs('a', ''))],
      [all({ not: headerIs('a', 'b') })],
      [all({ headers: { name: 'a', sequence: [{ value: b('b') }] } })],
      [all({ headers: { name: 'a', sequence: [] } })],
      [all({ headers: { name: 'a|b', sequence: [] } })],
      [all({ headers: { name: 'a', sequence: [] } }), all({ headers: { name: 'b', sequence: [] } })],
    ].map(filterKey);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('gives equal keys only to sets that match the same records (random)', () => {
    const rng = random(13);
    const records = Array.from({ length: 200 }, () => randomRecord(rng));
    const seen = new Map<string, boolean[]>();
    for (let i = 0; i < 3000; i++) {
      const filters = randomFilters(rng);
      const outcome = records.map((rec) => reference(filters, rec));
      const key = filterKey(filters);
      const previous = seen.get(key);
      if (previous) expect(outcome).toEqual(previous);
      else seen.set(key, outcome);
    }
  });
});

// --- random filters and a reference evaluator -------------------------------------------------

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
const VALUES = ['', 'a', 'b', 'ab'];
const NAMES = ['h', 'topic'];

function randomCondition(rng: Rng, depth = 0): KafkaCondition {
  switch (rng.int(depth > 1 ? 4 : 5)) {
    case 0:
      return keyIs(rng.int(5) === 0 ? null : rng.pick(VALUES));
    case 1:
      return headerIs(rng.pick(NAMES), rng.pick(VALUES));
    case 2:
    case 3:
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
  if (rng.int(20) === 0) return undefined;
  return Array.from({ length: rng.int(4) }, () =>
    all(...Array.from({ length: rng.int(4) }, () => randomCondition(rng))),
  );
}

function randomRecord(rng: Rng): RecordView {
  const headers: KafkaHeader[] = Array.from({ length: rng.int(5) }, () => ({
    name: rng.pick(NAMES),
    value: rng.int(8) === 0 ? null : b(rng.pick(VALUES)),
  }));
  return { key: rng.int(5) === 0 ? null : b(rng.pick(VALUES)), headers };
}

const same = (a: Uint8Array | null, c: Uint8Array | null) =>
  a === null || c === null ? a === c : Buffer.from(a).equals(Buffer.from(c));

/** The semantics read straight from the type docs, written for clarity rather than speed. */
function holds(condition: KafkaCondition, rec: RecordView): boolean {
  if ('key' in condition) return same(condition.key, rec.key);
  if ('header' in condition) {
    return rec.headers.some(
      (h) => h.name === condition.header.name && h.value !== null && same(h.value, condition.header.value),
    );
  }
  if ('headers' in condition) {
    const values = rec.headers.filter((h) => h.name === condition.headers.name).map((h) => h.value);
    const pattern = condition.headers.sequence.map((e) => ('value' in e ? e.value : e.skip));
    const match = (p: number, v: number): boolean => {
      if (p === pattern.length) return v === values.length;
      const element = pattern[p]!;
      if (element === 'many') return match(p + 1, v) || (v < values.length && match(p, v + 1));
      if (v === values.length) return false;
      if (element === 'one') return match(p + 1, v + 1);
      return values[v] !== null && same(values[v]!, element) && match(p + 1, v + 1);
    };
    return match(0, 0);
  }
  return !holds(condition.not, rec);
}

function reference(filters: readonly KafkaFilter[] | undefined, rec: RecordView): boolean {
  if (filters === undefined || filters.length === 0) return true;
  return filters.some((filter) => filter.conditions.every((condition) => holds(condition, rec)));
}

/** Glob over string levels: `+` one level, `#` any number. */
function globMatch(pattern: string[], values: string[]): boolean {
  if (pattern.length === 0) return values.length === 0;
  const [head, ...rest] = pattern;
  if (head === '#')
    return globMatch(rest, values) || (values.length > 0 && globMatch(pattern, values.slice(1)));
  if (values.length === 0) return false;
  return (head === '+' || head === values[0]) && globMatch(rest, values.slice(1));
}
