/**
 * Timing and memory sampling behind `BenchContext.measure`.
 *
 * @module
 */
import type { BenchContext, BenchMeta, Row, RowRole } from './types.ts';

/** Nearest-rank percentile (`p` in 0..100) of unsorted samples; NaN for none. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** The role of `label` in a benchmark described by `meta`. */
export function roleOf(meta: Pick<BenchMeta, 'baseline' | 'subject'>, label: string): RowRole {
  if (label === meta.baseline) return 'baseline';
  if (label === meta.subject) return 'subject';
  return 'other';
}

/** Rows with `ratio` filled in against the baseline row (undefined when there is none). */
export function withRatios(rows: readonly Row[]): Row[] {
  const baseline = rows.find((row) => row.role === 'baseline');
  return rows.map((row) => ({
    ...row,
    ratio: baseline && baseline.opsPerSecond > 0 ? row.opsPerSecond / baseline.opsPerSecond : undefined,
  }));
}

/** Subject ops/s over baseline ops/s, or undefined when either row is missing. */
export function subjectRatio(rows: readonly Row[]): number | undefined {
  const baseline = rows.find((row) => row.role === 'baseline');
  const subject = rows.find((row) => row.role === 'subject');
  if (!baseline || !subject || baseline.opsPerSecond <= 0) return undefined;
  return subject.opsPerSecond / baseline.opsPerSecond;
}

const collect = (): void => {
  // tools/bench.ts runs benchmarks with --expose-gc; without it, memory figures are noisier.
  (globalThis as { gc?: () => void }).gc?.();
};

interface Case {
  readonly label: string;
  readonly fn: () => unknown;
  readonly ops: number;
  readonly iterations: number;
  readonly warmup: number;
  readonly durations: number[];
  heapGrowth: number;
  rssPeak: number;
}

/** The order of the cases in round `round`: rotated, so that no case always runs first. */
export function roundOrder<T>(items: readonly T[], round: number): T[] {
  if (items.length === 0) return [];
  const shift = round % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

/**
 * A benchmark context whose `measure` registers rows, and `run`, which measures them
 * interleaved (see `BenchContext.measure`) and returns the rows in registration order.
 */
export function createContext(
  meta: BenchMeta,
  quick: boolean,
  log: (message: string) => void,
): { readonly ctx: BenchContext; readonly run: () => Promise<Row[]> } {
  const cases: Case[] = [];
  const teardowns: (() => unknown)[] = [];
  const ctx: BenchContext = {
    quick,
    meta,
    log,
    teardown(fn) {
      teardowns.push(fn);
    },
    measure(label, fn, options) {
      if (cases.some((entry) => entry.label === label)) throw new Error(`row "${label}" measured twice`);
      if (!(options.ops > 0)) throw new Error(`row "${label}": ops must be positive`);
      cases.push({
        label,
        fn,
        ops: options.ops,
        iterations: options.iterations ?? (quick ? 3 : 10),
        warmup: options.warmup ?? (quick ? 1 : 3),
        durations: [],
        heapGrowth: 0,
        rssPeak: 0,
      });
    },
  };

  const run = async (): Promise<Row[]> => {
    try {
      await measureAll();
    } finally {
      for (const fn of teardowns.reverse()) await fn();
    }
    return cases.map(toRow);
  };

  const measureAll = async (): Promise<void> => {
    for (const entry of cases) {
      log(`${entry.label}: ${entry.warmup} warm-up + ${entry.iterations} timed × ${entry.ops} ${meta.unit}`);
      for (let i = 0; i < entry.warmup; i++) await entry.fn();
    }
    const rounds = Math.max(0, ...cases.map((entry) => entry.iterations));
    for (let round = 0; round < rounds; round++) {
      for (const entry of roundOrder(cases, round)) {
        if (entry.durations.length >= entry.iterations) continue;
        collect();
        const heapBefore = process.memoryUsage().heapUsed;
        const started = process.hrtime.bigint();
        await entry.fn();
        entry.durations.push(Number(process.hrtime.bigint() - started) / 1e6);
        // Sampled before anything is collected: what the call left live or as garbage is its cost.
        const usage = process.memoryUsage();
        entry.heapGrowth = Math.max(entry.heapGrowth, usage.heapUsed - heapBefore);
        entry.rssPeak = Math.max(entry.rssPeak, usage.rss);
      }
    }
  };

  const toRow = (entry: Case): Row => {
    const totalMs = entry.durations.reduce((sum, ms) => sum + ms, 0);
    const p50Ms = percentile(entry.durations, 50);
    const row: Row = {
      label: entry.label,
      role: roleOf(meta, entry.label),
      opsPerIteration: entry.ops,
      iterations: entry.durations.length,
      opsPerSecond: entry.ops / (p50Ms / 1000),
      meanOpsPerSecond: (entry.ops * entry.durations.length) / (totalMs / 1000),
      p50Ms,
      p99Ms: percentile(entry.durations, 99),
      memory: { heapGrowthBytes: Math.max(0, entry.heapGrowth), rssPeakBytes: entry.rssPeak },
      ratio: undefined,
    };
    log(`${row.label}: ${Math.round(row.opsPerSecond).toLocaleString('en-US')} ${meta.unit}/s (median call)`);
    return row;
  };
  return { ctx, run };
}
