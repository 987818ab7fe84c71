/**
 * The benchmark runner: `npm run bench -- <name> [--quick] [--out <dir>]`.
 *
 * Runs `benchmarks/<name>/bench.ts` (see `benchmarks/harness/types.ts` for its contract) in a
 * Node process started with `--expose-gc` (so memory figures start from a collected heap) and
 * the `@tributary/source` export condition (so workspace packages run from source), then writes
 * `<name>.json`, `<name>.md` and `<name>.svg` to `benchmarks/results/` — or to
 * `benchmarks/results/tmp/` (git-ignored) for `--quick` runs, whose numbers are not meant to be
 * kept. Benchmarks never run as part of `npm test`.
 *
 * @module
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, arch, cpus, platform, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createContext, subjectRatio, withRatios } from '../benchmarks/harness/measure.ts';
import { renderJson, renderMarkdown, renderSvg } from '../benchmarks/harness/report.ts';
import type { BenchContext, BenchMeta, Environment, Report } from '../benchmarks/harness/types.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BENCHMARKS = join(ROOT, 'benchmarks');
const USAGE = `Usage: npm run bench -- <name> [--quick] [--out <dir>]

  <name>        a folder under benchmarks/ holding bench.ts
  --quick       a small workload; results go to benchmarks/results/tmp/ (not committed)
  --out <dir>   write the results elsewhere`;

function available(): string[] {
  return readdirSync(BENCHMARKS, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(BENCHMARKS, entry.name, 'bench.ts')))
    .map((entry) => entry.name)
    .sort();
}

function git(...args: string[]): string | undefined {
  try {
    return execFileSync('git', args, {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
}

function environment(): Environment {
  const commit = git('rev-parse', 'HEAD');
  const status = commit === undefined ? undefined : git('status', '--porcelain', '--untracked-files=no');
  return {
    node: process.version,
    v8: process.versions.v8,
    platform: platform(),
    arch: arch(),
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryBytes: totalmem(),
    ...(commit ? { commit } : {}),
    ...(status === undefined ? {} : { dirty: status !== '' }),
  };
}

interface BenchModule {
  readonly meta: BenchMeta;
  readonly default: (ctx: BenchContext) => void | Promise<void>;
}

function isBenchModule(value: unknown): value is BenchModule {
  const mod = value as Partial<BenchModule> | null;
  return (
    typeof mod === 'object' &&
    mod !== null &&
    typeof mod.default === 'function' &&
    typeof mod.meta?.baseline === 'string' &&
    typeof mod.meta.subject === 'string' &&
    typeof mod.meta.unit === 'string'
  );
}

async function run(name: string, quick: boolean, outDir: string): Promise<number> {
  const file = join(BENCHMARKS, name, 'bench.ts');
  const mod: unknown = await import(pathToFileURL(file).href);
  if (!isBenchModule(mod)) {
    process.stderr.write(
      `bench: ${file} must export \`meta\` (title, unit, baseline, subject) and a default async function\n`,
    );
    return 1;
  }
  const { meta } = mod;
  const date = new Date().toISOString();
  const log = (message: string) => process.stderr.write(`bench ${name}: ${message}\n`);
  const { ctx, run: measure } = createContext(meta, quick, log);
  await mod.default(ctx);
  const rows = withRatios(await measure());
  for (const label of [meta.baseline, meta.subject]) {
    if (!rows.some((row) => row.label === label)) log(`warning: no row labelled "${label}" was measured`);
  }
  const report: Report = {
    benchmark: name,
    title: meta.title,
    ...(meta.description === undefined ? {} : { description: meta.description }),
    unit: meta.unit,
    date,
    quick,
    environment: environment(),
    baseline: meta.baseline,
    subject: meta.subject,
    ratio: subjectRatio(rows),
    rows,
  };
  mkdirSync(outDir, { recursive: true });
  const markdown = renderMarkdown(report);
  writeFileSync(join(outDir, `${name}.json`), renderJson(report));
  writeFileSync(join(outDir, `${name}.md`), markdown);
  writeFileSync(join(outDir, `${name}.svg`), renderSvg(report));
  process.stdout.write(`${markdown}\nWritten to ${join(outDir, name)}.{json,md,svg}\n`);
  return 0;
}

async function main(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: { quick: { type: 'boolean' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const names = available();
  const name = positionals[0];
  if (values.help || name === undefined || positionals.length > 1 || !names.includes(name)) {
    const problem = name !== undefined && !names.includes(name) ? `bench: no benchmark "${name}"\n\n` : '';
    process.stderr.write(`${problem}${USAGE}\n\nBenchmarks: ${names.join(', ') || '(none)'}\n`);
    return values.help ? 0 : 2;
  }
  const quick = values.quick ?? false;
  const outDir = resolve(values.out ?? join(BENCHMARKS, 'results', ...(quick ? ['tmp'] : [])));

  // Re-run in a process with a collectable heap and the workspace's source condition.
  if (typeof (globalThis as { gc?: unknown }).gc !== 'function') {
    const child = spawnSync(
      process.execPath,
      ['--expose-gc', '--conditions=@tributary/source', fileURLToPath(import.meta.url), ...argv],
      { stdio: 'inherit' },
    );
    return child.status ?? 1;
  }
  return run(name, quick, outDir);
}

process.exitCode = await main(process.argv.slice(2));
