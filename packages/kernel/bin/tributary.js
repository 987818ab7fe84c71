#!/usr/bin/env node
// Published packages (which ship dist/ only) run the compiled CLI. In a source checkout, run the
// TypeScript sources (Node >= 22.18 strips types) in a child with the source export condition,
// so that a stale build never shadows the sources; signals are forwarded so that SIGTERM and
// SIGHUP reach the gateway.
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const compiled = new URL('../dist/cli/main.js', import.meta.url);
const source = new URL('../src/cli/main.ts', import.meta.url);

if (!existsSync(fileURLToPath(source)) && existsSync(fileURLToPath(compiled))) {
  await import(compiled.href);
} else if (existsSync(fileURLToPath(source))) {
  const child = spawn(
    process.execPath,
    ['--conditions=@tributary/source', fileURLToPath(source), ...process.argv.slice(2)],
    { stdio: 'inherit' },
  );
  // A terminal's Ctrl-C already reaches the child (same process group); forwarding covers signals
  // sent to this process alone. SIGINT and SIGTERM are forwarded once: the child stops on the
  // first, and a repeat could land while it exits. SIGHUP (reload) is forwarded every time.
  const forwarded = new Set();
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      if (signal !== 'SIGHUP' && forwarded.has(signal)) return;
      forwarded.add(signal);
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    });
  }
  child.on('exit', (code, signal) => {
    process.exitCode = code ?? (signal ? 1 : 0);
  });
} else {
  console.error('tributary: neither dist/ nor src/ found; reinstall @tributary/kernel');
  process.exitCode = 1;
}
