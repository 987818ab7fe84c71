/**
 * The contract between `tools/bench.ts` and a benchmark module (`benchmarks/<name>/bench.ts`).
 *
 * A benchmark module exports
 * - `meta`: a {@link BenchMeta} naming the baseline row and the subject row, and
 * - a default function `(ctx: BenchContext) => void | Promise<void>` that prepares what it
 *   needs and registers its rows with `ctx.measure()`; the runner measures them afterwards.
 *
 * @module
 */

/** Which side of the comparison a row is on. */
export type RowRole = 'baseline' | 'subject' | 'other';

export interface BenchMeta {
  /** One line: what is being compared. */
  readonly title: string;
  /** What one operation is, in plural (e.g. `messages`); ops/s is reported in this unit. */
  readonly unit: string;
  /** The label of the baseline row: the raw path the subject is measured against. */
  readonly baseline: string;
  /** The label of the subject row: the Tributary path being measured. */
  readonly subject: string;
  /** Free text shown under the table: workload, sizes, what to read into the numbers. */
  readonly description?: string;
}

export interface MeasureOptions {
  /** Operations done by one call of the measured function (e.g. messages moved). */
  readonly ops: number;
  /** Timed calls (default 10; 3 with `--quick`). */
  readonly iterations?: number;
  /** Untimed calls first, so the JIT has settled (default 3; 1 with `--quick`). */
  readonly warmup?: number;
}

export interface BenchContext {
  /** True with `--quick`: the benchmark should use a smaller workload (smoke runs, CI). */
  readonly quick: boolean;
  readonly meta: BenchMeta;
  /**
   * Registers one row: `fn` does `options.ops` operations per call. Rows are run after the
   * benchmark function returns, **interleaved**: every row is warmed up, then the timed calls go
   * round-robin across rows, starting each round with the next row, with a GC before every
   * call. Load changes on the machine (other processes, thermal throttling) thus hit every row
   * alike, and no row always runs first. Rows appear in the report in registration order.
   */
  measure(label: string, fn: () => unknown, options: MeasureOptions): void;
  /** Registers work to run once every row has been measured (stop servers, close clients). */
  teardown(fn: () => unknown): void;
  /** Prints a progress line on standard error. */
  log(message: string): void;
}

/** One measured row. Times in milliseconds, memory in bytes. */
export interface Row {
  readonly label: string;
  readonly role: RowRole;
  /** Operations per timed call, and timed calls. */
  readonly opsPerIteration: number;
  readonly iterations: number;
  /** Throughput of the median call: `opsPerIteration / p50`, robust against a few slow calls. */
  readonly opsPerSecond: number;
  /** Throughput over all timed calls together. */
  readonly meanOpsPerSecond: number;
  /** Duration of one call (`opsPerIteration` operations), 50th and 99th percentile. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly memory: {
    /** Largest heap growth during one call, over the heap in use after the GC before it. */
    readonly heapGrowthBytes: number;
    /** Largest resident set size seen while the row ran. */
    readonly rssPeakBytes: number;
  };
  /** `opsPerSecond` divided by the baseline row's; undefined when there is no baseline row. */
  readonly ratio: number | undefined;
}

export interface Environment {
  readonly node: string;
  readonly v8: string;
  readonly platform: string;
  readonly arch: string;
  readonly cpu: string;
  readonly cores: number;
  readonly memoryBytes: number;
  /** The git commit measured, when known. */
  readonly commit?: string;
  /** True when the working tree had uncommitted changes: what ran was `commit` plus those. */
  readonly dirty?: boolean;
}

/** What `benchmarks/results/<name>.json` holds. */
export interface Report {
  readonly benchmark: string;
  readonly title: string;
  readonly description?: string;
  readonly unit: string;
  /** ISO 8601 time the run started. */
  readonly date: string;
  readonly quick: boolean;
  readonly environment: Environment;
  readonly baseline: string;
  readonly subject: string;
  /** Subject ops/s divided by baseline ops/s: above 1 the subject is faster. */
  readonly ratio: number | undefined;
  readonly rows: readonly Row[];
}
