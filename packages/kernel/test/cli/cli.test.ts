import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const fixture = (name: string) => fileURLToPath(new URL(`fixtures/app/${name}`, import.meta.url));

function run(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['--conditions=@tributary/source', main, ...args], {
      env: { ...process.env, NO_COLOR: '1', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('tributary validate', () => {
  it('prints every mistake with file:line:column and pointer, and exits non-zero', async () => {
    const { code, stderr } = await run(['validate', '-c', fixture('broken.yaml')]);
    expect(code).toBe(1);
    const lines = stderr.split('\n');
    const line = (pointer: string) => lines.find((l) => l.includes(`(${pointer})`)) ?? '';
    // unknown type
    expect(line('/bindings/north/type')).toMatch(/broken\.yaml:4:11\s+TRIB_CONFIG_UNKNOWN_TYPE/);
    // bad option
    expect(line('/bindings/far/options/window')).toMatch(/broken\.yaml:16:15\s+TRIB_CONFIG_SCHEMA/);
    // dangling exit
    expect(line('/bindings/middle/exit')).toMatch(/broken\.yaml:10:11\s+TRIB_CONFIG_DANGLING_EXIT.*nowhere/);
    // missing env var
    expect(line('/bindings/south/exit')).toMatch(
      /broken\.yaml:20:11\s+TRIB_CONFIG_ENV_MISSING.*TRIBUTARY_TEST_SURELY_UNSET/,
    );
  });

  it('accepts a valid file, interpolating defaults', async () => {
    const { code, stdout } = await run(['validate', '-c', fixture('good.yaml')]);
    expect(code).toBe(0);
    expect(stdout).toContain('valid (2 bindings');
  });

  it('rejects a missing file with a coded error', async () => {
    const { code, stderr } = await run(['validate', '-c', fixture('absent.yaml')]);
    expect(code).toBe(1);
    expect(stderr).toContain('TRIB_CONFIG_READ_FAILED');
  });
});

describe('tributary CLI', () => {
  it('prints usage with exit 2 for an unknown command', async () => {
    const { code, stderr } = await run(['frobnicate']);
    expect(code).toBe(2);
    expect(stderr).toContain('unknown command "frobnicate"');
    expect(stderr).toContain('tributary start -c <file>');
  });

  it('prints versions', async () => {
    const { code, stdout } = await run(['--version']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^tributary \d+\.\d+\.\d+ \(SPI 1\.1\.0, node \d+/);
  });

  it('prints the composed schema including the installed types', async () => {
    const { code, stdout } = await run(['schema', '--app-dir', fixture('')]);
    expect(code).toBe(0);
    const schema = JSON.parse(stdout) as Record<string, unknown>;
    expect(JSON.stringify(schema)).toContain('"test"');
    expect(schema['$schema']).toMatch(/2020-12/);
  });

  it('starts, reports ready, and stops cleanly on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      ['--conditions=@tributary/source', main, 'start', '-c', fixture('good.yaml')],
      {
        env: { ...process.env, NO_COLOR: '1', TRIBUTARY_LOG_LEVEL: 'warn' },
      },
    );
    let stderr = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not ready: ${stderr}`)), 15_000);
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('gateway "good" ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const exited = new Promise<string>((resolve) =>
      child.on('exit', (code, signal) => resolve(`${code}/${signal}`)),
    );
    child.kill('SIGTERM');
    expect(await exited, stderr).toBe('0/null');
    expect(stderr).toContain('SIGTERM, stopping');
  });
});
