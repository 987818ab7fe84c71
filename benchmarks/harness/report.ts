/**
 * The report writers: a benchmark run as JSON (for machines), a Markdown table (for reviews
 * and the README) and an SVG bar chart (for a glance). Pure functions of a {@link Report}; no
 * file system, no clock.
 *
 * @module
 */
import type { Environment, Report, Row } from './types.ts';

/** `1234567.8` → `1,234,568`. */
export function formatCount(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a';
}

/** Milliseconds with a precision that suits their size. */
export function formatMs(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** Bytes in binary units: `1536` → `1.5 KiB`. */
export function formatBytes(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let amount = value;
  let unit = 0;
  while (Math.abs(amount) >= 1024 && unit < units.length - 1) {
    amount /= 1024;
    unit++;
  }
  return unit === 0 ? `${amount} B` : `${amount.toFixed(1)} ${units[unit]}`;
}

/** `1.234` → `1.23×`; `n/a` when there is no ratio. */
export function formatRatio(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? 'n/a' : `${value.toFixed(2)}×`;
}

export function describeEnvironment(env: Environment): string {
  const commit =
    env.commit === undefined
      ? ''
      : `, commit ${env.commit.slice(0, 12)}${env.dirty ? ' with uncommitted changes' : ''}`;
  return `Node ${env.node} (V8 ${env.v8}) on ${env.platform}/${env.arch}, ${env.cpu}, ${env.cores} cores, ${formatBytes(env.memoryBytes)} RAM${commit}`;
}

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

/** The machine-readable report, as written to `<name>.json`. */
export function renderJson(report: Report): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

/** A Markdown page: the table of rows with their ratio to the baseline, and how it was run. */
export function renderMarkdown(report: Report): string {
  const lines: string[] = [`# ${report.benchmark}: ${report.title}`, ''];
  if (report.description !== undefined) lines.push(report.description, '');
  lines.push(
    `| Row | Role | ${cell(report.unit)}/s | p50 (ms) | p99 (ms) | heap growth | RSS peak | vs baseline |`,
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const row of report.rows) {
    lines.push(
      `| ${cell(row.label)} | ${row.role} | ${formatCount(row.opsPerSecond)} | ${formatMs(row.p50Ms)} | ${formatMs(row.p99Ms)} | ${formatBytes(row.memory.heapGrowthBytes)} | ${formatBytes(row.memory.rssPeakBytes)} | ${formatRatio(row.ratio)} |`,
    );
  }
  lines.push(
    '',
    `**Subject / baseline: ${formatRatio(report.ratio)}** (${cell(report.subject)} vs ${cell(report.baseline)}; above 1× the subject is faster).`,
    '',
  );
  const sample = report.rows[0];
  if (sample) {
    lines.push(
      `Each timed call moves ${formatCount(sample.opsPerIteration)} ${report.unit}; ${report.unit}/s is the throughput of the median call, p50/p99 are call durations. ` +
        `Rows ran interleaved, ${sample.iterations} timed calls each after a warm-up, with a GC before every call.`,
      '',
    );
  }
  lines.push(
    `Measured ${report.date}${report.quick ? ' (`--quick` run)' : ''}: ${describeEnvironment(report.environment)}.`,
    '',
  );
  return lines.join('\n');
}

const escapeXml = (text: string): string =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!,
  );

const COLORS: Record<Row['role'], string> = { baseline: '#8b95a1', subject: '#2563eb', other: '#7fb3f5' };

/** Chart geometry; exported so tests can reason about it. */
export const SVG_LAYOUT = {
  width: 760,
  labelWidth: 300,
  valueWidth: 190,
  barHeight: 22,
  gap: 12,
  top: 48,
  bottom: 40,
} as const;

/** A horizontal bar chart of ops/s per row, baseline grey and subject blue, ratio in the footer. */
export function renderSvg(report: Report): string {
  const { width, labelWidth, valueWidth, barHeight, gap, top, bottom } = SVG_LAYOUT;
  const plot = width - labelWidth - valueWidth;
  const max = Math.max(
    0,
    ...report.rows.map((row) => (Number.isFinite(row.opsPerSecond) ? row.opsPerSecond : 0)),
  );
  const height = top + report.rows.length * (barHeight + gap) + bottom;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="13">`,
    `<title>${escapeXml(`${report.benchmark}: ${report.title}`)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="12" y="24" font-size="15" font-weight="600" fill="#111827">${escapeXml(`${report.benchmark}: ${report.unit}/s (higher is better)`)}</text>`,
  ];
  report.rows.forEach((row, index) => {
    const y = top + index * (barHeight + gap);
    const value = Number.isFinite(row.opsPerSecond) ? row.opsPerSecond : 0;
    const length = max > 0 ? Math.max(1, Math.round((value / max) * plot)) : 1;
    const ratio = row.role === 'baseline' ? 'baseline' : formatRatio(row.ratio);
    out.push(
      `<g data-role="${row.role}">`,
      `<text x="${labelWidth - 8}" y="${y + barHeight / 2}" dominant-baseline="middle" text-anchor="end" fill="#111827">${escapeXml(row.label)}</text>`,
      `<rect x="${labelWidth}" y="${y}" width="${length}" height="${barHeight}" rx="3" fill="${COLORS[row.role]}"/>`,
      `<text x="${labelWidth + length + 6}" y="${y + barHeight / 2}" dominant-baseline="middle" fill="#374151">${escapeXml(`${formatCount(row.opsPerSecond)} (${ratio})`)}</text>`,
      '</g>',
    );
  });
  const footer = `subject / baseline: ${formatRatio(report.ratio)} · Node ${report.environment.node} · ${report.environment.cpu} × ${report.environment.cores}${report.quick ? ' · quick run' : ''}`;
  out.push(`<text x="12" y="${height - 14}" fill="#4b5563">${escapeXml(footer)}</text>`, '</svg>', '');
  return out.join('\n');
}
