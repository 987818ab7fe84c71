// The README's first command, as a newcomer runs it: `npm run example -- custom-plugin`
// starts the gateway (here against the test run's broker) and stops cleanly on Ctrl-C.
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { kafka } from '../../../tools/it/context.ts';

const root = fileURLToPath(new URL('../../..', import.meta.url));

describe('npm run example -- custom-plugin', () => {
  it('starts the gateway and stops on SIGINT', async () => {
    const child = spawn('npm', ['run', '--silent', 'example', '--', 'custom-plugin'], {
      cwd: root,
      env: { ...process.env, KAFKA_BOOTSTRAP: kafka().bootstrap, NO_COLOR: '1', TRIBUTARY_LOG_LEVEL: 'warn' },
      detached: true,
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<string>((resolve) =>
      child.on('exit', (code, signal) => resolve(`${code}/${signal}`)),
    );
    const deadline = Date.now() + 30_000;
    while (!stderr.includes('gateway "custom-plugin" ready') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(stderr).toContain('gateway "custom-plugin" ready');
    // Ctrl-C reaches the whole process group, as in a terminal.
    process.kill(-child.pid!, 'SIGINT');
    // npm itself re-raises the interrupt (a shell shows 130); what matters is what it ran.
    expect(['0/null', 'null/SIGINT']).toContain(await exited);
    const until = Date.now() + 15_000;
    while (!stderr.includes('example: gateway exited') && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(stderr).toContain('SIGINT, stopping');
    expect(stderr).toContain('example: gateway exited with code 0');
  });
});
