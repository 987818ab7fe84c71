/**
 * Record filters of a fetch stream ({@link KafkaFilter}): compiled once into a predicate, and
 * reduced to a canonical form whose key identifies equal filter sets, so that the cache can
 * evaluate each distinct set once per record however many streams share it (DESIGN.md §4).
 *
 * Semantics: a record passes when **any** filter matches (OR), and a filter matches when **all**
 * its conditions hold (AND). No filters, or a filter without conditions, match every record.
 *
 * - `key`: the record key equals the bytes; `key: null` matches exactly the records without a key.
 * - `header`: some header of that name has exactly that value (a null header value never does).
 * - `headers`: the values of the headers named `name`, in record order, match the sequence: a
 *   value matches one header with that value, `skip: 'one'` any one header (null value included),
 *   `skip: 'many'` any number of headers, none included. This is MQTT topic-filter matching with
 *   one header per level: `a/+/c/#` is `[a, one, c, many]`, and `sensors/#` matches `sensors`
 *   because `#` also matches the parent level (MQTT 5.0 §4.7.1.2). The empty sequence matches records
 *   without such headers; `[many]` matches every record.
 * - `not`: the condition does not hold.
 *
 * Hot-path predicates compare bytes in place and allocate nothing.
 *
 * @module
 */
import type { KafkaCondition, KafkaFilter, KafkaHeader } from '../index.ts';

/** What filters look at in a record. */
export type RecordView = { readonly key: Uint8Array | null; readonly headers: readonly KafkaHeader[] };

export type RecordPredicate = (record: RecordView) => boolean;

/** One filter in canonical form: conditions normalised, deduplicated and sorted by their key. */
export interface CanonicalFilter {
  readonly key: string;
  readonly conditions: readonly KafkaCondition[];
}

/**
 * A filter set in canonical form: filters deduplicated and sorted. No filters means the set
 * matches every record (also when some filter had no conditions), and then `key` is `''`.
 */
export interface CanonicalFilters {
  readonly key: string;
  readonly filters: readonly CanonicalFilter[];
}

const always: RecordPredicate = () => true;

/**
 * Compiles `filters` into a predicate: OR across filters, AND within one. `undefined`, `[]` and
 * any filter without conditions give a predicate that accepts every record.
 */
export function compileFilters(filters: readonly KafkaFilter[] | undefined): RecordPredicate {
  return compileCanonical(canonicalFilters(filters));
}

/**
 * The canonical identity of a filter set: two sets with the same key match the same records.
 * Order of filters and conditions, duplicates, double negation and equivalent skip runs in a
 * sequence (`many, one` ≡ `one, many`; `many, many` ≡ `many`) do not change the key. Sets that
 * match everything have the key `''`.
 */
export function filterKey(filters: readonly KafkaFilter[] | undefined): string {
  return canonicalFilters(filters).key;
}

/** The canonical form of `filters` (see {@link filterKey}). */
export function canonicalFilters(filters: readonly KafkaFilter[] | undefined): CanonicalFilters {
  if (filters === undefined || filters.length === 0) return { key: '', filters: [] };
  const byKey = new Map<string, CanonicalFilter>();
  for (const filter of filters) {
    const conditions = new Map<string, KafkaCondition>();
    for (const condition of filter.conditions) {
      const normal = normalizeCondition(condition);
      conditions.set(conditionKey(normal), normal);
    }
    // A filter without conditions matches every record, and so does the whole set.
    if (conditions.size === 0) return { key: '', filters: [] };
    const keys = [...conditions.keys()].sort();
    const key = `(${keys.join('&')})`;
    byKey.set(key, { key, conditions: keys.map((k) => conditions.get(k)!) });
  }
  const keys = [...byKey.keys()].sort();
  return { key: keys.join('|'), filters: keys.map((k) => byKey.get(k)!) };
}

/** The predicate of a canonical filter set. */
export function compileCanonical(canonical: CanonicalFilters): RecordPredicate {
  const compiled = canonical.filters.map((filter) => compileConditions(filter.conditions));
  switch (compiled.length) {
    case 0:
      return always;
    case 1:
      return compiled[0]!;
    case 2: {
      const [a, b] = compiled as [RecordPredicate, RecordPredicate];
      return (record) => a(record) || b(record);
    }
    default:
      return (record) => {
        for (let i = 0; i < compiled.length; i++) if (compiled[i]!(record)) return true;
        return false;
      };
  }
}

/** The predicate that holds when all `conditions` hold (cheapest checked first). */
export function compileConditions(conditions: readonly KafkaCondition[]): RecordPredicate {
  const ordered = [...conditions].sort((a, b) => cost(a) - cost(b)).map(compileCondition);
  switch (ordered.length) {
    case 0:
      return always;
    case 1:
      return ordered[0]!;
    case 2: {
      const [a, b] = ordered as [RecordPredicate, RecordPredicate];
      return (record) => a(record) && b(record);
    }
    default:
      return (record) => {
        for (let i = 0; i < ordered.length; i++) if (!ordered[i]!(record)) return false;
        return true;
      };
  }
}

/** Byte equality, without allocating. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  const length = a.length;
  if (length !== b.length) return false;
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------

type SequenceElement = { readonly value: Uint8Array } | { readonly skip: 'one' | 'many' };

/** Removes double negations and puts skip runs of sequences in one order. */
function normalizeCondition(condition: KafkaCondition): KafkaCondition {
  if ('not' in condition) {
    const inner = normalizeCondition(condition.not);
    return 'not' in inner ? inner.not : { not: inner };
  }
  if ('headers' in condition) {
    const { name, sequence } = condition.headers;
    return { headers: { name, sequence: normalizeSequence(sequence) } };
  }
  return condition;
}

/** In each run of skips, the `one`s first and at most one `many` after them. */
function normalizeSequence(sequence: readonly SequenceElement[]): SequenceElement[] {
  const result: SequenceElement[] = [];
  let ones = 0;
  let many = false;
  const flush = () => {
    for (; ones > 0; ones--) result.push({ skip: 'one' });
    if (many) result.push({ skip: 'many' });
    many = false;
  };
  for (const element of sequence) {
    if ('value' in element) {
      flush();
      result.push({ value: element.value });
    } else if (element.skip === 'one') ones++;
    else many = true;
  }
  flush();
  return result;
}

function conditionKey(condition: KafkaCondition): string {
  if ('key' in condition) return condition.key === null ? 'k:-' : `k:${hex(condition.key)}`;
  if ('header' in condition)
    return `h:${JSON.stringify(condition.header.name)}=${hex(condition.header.value)}`;
  if ('headers' in condition) {
    const elements = condition.headers.sequence.map((element) =>
      'value' in element ? `=${hex(element.value)}` : element.skip === 'one' ? '+' : '#',
    );
    return `s:${JSON.stringify(condition.headers.name)}[${elements.join(',')}]`;
  }
  return `!(${conditionKey(condition.not)})`;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function cost(condition: KafkaCondition): number {
  if ('key' in condition) return 0;
  if ('header' in condition) return 1;
  if ('headers' in condition) return 2;
  return 3 + cost(condition.not);
}

function compileCondition(condition: KafkaCondition): RecordPredicate {
  if ('key' in condition) {
    const expected = condition.key;
    if (expected === null) return (record) => record.key === null;
    return (record) => record.key !== null && bytesEqual(record.key, expected);
  }
  if ('header' in condition) {
    const { name, value } = condition.header;
    return (record) => {
      const headers = record.headers;
      for (let i = 0; i < headers.length; i++) {
        const header = headers[i]!;
        if (header.name === name && header.value !== null && bytesEqual(header.value, value)) return true;
      }
      return false;
    };
  }
  if ('headers' in condition) return compileSequence(condition.headers.name, condition.headers.sequence);
  const inner = compileCondition(condition.not);
  return (record) => !inner(record);
}

const ONE = 1;
const MANY = 2;

/**
 * Glob matching of the values of headers `name` against the sequence, with backtracking to the
 * last `many` only (linear for MQTT-like filters, O(n·m) at worst), walking the record's header
 * array in place.
 */
function compileSequence(name: string, sequence: readonly SequenceElement[]): RecordPredicate {
  const length = sequence.length;
  const kinds = sequence.map((element) => ('value' in element ? 0 : element.skip === 'one' ? ONE : MANY));
  const values = sequence.map((element) => ('value' in element ? element.value : undefined));
  const next = (headers: readonly KafkaHeader[], from: number): number => {
    while (from < headers.length && headers[from]!.name !== name) from++;
    return from;
  };
  return (record) => {
    const headers = record.headers;
    const end = headers.length;
    let h = next(headers, 0);
    let p = 0;
    let starP = -1;
    let starH = 0;
    while (h < end) {
      const kind = p < length ? kinds[p]! : -1;
      if (kind === ONE || (kind === 0 && equalsValue(headers[h]!.value, values[p]!))) {
        p++;
        h = next(headers, h + 1);
      } else if (kind === MANY) {
        starP = p++;
        starH = h;
      } else if (starP >= 0) {
        // Let the last `many` take one more header and retry what follows it.
        p = starP + 1;
        starH = next(headers, starH + 1);
        h = starH;
      } else {
        return false;
      }
    }
    while (p < length && kinds[p] === MANY) p++;
    return p === length;
  };
}

function equalsValue(value: Uint8Array | null, expected: Uint8Array): boolean {
  return value !== null && bytesEqual(value, expected);
}
