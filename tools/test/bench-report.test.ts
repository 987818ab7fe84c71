import { describe, expect, it } from 'vitest';
import {
  createContext,
  percentile,
  roleOf,
  roundOrder,
  subjectRatio,
  withRatios,
} from '../../benchmarks/harness/measure.ts';
import {
  formatBytes,
  formatCount,
  formatRatio,
  renderJson,
  renderMarkdown,
  renderSvg,
  SVG_LAYOUT,
} from '../../benchmarks/harness/report.ts';
import type { Report, Row } from '../../benchmarks/harness/types.ts';

const row = (label: string, role: Row['role'], opsPerSecond: number): Row => ({
  label,
  role,
  opsPerIteration: 1000,
  iterations: 10,
  opsPerSecond,
  meanOpsPerSecond: opsPerSecond * 0.9,
  p50Ms: 1.5,
  p99Ms: 12.25,
  memory: { heapGrowthBytes: 1536, rssPeakBytes: 100 * 1024 * 1024 },
  ratio: undefined,
});

function report(rows: readonly Row[]): Report {
  const rated = withRatios(rows);
  return {
    benchmark: 'demo',
    title: 'a demo <comparison> & more',
    description: 'What the demo measures.',
    unit: 'messages',
    date: '2025-01-02T03:04:05.000Z',
    quick: false,
    environment: {
      node: 'v24.0.0',
      v8: '13.6',
      platform: 'linux',
      arch: 'x64',
      cpu: 'Test CPU',
      cores: 2,
      memoryBytes: 8 * 1024 ** 3,
      commit: '0123456789abcdef',
    },
    baseline: 'raw | path',
    subject: 'gateway',
    ratio: subjectRatio(rated),
    rows: rated,
  };
}

describe('ratios', () => {
  it('divides every row by the baseline row, and names the subject/baseline ratio', () => {
    const rows = withRatios([
      row('raw', 'baseline', 2000),
      row('gateway', 'subject', 1500),
      row('extra', 'other', 3000),
    ]);
    expect(rows.map((r) => r.ratio)).toEqual([1, 0.75, 1.5]);
    expect(subjectRatio(rows)).toBe(0.75);
  });

  it('leaves ratios undefined without a baseline row', () => {
    const rows = withRatios([row('gateway', 'subject', 1500)]);
    expect(rows[0]!.ratio).toBeUndefined();
    expect(subjectRatio(rows)).toBeUndefined();
  });

  it('assigns roles by label', () => {
    const meta = { baseline: 'raw', subject: 'gateway' };
    expect([roleOf(meta, 'raw'), roleOf(meta, 'gateway'), roleOf(meta, 'else')]).toEqual([
      'baseline',
      'subject',
      'other',
    ]);
  });

  it('takes nearest-rank percentiles', () => {
    const samples = [5, 1, 4, 2, 3, 6, 7, 8, 9, 10];
    expect(percentile(samples, 50)).toBe(5);
    expect(percentile(samples, 99)).toBe(10);
    expect(percentile([42], 99)).toBe(42);
    expect(percentile([], 50)).toBeNaN();
  });
});

describe('measuring', () => {
  it('rotates the order of rows from one round to the next', () => {
    expect([0, 1, 2, 3].map((round) => roundOrder(['a', 'b', 'c'], round).join(''))).toEqual([
      'abc',
      'bca',
      'cab',
      'abc',
    ]);
    expect(roundOrder([], 5)).toEqual([]);
  });

  it('runs registered rows interleaved after warming each up, and reports them in registration order', async () => {
    const calls: string[] = [];
    const meta = { title: 't', unit: 'ops', baseline: 'base', subject: 'sub' };
    const { ctx, run } = createContext(meta, false, () => {});
    ctx.measure('base', () => calls.push('base'), { ops: 10, iterations: 2, warmup: 1 });
    ctx.measure('sub', () => calls.push('sub'), { ops: 10, iterations: 2, warmup: 1 });
    expect(calls).toEqual([]);
    const rows = await run();
    expect(calls).toEqual(['base', 'sub', 'base', 'sub', 'sub', 'base']);
    expect(rows.map((r) => [r.label, r.role, r.iterations])).toEqual([
      ['base', 'baseline', 2],
      ['sub', 'subject', 2],
    ]);
    expect(rows.every((r) => r.opsPerSecond > 0 && r.meanOpsPerSecond > 0)).toBe(true);
    expect(() => ctx.measure('base', () => {}, { ops: 1 })).toThrow(/twice/);
  });

  it('runs teardowns after measuring, even when a row fails', async () => {
    const meta = { title: 't', unit: 'ops', baseline: 'base', subject: 'sub' };
    const { ctx, run } = createContext(meta, true, () => {});
    const done: string[] = [];
    ctx.teardown(() => done.push('first'));
    ctx.teardown(() => done.push('second'));
    ctx.measure(
      'base',
      () => {
        throw new Error('broken path');
      },
      { ops: 1 },
    );
    await expect(run()).rejects.toThrow('broken path');
    expect(done).toEqual(['second', 'first']);
  });
});

describe('formatting', () => {
  it('formats counts, bytes and ratios for people', () => {
    expect(formatCount(1234567.8)).toBe('1,234,568');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(100 * 1024 * 1024)).toBe('100.0 MiB');
    expect(formatRatio(1.234)).toBe('1.23×');
    expect(formatRatio(undefined)).toBe('n/a');
  });
});

describe('markdown table', () => {
  it('has one line per row with ops/s, percentiles, memory and the ratio, and the overall ratio', () => {
    const md = renderMarkdown(report([row('raw | path', 'baseline', 2000), row('gateway', 'subject', 1500)]));
    const lines = md.split('\n');
    const header = lines.findIndex((line) => line.startsWith('| Row |'));
    expect(lines[header]).toBe(
      '| Row | Role | messages/s | p50 (ms) | p99 (ms) | heap growth | RSS peak | vs baseline |',
    );
    expect(lines[header + 1]).toMatch(/^\| --- \| --- \|( ---: \|){6}$/);
    // The pipe inside a label is escaped so that the table keeps its columns.
    expect(lines[header + 2]).toBe(
      '| raw \\| path | baseline | 2,000 | 1.50 | 12.3 | 1.5 KiB | 100.0 MiB | 1.00× |',
    );
    expect(lines[header + 3]).toBe(
      '| gateway | subject | 1,500 | 1.50 | 12.3 | 1.5 KiB | 100.0 MiB | 0.75× |',
    );
    expect(md).toContain('**Subject / baseline: 0.75×**');
    expect(md).toContain('Node v24.0.0');
    expect(md).toContain('Test CPU, 2 cores');
    expect(md).toContain('What the demo measures.');
  });

  it('says when the measured tree had uncommitted changes', () => {
    const value = report([row('raw', 'baseline', 2000)]);
    const dirty = { ...value, environment: { ...value.environment, dirty: true } };
    expect(renderMarkdown(value)).toContain('commit 0123456789ab.');
    expect(renderMarkdown(dirty)).toContain('commit 0123456789ab with uncommitted changes.');
  });

  it('says n/a when there is no baseline', () => {
    const md = renderMarkdown(report([row('gateway', 'subject', 1500)]));
    expect(md).toContain('| gateway | subject | 1,500 | 1.50 | 12.3 | 1.5 KiB | 100.0 MiB | n/a |');
    expect(md).toContain('**Subject / baseline: n/a**');
  });
});

describe('svg chart', () => {
  const svg = renderSvg(report([row('raw | path', 'baseline', 2000), row('gateway', 'subject', 1000)]));

  it('is a standalone SVG document with escaped text', () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('<title>demo: a demo &lt;comparison&gt; &amp; more</title>');
    expect(svg).not.toMatch(/<comparison>/);
  });

  it('draws one bar per row, proportional to ops/s, with the ratio next to it', () => {
    const bars = [
      ...svg.matchAll(/<rect x="(\d+)" y="(\d+)" width="(\d+)" height="\d+" rx="3" fill="([^"]+)"\/>/g),
    ];
    expect(bars).toHaveLength(2);
    const plot = SVG_LAYOUT.width - SVG_LAYOUT.labelWidth - SVG_LAYOUT.valueWidth;
    expect(Number(bars[0]![3])).toBe(plot);
    expect(Number(bars[1]![3])).toBe(plot / 2);
    expect(bars[0]![4]).not.toBe(bars[1]![4]);
    expect(svg).toContain('2,000 (baseline)');
    expect(svg).toContain('1,000 (0.50×)');
    expect(svg).toContain('subject / baseline: 0.50×');
  });

  it('sizes the canvas to the number of rows', () => {
    const three = renderSvg(report([row('a', 'baseline', 1), row('b', 'subject', 2), row('c', 'other', 3)]));
    const height = (text: string) => Number(/height="(\d+)" viewBox/.exec(text)![1]);
    expect(height(three) - height(svg)).toBe(SVG_LAYOUT.barHeight + SVG_LAYOUT.gap);
  });
});

describe('json', () => {
  it('round-trips the report', () => {
    const value = report([row('raw', 'baseline', 2000), row('gateway', 'subject', 1500)]);
    expect(JSON.parse(renderJson(value))).toEqual(value);
  });
});
