import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { finalLine, summarize, summarizeFile, withExitCode } from '../test-summary.ts';

const SCRIPT = fileURLToPath(new URL('../test-summary.ts', import.meta.url));

function report(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    numFailedTests: 0,
    numFailedTestSuites: 0,
    numPassedTests: 3,
    numPassedTestSuites: 1,
    numPendingTests: 0,
    numTodoTests: 0,
    numTotalTests: 3,
    numTotalTestSuites: 1,
    success: true,
    startTime: 0,
    testResults: [
      {
        name: '/repo/a.test.ts',
        status: 'passed',
        message: '',
        assertionResults: [{ status: 'passed' }, { status: 'passed' }, { status: 'passed' }],
      },
    ],
    ...over,
  };
}

function runScript(args: string[]): { status: number | null; lines: string[] } {
  const res = spawnSync(process.execPath, [SCRIPT, ...args], { encoding: 'utf8' });
  return { status: res.status, lines: res.stdout.trimEnd().split('\n') };
}

describe('summarize', () => {
  it('counts passed and failed tests', () => {
    const s = summarize(
      report({
        numPassedTests: 5,
        numFailedTests: 2,
        success: false,
        testResults: [
          {
            name: '/repo/b.test.ts',
            status: 'failed',
            message: '',
            assertionResults: [
              { status: 'failed', fullName: 'b one' },
              { status: 'failed', fullName: 'b two' },
            ],
          },
        ],
      }),
      '/repo',
    );
    expect(finalLine(s)).toBe('5 passed, 2 failed');
    expect(s.notes).toEqual(['FAIL b.test.ts > b one', 'FAIL b.test.ts > b two']);
  });

  it('counts a file that failed to load as one failure and says why', () => {
    const s = summarize(
      report({
        numPassedTests: 3,
        success: false,
        testResults: [
          { name: '/repo/ok.test.ts', status: 'passed', assertionResults: [{ status: 'passed' }] },
          {
            name: '/repo/broken.test.ts',
            status: 'failed',
            message: 'SyntaxError: Unexpected token\n    at somewhere',
            assertionResults: [],
          },
        ],
      }),
      '/repo',
    );
    expect(finalLine(s)).toBe('3 passed, 1 failed');
    expect(s.notes[0]).toContain('broken.test.ts failed to run');
    expect(s.notes[0]).toContain('SyntaxError: Unexpected token');
    expect(s.notes[0]).not.toContain('somewhere');
  });

  it('counts an unsuccessful run without failures (unhandled error) as one failure', () => {
    const s = summarize(report({ success: false }));
    expect(finalLine(s)).toBe('3 passed, 1 failed');
  });

  it('reports skipped tests separately', () => {
    const s = summarize(report({ numPendingTests: 2, numTodoTests: 1 }));
    expect(finalLine(s)).toBe('3 passed, 0 failed');
    expect(s.skipped).toBe(3);
  });

  it('treats something that is not a report as a failure', () => {
    expect(finalLine(summarize({ hello: 1 }))).toBe('0 passed, 1 failed');
    expect(finalLine(summarize(null))).toBe('0 passed, 1 failed');
  });
});

describe('withExitCode', () => {
  it('counts a failing test command with a clean report as one failure', () => {
    const s = withExitCode(summarize(report()), 1);
    expect(finalLine(s)).toBe('3 passed, 1 failed');
    expect(s.notes.at(-1)).toMatch(/exited with 1/);
  });

  it('leaves the counts alone when the command passed or failures are already counted', () => {
    expect(finalLine(withExitCode(summarize(report()), 0))).toBe('3 passed, 0 failed');
    expect(finalLine(withExitCode(summarize(report({ numFailedTests: 2, success: false })), 1))).toBe(
      '3 passed, 2 failed',
    );
  });
});

describe('summarizeFile', () => {
  it('counts a missing report as one failure', () => {
    const s = summarizeFile(path.join(os.tmpdir(), 'no-such-dir-tributary', 'vitest.json'));
    expect(finalLine(s)).toBe('0 passed, 1 failed');
    expect(s.notes[0]).toMatch(/missing/);
  });

  it('counts an unparseable report as one failure', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tributary-summary-'));
    const file = path.join(dir, 'vitest.json');
    writeFileSync(file, '{"numPassedTests": 3, ');
    expect(finalLine(summarizeFile(file))).toBe('0 passed, 1 failed');
  });
});

describe('test-summary CLI', () => {
  it('prints the summary as its last line and exits 0 when all passed', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tributary-summary-'));
    const file = path.join(dir, 'vitest.json');
    writeFileSync(file, JSON.stringify(report({ numPendingTests: 1 })));
    const res = runScript([file]);
    expect(res.status).toBe(0);
    expect(res.lines.at(-1)).toBe('3 passed, 0 failed');
  });

  it('counts a non-zero --exit-code with a clean report', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tributary-summary-'));
    const file = path.join(dir, 'vitest.json');
    writeFileSync(file, JSON.stringify(report()));
    const res = runScript([file, '--exit-code', '2']);
    expect(res.status).toBe(1);
    expect(res.lines.at(-1)).toBe('3 passed, 1 failed');
  });

  it('exits 1 with the failure counted when the report is missing', () => {
    const res = runScript([path.join(os.tmpdir(), 'no-such-dir-tributary', 'vitest.json')]);
    expect(res.status).toBe(1);
    expect(res.lines.at(-1)).toBe('0 passed, 1 failed');
    expect(res.lines.length).toBeGreaterThan(1);
  });
});
