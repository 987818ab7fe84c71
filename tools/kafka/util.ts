// Small process, file and port helpers shared by the Kafka and Apicurio launchers.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Root of the repository, computed from this file's location (tools/kafka/util.ts). */
export const REPO_ROOT = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

/** Repo-relative cache folder (gitignored). */
export const CACHE_DIR = path.join(REPO_ROOT, '.cache');

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Forward the child's output to ours as it comes (for long downloads). */
  inherit?: boolean;
  /** Written to the child's stdin, which is then closed. */
  input?: string | Buffer;
  /** SIGKILL the child after this many milliseconds (the result then has signal SIGKILL). */
  timeoutMs?: number;
}

/** Runs a command to completion and collects its output. Never throws for a non-zero exit. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd ?? REPO_ROOT,
      env: opts.env ?? process.env,
      stdio: [
        opts.input === undefined ? 'ignore' : 'pipe',
        opts.inherit ? 'inherit' : 'pipe',
        opts.inherit ? 'inherit' : 'pipe',
      ],
    });
    if (opts.input !== undefined) {
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(opts.input);
    }
    const timer =
      opts.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Runs a command and throws (with its output) unless it exits 0. */
export async function runChecked(
  cmd: string,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<RunResult> {
  const res = await run(cmd, args, opts);
  if (res.code !== 0) {
    const out = `${res.stdout}\n${res.stderr}`.trim();
    throw new Error(
      `${cmd} ${args.join(' ')} exited with ${res.code ?? res.signal ?? '?'}${out ? `:\n${lastLines(out, 40)}` : ''}`,
    );
  }
  return res;
}

export function lastLines(text: string, n: number): string {
  const lines = text.split('\n');
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines.slice(-n).join('\n');
}

/** The last `n` lines of a file, or a note that it does not exist. */
export function tailFile(file: string, n = 60): string {
  if (!existsSync(file)) return `(no ${file})`;
  return lastLines(readFileSync(file, 'utf8'), n);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Resolves true if nothing listens on host:port and we can bind it. */
export function canBind(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

// Ports handed out by this process, so two launchers started in parallel never pick the same block.
const reserved = new Set<number>();

/**
 * Finds `count` consecutive free loopback ports. The block is picked at random below the Linux
 * ephemeral range (32768+), so outgoing connections cannot grab the ports between check and use.
 */
export async function findFreePortBlock(count: number, host = '127.0.0.1'): Promise<number> {
  const low = 20_000;
  const high = 32_000 - count;
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = low + Math.floor(Math.random() * (high - low));
    let ok = true;
    for (let p = base; p < base + count && ok; p++) {
      ok = !reserved.has(p) && (await canBind(p, host));
    }
    if (ok) {
      for (let p = base; p < base + count; p++) reserved.add(p);
      return base;
    }
  }
  throw new Error(`no block of ${count} free consecutive ports found on ${host}`);
}

/** Releases ports reserved by findFreePortBlock (after the server using them stopped). */
export function releasePorts(base: number, count: number): void {
  for (let p = base; p < base + count; p++) reserved.delete(p);
}

/** Resolves true if a TCP connection to host:port succeeds within `timeoutMs`. */
export function canConnect(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Resolves when the child has exited (immediately if it already has). */
export function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** SIGTERM, wait up to `graceMs`, then SIGKILL; resolves once the process is gone. */
export async function stopChild(child: ChildProcess, graceMs = 15_000): Promise<void> {
  const exited = waitForExit(child);
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    exited.then(() => false),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs))),
  ]);
  clearTimeout(timer);
  if (timedOut) {
    child.kill('SIGKILL');
    await exited;
  }
}

/**
 * Starts a detached shell that kills `childPid` once this Node process goes away without having
 * stopped it (crash, SIGKILL of the test runner), so no server outlives its owner. The watchdog
 * ends by itself as soon as the child is gone.
 */
export function spawnWatchdog(childPid: number): void {
  const script =
    'while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done; ' +
    'if kill -0 "$2" 2>/dev/null; then kill -TERM "$2" 2>/dev/null; i=0; ' +
    'while kill -0 "$2" 2>/dev/null && [ "$i" -lt 15 ]; do sleep 1; i=$((i + 1)); done; ' +
    'kill -KILL "$2" 2>/dev/null; fi';
  const dog = spawn('sh', ['-c', script, 'watchdog', String(process.pid), String(childPid)], {
    detached: true,
    stdio: 'ignore',
  });
  dog.on('error', () => undefined);
  dog.unref();
}

// Children still running when this process exits get SIGKILL (last resort; stop() is the normal path).
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

export function trackChild(child: ChildProcess): void {
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of liveChildren) c.kill('SIGKILL');
    });
  }
}

/** Polls `check` every `intervalMs` until it returns a value other than undefined, or times out. */
export async function poll<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  intervalMs = 100,
): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() >= deadline) return undefined;
    await sleep(intervalMs);
  }
}

/**
 * Fills `finalDir` atomically: `fill` writes into a fresh temp sibling, which is then renamed into
 * place. A concurrent filler that loses the race just discards its copy. Returns `finalDir`.
 */
export async function populateOnce(
  finalDir: string,
  fill: (tmpDir: string) => Promise<void>,
): Promise<string> {
  if (isDir(finalDir)) return finalDir;
  await mkdir(path.dirname(finalDir), { recursive: true });
  const tmp = `${finalDir}.tmp-${process.pid}-${Date.now()}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  try {
    await fill(tmp);
    try {
      await rename(tmp, finalDir);
    } catch (err) {
      if (!isDir(finalDir)) throw err;
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return finalDir;
}

/** Removes leftover run directories older than `maxAgeMs` (from crashed runs). */
export async function pruneOldRuns(parent: string, prefix: string, maxAgeMs = 6 * 3600_000): Promise<void> {
  if (!isDir(parent)) return;
  const now = Date.now();
  for (const name of await readdir(parent)) {
    if (!name.startsWith(prefix)) continue;
    const p = path.join(parent, name);
    try {
      if (now - statSync(p).mtimeMs > maxAgeMs) await rm(p, { recursive: true, force: true });
    } catch {
      // raced with another process: ignore
    }
  }
}

/** Parses `--name value` / `--name=value` flags and positional arguments. */
export function parseArgs(argv: readonly string[]): {
  positional: string[];
  flags: Map<string, string | true>;
} {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      if (eq > 0) {
        flags.set(a.slice(2, eq), a.slice(eq + 1));
      } else {
        const next = argv[i + 1];
        if (next !== undefined && !next.startsWith('-')) {
          flags.set(a.slice(2), next);
          i++;
        } else {
          flags.set(a.slice(2), true);
        }
      }
    } else if (a === '-h') {
      flags.set('help', true);
    } else {
      positional.push(a);
    }
  }
  return { positional, flags };
}
