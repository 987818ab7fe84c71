// Prints the closing line of a test run, `N passed, N failed`, from vitest's JSON report.
//
//   node tools/test-summary.ts [reports/vitest.json] [--exit-code N]
//
// --exit-code: the test command's exit status; non-zero with no failure in the report counts as one.
// Failed counts failed tests plus every test file that failed without a failing test (it did not
// load, or a hook or globalSetup threw) and an unsuccessful run with no failure recorded (an unhandled
// error). A missing or unreadable report counts as one failure. Explanations go on the lines above
// the final one. Exits 1 when anything failed.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Summary {
  passed: number;
  failed: number;
  skipped: number;
  /** Lines printed above the final line. */
  notes: string[];
}

interface JsonAssertion {
  status?: string;
  fullName?: string;
}

interface JsonFile {
  name?: string;
  status?: string;
  message?: string;
  assertionResults?: JsonAssertion[];
}

interface JsonReport {
  numPassedTests?: number;
  numFailedTests?: number;
  numPendingTests?: number;
  numTodoTests?: number;
  success?: boolean;
  testResults?: JsonFile[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function count(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0;
}

function firstLine(s: string): string {
  return s.trim().split('\n')[0]?.slice(0, 300) ?? '';
}

/** Summarises a parsed vitest JSON report. */
export function summarize(report: unknown, root = process.cwd()): Summary {
  if (!isObject(report) || !Array.isArray(report['testResults'])) {
    return {
      passed: 0,
      failed: 1,
      skipped: 0,
      notes: ['test report is not a vitest JSON report: counted as 1 failed'],
    };
  }
  const r = report as JsonReport;
  const passed = count(r.numPassedTests);
  let failed = count(r.numFailedTests);
  const skipped = count(r.numPendingTests) + count(r.numTodoTests);
  const notes: string[] = [];
  for (const file of r.testResults ?? []) {
    const assertions = Array.isArray(file.assertionResults) ? file.assertionResults : [];
    const name = file.name ? path.relative(root, file.name) || file.name : '(unknown file)';
    for (const a of assertions) {
      if (a.status === 'failed') notes.push(`FAIL ${name} > ${a.fullName ?? '?'}`);
    }
    if (file.status === 'failed' && !assertions.some((a) => a.status === 'failed')) {
      failed += 1;
      const why = file.message ? `: ${firstLine(file.message)}` : '';
      notes.push(`FAIL ${name} failed to run (counted as 1 failed)${why}`);
    }
  }
  if (r.success === false && failed === 0) {
    failed = 1;
    notes.push('the run was not successful (unhandled error or failed setup): counted as 1 failed');
  }
  return { passed, failed, skipped, notes };
}

/** Reads and summarises the report file; a missing or unparseable file is one failure. */
export function summarizeFile(file: string): Summary {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return {
      passed: 0,
      failed: 1,
      skipped: 0,
      notes: [`test report ${file} is missing (the test run did not finish?): counted as 1 failed`],
    };
  }
  try {
    return summarize(JSON.parse(text));
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    return {
      passed: 0,
      failed: 1,
      skipped: 0,
      notes: [`test report ${file} is unreadable (${msg}): counted as 1 failed`],
    };
  }
}

export function finalLine(s: Summary): string {
  return `${s.passed} passed, ${s.failed} failed`;
}

/** Counts a failing test command whose report shows no failure (it crashed after writing it, say). */
export function withExitCode(s: Summary, exitCode: number | undefined): Summary {
  if (exitCode === undefined || exitCode === 0 || s.failed > 0) return s;
  return {
    ...s,
    failed: 1,
    notes: [
      ...s.notes,
      `the test command exited with ${exitCode} but the report shows no failure: counted as 1 failed`,
    ],
  };
}

function main(argv: string[]): number {
  let file = path.join('reports', 'vitest.json');
  let exitCode: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '--exit-code') {
      exitCode = Number(argv[++i]);
      if (!Number.isInteger(exitCode)) exitCode = 1;
    } else {
      file = a;
    }
  }
  const s = withExitCode(summarizeFile(file), exitCode);
  for (const n of s.notes) process.stdout.write(`${n}\n`);
  if (s.skipped > 0) process.stdout.write(`(${s.skipped} skipped)\n`);
  process.stdout.write(`${finalLine(s)}\n`);
  return s.failed > 0 ? 1 : 0;
}

const invoked =
  process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invoked) process.exitCode = main(process.argv.slice(2));
