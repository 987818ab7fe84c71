/**
 * The fan-out index of the Kafka cache: which subscribers (fetch streams) want a record, at a
 * cost that grows with the filters a record could match rather than with the number of
 * subscribers (DESIGN.md §4: 10 000 streams each filtering on their own key must not cost
 * 10 000 comparisons per message).
 *
 * - Subscribers with the same filter set (same `filterKey`, see ./filters.ts) form one **group**, evaluated
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
  /** Exactly one member, `only`: most groups, visited without touching the set. */
  single: boolean;
  only: S | undefined;
  /** The last `match` call that selected this group. */
  seen: number;
  /** Undo the group's filing in the indexes. */
  readonly unfile: (() => void)[];
}

/**
 * One filter of a group, filed in a list; `residual` = what the filing did not prove. Lists are
 * linked through the entries: one pointer hop fewer per record than an array of entries, which
 * counts when 10 000 filters no longer fit in the CPU caches.
 */
interface Entry<S> {
  readonly group: Group<S>;
  readonly residual: RecordPredicate | null;
  next: Entry<S> | undefined;
}

interface EntryList<S> {
  head: Entry<S> | undefined;
  count: number;
}

/** The filters filed under one exact value; `next` chains values with the same hash. */
interface Slot<S> extends EntryList<S> {
  readonly bytes: Uint8Array;
  next: Slot<S> | undefined;
}

/** Groups selected for one record: `groups[0, count)`. */
interface Hits<S> {
  readonly groups: (Group<S> | undefined)[];
  count: number;
}

/** Value hash → slots of the values with that hash (almost always one). */
type ValueIndex<S> = Map<number, Slot<S>>;

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
 * Subscribers and their filters, matched against records. Single-threaded, synchronous.
 *
 * `visit` may call {@link FilterIndex.add}, {@link FilterIndex.remove} and {@link FilterIndex.match}:
 * a subscriber removed before its turn is not visited, and one added during a `match` may or may
 * not see that record. The order of visits is not specified.
 */
export class FilterIndex<S> {
  readonly #subscribers = new Map<S, Group<S>>();
  readonly #groups = new Map<string, Group<S>>();
  readonly #byKey: ValueIndex<S> = new Map();
  readonly #nullKey: EntryList<S> = { head: undefined, count: 0 };
  /** Header name → values. */
  readonly #byHeader = new Map<string, ValueIndex<S>>();
  /** Filters without a required equality, checked for every record. */
  readonly #scan: EntryList<S> = { head: undefined, count: 0 };
  /** Groups that match every record. */
  readonly #everything: Group<S>[] = [];
  readonly #seed = (Math.random() * 0x1_0000_0000) | 0;
  #epoch = 0;
  /** Groups selected by the current `match`, reused across calls (fresh when nested). */
  readonly #hits: Hits<S> = { groups: [], count: 0 };
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
      group = { key: canonical.key, members: new Set(), single: false, only: undefined, seen: 0, unfile: [] };
      this.#groups.set(canonical.key, group);
      if (canonical.filters.length === 0) this.#fileEverything(group);
      else for (const filter of canonical.filters) this.#file(group, filter);
    }
    group.members.add(subscriber);
    group.single = group.members.size === 1;
    group.only = group.single ? subscriber : undefined;
    this.#subscribers.set(subscriber, group);
  }

  /** Removes `subscriber`; nothing happens if it is not present. */
  remove(subscriber: S): void {
    const group = this.#subscribers.get(subscriber);
    if (group === undefined) return;
    this.#subscribers.delete(subscriber);
    const members = group.members;
    members.delete(subscriber);
    group.single = members.size === 1;
    group.only = group.single ? members.values().next().value : undefined;
    if (members.size > 0) return;
    this.#groups.delete(group.key);
    for (const unfile of group.unfile) unfile();
  }

  /** Calls `visit` once for every subscriber whose filters match the record. */
  match(record: RecordView, visit: (subscriber: S) => void): void {
    const epoch = ++this.#epoch;
    const hits: Hits<S> = this.#depth === 0 ? this.#hits : { groups: [], count: 0 };
    const everything = this.#everything;
    for (let i = 0; i < everything.length; i++) {
      const group = everything[i]!;
      group.seen = epoch;
      hits.groups[hits.count++] = group;
    }

    const key = record.key;
    if (key === null) collect(this.#nullKey.head, record, epoch, hits);
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

    collect(this.#scan.head, record, epoch, hits);

    const count = hits.count;
    if (count === 0) return;
    this.#depth++;
    try {
      const groups = hits.groups;
      for (let i = 0; i < count; i++) {
        const group = groups[i]!;
        if (group.single) visit(group.only as S);
        else for (const subscriber of group.members) visit(subscriber);
      }
    } finally {
      this.#depth--;
      // Cleared in place: `length = 0` would drop the backing store and reallocate it per record.
      for (let i = 0; i < count; i++) hits.groups[i] = undefined;
      hits.count = 0;
    }
  }

  #collectValue(
    index: ValueIndex<S>,
    bytes: Uint8Array,
    record: RecordView,
    epoch: number,
    hits: Hits<S>,
  ): void {
    for (let slot = index.get(this.#hash(bytes)); slot !== undefined; slot = slot.next) {
      if (bytesEqual(slot.bytes, bytes)) {
        collect(slot.head, record, epoch, hits);
        return;
      }
    }
  }

  /** Seeded FNV-1a, cut to 30 bits (a V8 small integer, never boxed): cheap, and collisions are hard to aim without the seed. */
  #hash(bytes: Uint8Array): number {
    let hash = 0x811c9dc5 ^ this.#seed;
    for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
    return hash & 0x3fff_ffff;
  }

  #fileEverything(group: Group<S>): void {
    this.#everything.push(group);
    group.unfile.push(() => {
      const at = this.#everything.indexOf(group);
      if (at >= 0) this.#everything.splice(at, 1);
    });
  }

  /** Files one filter of `group` under its best equality, or in the scan list. */
  #file(group: Group<S>, filter: CanonicalFilter): void {
    const conditions = filter.conditions;
    let best: Candidate | undefined;
    let bestLoad = Infinity;
    for (const candidate of candidates(conditions)) {
      const load = this.#slot(candidate)?.count ?? 0;
      if (load < bestLoad || (load === bestLoad && best !== undefined && candidate.rank < best.rank)) {
        best = candidate;
        bestLoad = load;
      }
    }
    if (best === undefined) {
      fileIn(this.#scan, group, compileConditions(conditions));
      return;
    }
    const rest = best.proves ? conditions.filter((_, i) => i !== best.condition) : conditions;
    const residual = rest.length === 0 ? null : compileConditions(rest);
    if (best.bytes === null) {
      fileIn(this.#nullKey, group, residual);
      return;
    }

    const name = best.name;
    let values = name === undefined ? this.#byKey : this.#byHeader.get(name);
    if (values === undefined) {
      values = new Map();
      this.#byHeader.set(name!, values);
    }
    const index = values;
    const hash = this.#hash(best.bytes);
    let slot = findSlot(index, hash, best.bytes);
    if (slot === undefined) {
      slot = { bytes: Uint8Array.from(best.bytes), head: undefined, count: 0, next: index.get(hash) };
      index.set(hash, slot);
    }
    const filed = slot;
    fileIn(filed, group, residual);
    group.unfile.push(() => {
      if (filed.count > 0) return;
      // The value has no filters left: unchain its slot.
      const first = index.get(hash);
      if (first === filed) {
        if (filed.next === undefined) index.delete(hash);
        else index.set(hash, filed.next);
      } else {
        let previous = first;
        while (previous !== undefined && previous.next !== filed) previous = previous.next;
        if (previous !== undefined) previous.next = filed.next;
      }
      if (name !== undefined && index.size === 0) this.#byHeader.delete(name);
    });
  }

  /** The list the candidate's value files into, if it exists yet. */
  #slot(candidate: Candidate): EntryList<S> | undefined {
    const bytes = candidate.bytes;
    if (bytes === null) return this.#nullKey;
    const values = candidate.name === undefined ? this.#byKey : this.#byHeader.get(candidate.name);
    return values === undefined ? undefined : findSlot(values, this.#hash(bytes), bytes);
  }
}

function findSlot<S>(values: ValueIndex<S>, hash: number, bytes: Uint8Array): Slot<S> | undefined {
  let slot = values.get(hash);
  while (slot !== undefined && !bytesEqual(slot.bytes, bytes)) slot = slot.next;
  return slot;
}

/** Selects, once per record, the groups of the listed entries whose residual holds. */
function collect<S>(head: Entry<S> | undefined, record: RecordView, epoch: number, hits: Hits<S>): void {
  for (let entry = head; entry !== undefined; entry = entry.next) {
    const group = entry.group;
    if (group.seen === epoch) continue;
    if (entry.residual === null || entry.residual(record)) {
      group.seen = epoch;
      hits.groups[hits.count++] = group;
    }
  }
}

/** Prepends an entry for `group` to `list`, and registers its removal with the group. */
function fileIn<S>(list: EntryList<S>, group: Group<S>, residual: RecordPredicate | null): void {
  const entry: Entry<S> = { group, residual, next: list.head };
  list.head = entry;
  list.count++;
  group.unfile.push(() => {
    if (list.head === entry) list.head = entry.next;
    else {
      let previous = list.head;
      while (previous !== undefined && previous.next !== entry) previous = previous.next;
      if (previous !== undefined) previous.next = entry.next;
    }
    list.count--;
  });
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
