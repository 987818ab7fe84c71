/**
 * kafka-filters: the two per-record costs of the Kafka cache's fan-out, each against the naive
 * way of doing the same work, in the same process.
 *
 * - Filter fan-out: N subscribers each filter on their own record key (`device-<i>`); every
 *   record matches exactly one of them. Baseline: evaluate every subscriber's compiled filter for
 *   every record (N comparisons per record). Subject: `FilterIndex.match` (one hash lookup).
 *   N = 10 000 is the headline pair; N = 1 000 rows show how each side scales.
 * - Progress tokens: every delivered record carries a token with all partitions' next offsets.
 *   Per record one partition advances and a token is produced: naively (offsets map →
 *   JSON → base64url) or with `TokenEncoder` (one varint rewritten in place, native base64url),
 *   unsigned and signed (HMAC-SHA256), for 1, 12 and 100 partitions.
 *
 * Every call checks its work: the number of subscribers visited, or that the last token decodes
 * to the expected offsets.
 *
 * @module
 */
import { FilterIndex } from '../../packages/binding-kafka/src/stream/filter-index.ts';
import { compileFilters, type RecordView } from '../../packages/binding-kafka/src/stream/filters.ts';
import { decodeToken, encodeToken, TokenEncoder } from '../../packages/binding-kafka/src/stream/token.ts';
import type { BenchContext, BenchMeta } from '../harness/types.ts';

export const meta: BenchMeta = {
  title: 'Kafka cache fan-out: filter index vs per-subscriber filters, and progress tokens per record',
  unit: 'records',
  baseline: 'brute force: 10 000 subscribers, each filter per record',
  subject: 'FilterIndex.match: 10 000 subscribers',
  description:
    'Filter rows: N subscribers each filter on their own key; each record (key + 2 headers) matches exactly one. ' +
    'Brute force evaluates all N compiled filters per record; FilterIndex.match looks the key up once. ' +
    'Token rows: per record one partition (round-robin) advances and the record gets a token holding every ' +
    "partition's next offset (offsets around 10^9); naive = Map → JSON → base64url, TokenEncoder = incremental " +
    'binary encoding, signed = with a 12-byte HMAC-SHA256. Compare rows in pairs (same N, same partitions): ' +
    'the "vs baseline" column is relative to the 10 000-subscriber brute force row for every row.',
};

const encoder = new TextEncoder();

interface Workload {
  readonly records: RecordView[];
  readonly index: FilterIndex<number>;
  readonly compiled: ((record: RecordView) => boolean)[];
}

/** N subscribers filtering on their own key, and records each addressed to one of them. */
function workload(subscribers: number, records: number): Workload {
  const index = new FilterIndex<number>();
  const compiled: ((record: RecordView) => boolean)[] = [];
  for (let i = 0; i < subscribers; i++) {
    const filters = [{ conditions: [{ key: encoder.encode(`device-${i}`) }] }];
    index.add(i, filters);
    compiled.push(compileFilters(filters));
  }
  // A fixed pseudo-random spread of keys (LCG), the same on every run.
  let seed = 12345;
  const list: RecordView[] = [];
  for (let r = 0; r < records; r++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    list.push({
      key: encoder.encode(`device-${seed % subscribers}`),
      headers: [
        { name: 'content-type', value: encoder.encode('application/json') },
        { name: 'trace', value: encoder.encode(`t-${r}`) },
      ],
    });
  }
  return { records: list, index, compiled };
}

function bruteForce(work: Workload, records: number): void {
  const { compiled } = work;
  let visited = 0;
  for (let r = 0; r < records; r++) {
    const record = work.records[r % work.records.length]!;
    for (let s = 0; s < compiled.length; s++) if (compiled[s]!(record)) visited++;
  }
  if (visited !== records)
    throw new Error(`brute force visited ${visited} subscribers for ${records} records`);
}

function indexed(work: Workload, records: number): void {
  let visited = 0;
  const visit = () => {
    visited++;
  };
  for (let r = 0; r < records; r++) work.index.match(work.records[r % work.records.length]!, visit);
  if (visited !== records) throw new Error(`index visited ${visited} subscribers for ${records} records`);
}

/** Per-stream position for the token rows: a model of the offsets to check against. */
function positions(partitions: number): Map<number, bigint> {
  const offsets = new Map<number, bigint>();
  for (let p = 0; p < partitions; p++) offsets.set(p, 1_000_000_000n + BigInt(p) * 7919n);
  return offsets;
}

function checkToken(token: string, expected: Map<number, bigint>, key?: Uint8Array): void {
  const decoded = decodeToken(token, key);
  if (!decoded.ok) throw new Error(`token refused: ${decoded.reason}`);
  for (const [partition, offset] of expected) {
    if (decoded.offsets.get(partition) !== offset) throw new Error(`token lost partition ${partition}`);
  }
}

/** The naive token: the offsets map as JSON (offsets as strings), base64url-encoded. */
function naiveToken(offsets: Map<number, bigint>): string {
  const entries: [number, string][] = [];
  for (const [partition, offset] of offsets) entries.push([partition, offset.toString()]);
  return Buffer.from(JSON.stringify(entries)).toString('base64url');
}

function decodeNaive(token: string): Map<number, bigint> {
  const entries = JSON.parse(Buffer.from(token, 'base64url').toString()) as [number, string][];
  return new Map(entries.map(([partition, offset]) => [partition, BigInt(offset)]));
}

export default function kafkaFilters(ctx: BenchContext): void {
  const scale = ctx.quick ? 0.1 : 1;
  const n = (count: number) => Math.max(1, Math.round(count * scale));
  const timing = (ops: number) => (ctx.quick ? { ops } : { ops, iterations: 15, warmup: 3 });

  // --- filter fan-out -------------------------------------------------------------------------
  const large = workload(10_000, 4096);
  const small = workload(1_000, 4096);
  const bruteLarge = n(2_000);
  const bruteSmall = n(20_000);
  const indexRecords = n(400_000);
  ctx.measure(meta.baseline, () => bruteForce(large, bruteLarge), timing(bruteLarge));
  ctx.measure(meta.subject, () => indexed(large, indexRecords), timing(indexRecords));
  ctx.measure(
    'brute force: 1 000 subscribers, each filter per record',
    () => bruteForce(small, bruteSmall),
    timing(bruteSmall),
  );
  ctx.measure(
    'FilterIndex.match: 1 000 subscribers',
    () => indexed(small, indexRecords),
    timing(indexRecords),
  );

  // --- progress tokens ------------------------------------------------------------------------
  const key = new Uint8Array(32).fill(0x2a);
  for (const partitions of [1, 12, 100]) {
    const naiveOps = n(partitions === 100 ? 20_000 : 100_000);
    const encoderOps = n(200_000);
    const signedOps = n(50_000);

    const naiveModel = positions(partitions);
    ctx.measure(
      `naive token (JSON + base64url): ${partitions} partitions`,
      () => {
        let token = '';
        for (let i = 0; i < naiveOps; i++) {
          const partition = i % partitions;
          naiveModel.set(partition, naiveModel.get(partition)! + 1n);
          token = naiveToken(naiveModel);
        }
        const decoded = decodeNaive(token);
        for (const [partition, offset] of naiveModel) {
          if (decoded.get(partition) !== offset) throw new Error('naive token lost a partition');
        }
      },
      timing(naiveOps),
    );

    for (const signed of [false, true]) {
      const model = positions(partitions);
      const tokens = new TokenEncoder(model, signed ? key : undefined);
      const ops = signed ? signedOps : encoderOps;
      ctx.measure(
        `TokenEncoder${signed ? ' signed' : ''}: ${partitions} partitions`,
        () => {
          let token = '';
          for (let i = 0; i < ops; i++) {
            const partition = i % partitions;
            const next = model.get(partition)! + 1n;
            model.set(partition, next);
            tokens.update(partition, next);
            token = tokens.token();
          }
          checkToken(token, model, signed ? key : undefined);
        },
        timing(ops),
      );
    }
  }

  // One-shot encoding (no encoder kept per stream), for scale against the incremental rows.
  const oneShotOps = n(20_000);
  const oneShotModel = positions(100);
  ctx.measure(
    'encodeToken (one-shot): 100 partitions',
    () => {
      let token = '';
      for (let i = 0; i < oneShotOps; i++) {
        const partition = i % 100;
        oneShotModel.set(partition, oneShotModel.get(partition)! + 1n);
        token = encodeToken({ offsets: oneShotModel });
      }
      checkToken(token, oneShotModel);
    },
    timing(oneShotOps),
  );
}
