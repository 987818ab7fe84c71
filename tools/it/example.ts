/**
 * What example smoke tests use: start an example the way its README says (`npm run example --
 * <name>`, here against the test run's broker), run real clients (curl, kcat) against it, stop it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { recreateTopics, type TopicSpec } from '../kafka/topics.ts';
import { CACHE_DIR } from '../kafka/util.ts';
import { kafka } from './context.ts';
import { canBind } from '../kafka/util.ts';
import { run, type RunResult } from '../kafka/util.ts';
import { kcatArgs } from '../kafka/clients.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface RunningExample {
  /** `http://localhost:<port>`: the README's `localhost:7114`, on a free port. */
  readonly origin: string;
  /** `https://localhost:<port>`: the README's `localhost:7143`, for examples listening with TLS. */
  readonly secureOrigin: string;
  /** What the runner exported for the user (`export NAME=value` lines): tokens, TLS CA, … */
  readonly exported: Readonly<Record<string, string>>;
  readonly port: number;
  /** Everything the gateway and the runner wrote so far. */
  output(): string;
  /** Ctrl-C, as in a terminal; resolves with the runner's exit. */
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    if (await canBind(port)) return port;
  }
  throw new Error('no free port');
}

/**
 * Examples share topic names (the scenarios say so), and test files run in parallel: a test
 * holds the example's topics exclusively (a lock folder per topic under .cache/), starting from
 * freshly recreated, empty topics. Returns the release function.
 */
export async function holdTopics(example: string): Promise<() => Promise<void>> {
  const specs = JSON.parse(
    await readFile(join(root, 'examples', example, 'topics.json'), 'utf8'),
  ) as TopicSpec[];
  const locks = specs.map((s) => join(CACHE_DIR, 'it-locks', s.name)).sort();
  await mkdir(join(CACHE_DIR, 'it-locks'), { recursive: true });
  const held: string[] = [];
  const deadline = Date.now() + 300_000;
  for (const lock of locks) {
    for (;;) {
      try {
        await mkdir(lock);
        held.push(lock);
        break;
      } catch {
        if (Date.now() > deadline) throw new Error(`topic lock ${lock} still held after 5 minutes`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }
  await recreateTopics(kafka().bootstrap, specs);
  return async () => {
    for (const lock of held) await rm(lock, { recursive: true, force: true });
  };
}

/** Runs `node tools/example.ts <name>` (what `npm run example -- <name>` runs) until it is ready. */
export async function startExample(
  name: string,
  gateway: string,
  env: Record<string, string> = {},
): Promise<RunningExample> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, ['tools/example.ts', name], {
    cwd: root,
    env: {
      ...process.env,
      KAFKA_BOOTSTRAP: kafka().bootstrap,
      TRIBUTARY_HTTP_PORT: String(port),
      TRIBUTARY_HTTPS_PORT: String(port),
      TRIBUTARY_LOG_LEVEL: 'warn',
      NO_COLOR: '1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const ready = `gateway "${gateway}" ready`;
  const deadline = Date.now() + 60_000;
  while (!output.includes(ready)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`example ${name} did not become ready:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const exported: Record<string, string> = {};
  for (const m of output.matchAll(/^ {2}export (\w+)=(.*)$/gm)) exported[m[1]!] = m[2]!;
  return {
    origin: `http://localhost:${port}`,
    secureOrigin: `https://localhost:${port}`,
    port,
    exported,
    output: () => output,
    async stop() {
      if (child.exitCode === null) child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface CurlResult {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly ms: number;
}

/** Runs curl with `args` (a README command without `curl`), `-s -i` added; parses the last response. */
export async function curl(args: readonly string[], timeoutMs = 30_000): Promise<CurlResult> {
  const started = Date.now();
  const result = await run('curl', ['-s', '-i', ...args], { timeoutMs });
  if (result.code !== 0) throw new Error(`curl ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
  return { ...parseResponse(result.stdout), ms: Date.now() - started };
}

function parseResponse(raw: string): Omit<CurlResult, 'ms'> {
  // Interim responses (100 Continue) come first; the last head is the answer.
  const heads = [...raw.matchAll(/^HTTP\/[\d.]+ (\d{3})[^\r\n]*\r?\n/gm)];
  const last = heads.at(-1);
  if (!last) throw new Error(`not an HTTP response: ${raw.slice(0, 200)}`);
  const rest = raw.slice(last.index + last[0].length);
  const end = rest.search(/\r?\n\r?\n/);
  const headerText = end < 0 ? rest : rest.slice(0, end);
  const body = end < 0 ? '' : rest.slice(end).replace(/^\r?\n\r?\n/, '');
  const headers: Record<string, string> = {};
  for (const line of headerText.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(last[1]), headers, body };
}

/** Runs kcat with the test broker's bootstrap and `args` (a README command without `kcat -b …`). */
export function kcat(args: readonly string[], input?: string): Promise<RunResult> {
  return run('kcat', [...kcatArgs(kafka(), 'plaintext'), ...args], {
    timeoutMs: 30_000,
    ...(input === undefined ? {} : { input }),
  });
}

export interface KcatRecord {
  readonly key: string | null;
  readonly payload: string | null;
  readonly headers?: readonly string[];
  readonly partition: number;
  readonly offset: number;
}

/** `kcat -C -t <topic> -J -e`: the records of a topic, as JSON, waiting until there are `atLeast`. */
export async function kcatRecords(topic: string, atLeast = 0): Promise<KcatRecord[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const result = await kcat(['-C', '-t', topic, '-J', '-e', '-q']);
    const records = result.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as KcatRecord);
    if (records.length >= atLeast || Date.now() > deadline) return records;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Kafka headers of a kcat JSON record as an object (the first of repeated names). */
export function kcatHeaders(record: KcatRecord): Record<string, string> {
  const list = record.headers ?? [];
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < list.length; i += 2) out[list[i]!] ??= list[i + 1]!;
  return out;
}

export interface CurlStream {
  /** Everything curl printed so far (with `-i`, the response head first). */
  output(): string;
  /** Resolves once `predicate(output)` holds; rejects after `timeoutMs` with what was printed. */
  until(predicate: (output: string) => boolean, timeoutMs?: number, what?: string): Promise<string>;
  /** Resolves when curl exits by itself (the server ended the response or went away). */
  readonly exited: Promise<number | null>;
  /** Ctrl-C, as in a terminal; resolves once curl has exited. */
  stop(): Promise<void>;
}

/**
 * Starts curl with `args` (a README command without `curl`, e.g. `-N -H 'Accept:
 * text/event-stream' …`), `-s` added, and reads its output as it streams: for responses that do
 * not end by themselves, such as event streams.
 */
export function curlStream(args: readonly string[]): CurlStream {
  const child = spawn('curl', ['-s', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const waiters = new Set<() => void>();
  child.stdout.on('data', (chunk: Buffer) => {
    text += chunk.toString();
    for (const waiter of [...waiters]) waiter();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  void exited.then(() => {
    for (const waiter of [...waiters]) waiter();
  });
  return {
    output: () => text,
    exited,
    until(predicate, timeoutMs = 20_000, what = 'expected output') {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!predicate(text)) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(text);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`curl ${args.join(' ')}: no ${what} within ${timeoutMs} ms; output:\n${text}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      await exited;
    },
  };
}
