/**
 * The fan-out index of the Kafka cache: which subscribers (fetch streams) want a record, at a
 * cost that grows with the filters a record could match rather than with the number of
 * subscribers (DESIGN.md §4: 10 000 streams each filtering on their own key must not cost
 * 10 000 comparisons per message).
 *
 * - Subscribers with the same filter set (same {@link filterKey}) form one **group**, evaluated
 *   once per record however many subscribers it holds.
 * - Each filter of a group (one disjunct) is filed under one equality it requires, if it has
 *   one: the record key (`key` condition, including `key: null`), a header name and value
 *   (`header` condition), or a literal of a header sequence (a sequence with a literal value
 *   requires a header with that value). Of the candidates the one whose value currently has the
 *   fewest filters wins, so that filters sharing one value spread over their other equalities.
 *   A record looks up its key and each of its headers, and only the filters found there are
 *   checked, against their remaining conditions.
 * - Filters requiring no equality (only `not`, sequences of skips) are checked for every record;
 *   groups matching everything are taken without a check.
 *
 * Values are found by a seeded 32-bit hash of their bytes and then compared byte for byte, so
 * collisions cost a comparison, never a wrong match.
 *
 * @module
 */
import type { KafkaCondition, KafkaFilter } from '../index.ts';
import { bytesEqual, canonicalFilters, compileConditions } from './filters.ts';
import type { CanonicalFilter, RecordPredicate, RecordView } from './filters.ts';

interface Group<S> {
  readonly key: string;
  /** Subscribers in insertion order. */
  readonly members: Set<S>;
  /** The last `match` call that selected this group. */
  seen: number;
  /** Undo the group's filing in the indexes. */
  readonly unfile: (() => void)[];
  /** True when the group matches every record. */
  readonly all: boolean;
}

/** One filter of a group, filed somewhere; `residual` = what the filing did not prove. */
interface Entry<S> {
  readonly group: Group<S>;
  readonly residual: RecordPredicate | null;
}

/** The filters filed under one exact value. */
interface Slot<S> {
  readonly bytes: Uint8Array;
  readonly entries: Entry<S>[];
}

/** Value hash → slots of the values with that hash (usually one). */
type ValueIndex<S> = Map<number, Slot<S>[]>;

interface Candidate {
  readonly rank: number;
  /** Index of the condition in the filter. */
  readonly condition: number;
  /** Whether filing under this value proves the condition (not so for a sequence literal). */
  readonly proves: boolean;
  /** Header name; undefined for the record key. */
  readonly name: string | undefined;
  /** The value; null only for `key: null`. */
  readonly bytes: Uint8Array | null;
}

/**
 * Subscribers and their filters, matched against records. Not re-entrant for changes: `visit`
 * may call {@link add} / {@link remove}, but a subscriber added during a `match` may or may not
 * see that record, and one removed before its turn does not.
 */
export class FilterIndex<S> {
  readonly #subscribers = new Map<S, Group<S>>();
  readonly #groups = new Map<string, Group<S>>();
  readonly #byKey: ValueIndex<S> = new Map();
  readonly #nullKey: Entry<S>[] = [];
  /** Header name → values. */
  readonly #byHeader = new Map<string, ValueIndex<S>>();
  /** Filters without a required equality, checked for every record. */
  readonly #scan: Entry<S>[] = [];
  /** Groups that match every record. */
  readonly #everything: Group<S>[] = [];
  readonly #seed = (Math.random() * 0x1_0000_0000) | 0;
  #epoch = 0;
  /** Groups selected by the current `match`, reused across calls (fresh when nested). */
  readonly #hits: Group<S>[] = [];
  #depth = 0;

  /** Number of subscribers. */
  get size(): number {
    return this.#subscribers.size;
  }

  /** Number of distinct filter sets among the subscribers. */
  get groupCount(): number {
    return this.#groups.size;
  }

  /**
   * Adds `subscriber` with its filters (`undefined` or `[]`: every record). A subscriber already
   * present gets the new filters instead of its old ones.
   */
  add(subscriber: S, filters: readonly KafkaFilter[] | undefined): void {
    const canonical = canonicalFilters(filters);
    const current = this.#subscribers.get(subscriber);
    if (current !== undefined) {
      if (current.key === canonical.key) return;
      this.remove(subscriber);
    }
    let group = this.#groups.get(canonical.key);
    if (group === undefined) {
      group = {
        key: canonical.key,
        members: new Set(),
        seen: 0,
        unfile: [],
        all: canonical.filters.length === 0,
      };
      this.#groups.set(canonical.key, group);
      if (group.all) this.#fileEverything(group);
      else for (const filter of canonical.filters) this.#file(group, filter);
    }
    group.members.add(subscriber);
    this.#subscribers.set(subscriber, group);
  }

  /** Removes `subscriber`; nothing happens if it is not present. */
  remove(subscriber: S): void {
    const group = this.#subscribers.get(subscriber);
    if (group === undefined) return;
    this.#subscribers.delete(subscriber);
    group.members.delete(subscriber);
    if (group.members.size > 0) return;
    this.#groups.delete(group.key);
    for (const unfile of group.unfile) unfile();
  }

  /** Calls `visit` once for every subscriber whose filters match the record. */
  match(record: RecordView, visit: (subscriber: S) => void): void {
    const epoch = ++this.#epoch;
    const hits = this.#depth === 0 ? this.#hits : [];
    const everything = this.#everything;
    for (let i = 0; i < everything.length; i++) {
      const group = everything[i]!;
      group.seen = epoch;
      hits.push(group);
    }

    const key = record.key;
    if (key === null) collect(this.#nullKey, record, epoch, hits);
    else if (this.#byKey.size > 0) this.#collectValue(this.#byKey, key, record, epoch, hits);

    if (this.#byHeader.size > 0) {
      const headers = record.headers;
      for (let i = 0; i < headers.length; i++) {
        const header = headers[i]!;
        if (header.value === null) continue;
        const values = this.#byHeader.get(header.name);
        if (values !== undefined) this.#collectValue(values, header.value, record, epoch, hits);
      }
    }

    collect(this.#scan, record, epoch, hits);

    if (hits.length === 0) return;
    this.#depth++;
    try {
      for (let i = 0; i < hits.length; i++) for (const subscriber of hits[i]!.members) visit(subscriber);
    } finally {
      this.#depth--;
      hits.length = 0;
    }
  }

  #collectValue(
    index: ValueIndex<S>,
    bytes: Uint8Array,
    record: RecordView,
    epoch: number,
    hits: Group<S>[],
  ) {
    const slots = index.get(this.#hash(bytes));
    if (slots === undefined) return;
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i]!;
      if (bytesEqual(slot.bytes, bytes)) collect(slot.entries, record, epoch, hits);
    }
  }

  /** Seeded FNV-1a, as a small integer: cheap, and collisions are hard to aim without the seed. */
  #hash(bytes: Uint8Array): number {
    let hash = 0x811c9dc5 ^ this.#seed;
    for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
    return hash | 0;
  }

  #fileEverything(group: Group<S>): void {
    this.#everything.push(group);
    group.unfile.push(() => removeItem(this.#everything, group));
  }

  /** Files one filter of `group` under its best equality, or in the scan list. */
  #file(group: Group<S>, filter: CanonicalFilter): void {
    const conditions = filter.conditions;
    let best: Candidate | undefined;
    let bestLoad = Infinity;
    for (const candidate of candidates(conditions)) {
      const load = this.#load(candidate);
      if (load < bestLoad || (load === bestLoad && best !== undefined && candidate.rank < best.rank)) {
        best = candidate;
        bestLoad = load;
      }
    }
    if (best === undefined) {
      const entry: Entry<S> = { group, residual: compileConditions(conditions) };
      this.#scan.push(entry);
      group.unfile.push(() => removeItem(this.#scan, entry));
      return;
    }
    const rest = best.proves ? conditions.filter((_, i) => i !== best.condition) : conditions;
    const entry: Entry<S> = { group, residual: rest.length === 0 ? null : compileConditions(rest) };

    if (best.bytes === null) {
      this.#nullKey.push(entry);
      group.unfile.push(() => removeItem(this.#nullKey, entry));
      return;
    }
    const name = best.name;
    let index: ValueIndex<S> | undefined = name === undefined ? this.#byKey : this.#byHeader.get(name);
    if (index === undefined) {
      index = new Map();
      this.#byHeader.set(name!, index);
    }
    const values = index;
    const bytes = best.bytes;
    const hash = this.#hash(bytes);
    let slots = values.get(hash);
    if (slots === undefined) {
      slots = [];
      values.set(hash, slots);
    }
    let slot = slots.find((candidate) => bytesEqual(candidate.bytes, bytes));
    if (slot === undefined) {
      slot = { bytes: Uint8Array.from(bytes), entries: [] };
      slots.push(slot);
    }
    slot.entries.push(entry);
    const filed = slot;
    const chain = slots;
    group.unfile.push(() => {
      removeItem(filed.entries, entry);
      if (filed.entries.length > 0) return;
      removeItem(chain, filed);
      if (chain.length > 0) return;
      values.delete(hash);
      if (name !== undefined && values.size === 0) this.#byHeader.delete(name);
    });
  }

  /** How many filters are filed under the candidate's value now. */
  #load(candidate: Candidate): number {
    if (candidate.bytes === null) return this.#nullKey.length;
    const values = candidate.name === undefined ? this.#byKey : this.#byHeader.get(candidate.name);
    const bytes = candidate.bytes;
    const slot = values?.get(this.#hash(bytes))?.find((s) => bytesEqual(s.bytes, bytes));
    return slot?.entries.length ?? 0;
  }
}

/** Selects, once per record, the groups of `entries` whose residual holds. */
function collect<S>(entries: readonly Entry<S>[], record: RecordView, epoch: number, hits: Group<S>[]): void {
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    const group = entry.group;
    if (group.seen === epoch) continue;
    if (entry.residual === null || entry.residual(record)) {
      group.seen = epoch;
      hits.push(group);
    }
  }
}

/** The equalities a filter requires, best kind first (key, header, sequence literal). */
function candidates(conditions: readonly KafkaCondition[]): Candidate[] {
  const result: Candidate[] = [];
  conditions.forEach((condition, index) => {
    if ('key' in condition) {
      result.push({ rank: 0, condition: index, proves: true, name: undefined, bytes: condition.key });
    } else if ('header' in condition) {
      const { name, value } = condition.header;
      result.push({ rank: 1, condition: index, proves: true, name, bytes: value });
    } else if ('headers' in condition) {
      const { name, sequence } = condition.headers;
      // Later levels of a topic are usually the more selective ones: prefer them on ties.
      for (let i = sequence.length - 1; i >= 0; i--) {
        const element = sequence[i]!;
        if ('value' in element) {
          result.push({
            rank: 2 + (sequence.length - 1 - i),
            condition: index,
            proves: false,
            name,
            bytes: element.value,
          });
        }
      }
    }
  });
  return result;
}

function removeItem<T>(items: T[], item: T): void {
  const at = items.indexOf(item);
  if (at >= 0) items.splice(at, 1);
}
