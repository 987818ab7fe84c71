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
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 30_000;
    while (!stderr.includes('gateway "custom-plugin" ready') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(stderr).toContain('gateway "custom-plugin" ready');
    // Ctrl-C reaches the whole process group, as in a terminal.
    process.kill(-child.pid!, 'SIGINT');
    expect(await exited).toBe(0);
    expect(stderr).toContain('SIGINT, stopping');
  });
});
