/**
 * http: the gateway's HTTP paths end to end, each against a raw fastify server doing the same work
 * in the same run, on the same broker.
 *
 * - **Produce**: `POST /items` with a 1 KiB JSON body through the gateway (`http` server →
 *   `http-kafka` produce route → `kafka` cache → `kafka` client → broker, acks all, `204` after
 *   the ack), against a fastify handler calling the `@platformatic/kafka` Producer directly
 *   (./raw-produce.ts). Each path writes to its own 4-partition topic of the same config.
 * - **Cached GET**: `GET /items/{id}` over 1 000 pre-produced keys, answered by the gateway from
 *   its Kafka cache, against a fastify hello-world answering the same bytes (./hello.ts).
 *
 * Every server is a child process: the gateway started as users start it
 * (`tributary start -c benchmarks/http/gateway/gateway.yaml`), the baselines with `node`. The load
 * comes from autocannon in a further child process (./load.ts): 64 keep-alive HTTP/1.1
 * connections, no pipelining. One server is loaded at a time.
 *
 * Rows (harness table): each server is first warmed up by a run of 10 s (2 s with `--quick`),
 * whose rate sets the row's requests per timed call (about 10 s of work; 3 s with `--quick`);
 * then the harness runs 2 timed calls per row (1 with `--quick`), interleaved. The description
 * (rewritten at the end of the run) has autocannon's own figures: 2xx responses per second,
 * request latency p50/p99, non-2xx responses and errors, bytes per response, and each
 * comparison's ratio. See README.md.
 *
 * `BENCH_HTTP_CPU_PROF=<dir>` runs the servers with `--cpu-prof` into `<dir>` (profiling slows
 * them down: use it for a separate run with `--out`; ./profile.ts summarizes a profile).
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Admin, ProduceAcks, Producer } from '@platformatic/kafka';
import { startKafka, type KafkaHandle } from '../../tools/kafka/index.ts';
import { formatBytes, formatCount, formatMs } from '../harness/report.ts';
import type { BenchContext, BenchMeta } from '../harness/types.ts';
import type { LoadJob, LoadResult } from './load.ts';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const ROOT = join(HERE, '..', '..');
const TRIBUTARY = join(ROOT, 'packages', 'kernel', 'bin', 'tributary.js');
const GATEWAY_CONFIG = join(HERE, 'gateway', 'gateway.yaml');

const CONNECTIONS = 64;
const BODY_BYTES = 1024;
/** Items in the cached topic; `BENCH_HTTP_KEYS` changes it for investigations (see README.md). */
const KEYS = Number(process.env['BENCH_HTTP_KEYS'] ?? 1_000);
const PRODUCE_PARTITIONS = 4;
const TARGETS = { produce: 0.7, get: 0.8 } as const;
const START_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 15_000;

interface Sizes {
  /** Warm-up run per server, seconds; its rate sizes the timed calls. */
  readonly warmSeconds: number;
  /** About how long one timed call runs, seconds. */
  readonly measureSeconds: number;
  readonly iterations: number;
}
const FULL: Sizes = { warmSeconds: 10, measureSeconds: 10, iterations: 2 };
const QUICK: Sizes = { warmSeconds: 2, measureSeconds: 3, iterations: 1 };

const labels = {
  rawProduce: 'fastify + Producer.send(): POST /items',
  gatewayProduce: 'tributary http → http-kafka → kafka: POST /items',
  hello: 'fastify hello-world: GET /items/:id',
  gatewayGet: 'tributary http → http-kafka → kafka cache: GET /items/{id}',
} as const;

/** Mutable: the description is filled in with the results at teardown (read by tools/bench.ts after). */
const info: { -readonly [K in keyof BenchMeta]: BenchMeta[K] } = {
  title: 'HTTP produce and cached GET through the gateway vs raw fastify, 64 keep-alive connections',
  unit: 'requests',
  baseline: labels.rawProduce,
  subject: labels.gatewayProduce,
  description: 'Filled in with the results of the run.',
};
export const meta: BenchMeta = info;

// --- payloads --------------------------------------------------------------------------------

/** A JSON object of exactly `bytes` bytes. */
function jsonOf(id: string, bytes: number): string {
  const head = `{"id":"${id}","payload":"`;
  const tail = '"}';
  const fill = bytes - head.length - tail.length;
  if (fill < 0) throw new Error(`${bytes} bytes is too small for item ${id}`);
  return `${head}${'x'.repeat(fill)}${tail}`;
}
const itemBody = (i: number): string => jsonOf(`item-${String(i).padStart(4, '0')}`, BODY_BYTES);

// --- processes -------------------------------------------------------------------------------

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

interface Server {
  readonly name: string;
  readonly child: ChildProcess;
  readonly origin: string;
  /** The last lines the process wrote, for error messages. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Spawns a server and waits until `ready(line)` returns its port (a line of its standard output
 * or error), or fails after START_TIMEOUT_MS or when it exits first.
 */
async function startServer(
  name: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  ready: (line: string) => number | undefined,
): Promise<Server> {
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let port: number | undefined;
  let onReady: ((port: number) => void) | undefined;
  const onLine = (line: string) => {
    lines.push(line);
    if (lines.length > 200) lines.shift();
    const found = port === undefined ? ready(line) : undefined;
    if (found !== undefined) {
      port = found;
      onReady?.(found);
    }
  };
  for (const stream of [child.stdout, child.stderr]) {
    let buffered = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      buffered += chunk;
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      for (const part of parts) onLine(part);
    });
  }
  const output = () => lines.join('\n');
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve();
      }, STOP_TIMEOUT_MS);
    });
    await Promise.race([exited, killed]);
    clearTimeout(timer);
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    const bound = await Promise.race([
      new Promise<number>((resolve) => {
        onReady = resolve;
        if (port !== undefined) resolve(port);
      }),
      exited.then(() => {
        throw new Error(`${name} exited before it was ready:\n${output()}`);
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${name}: not ready within ${START_TIMEOUT_MS / 1000} s:\n${output()}`)),
          START_TIMEOUT_MS,
        );
      }),
    ]);
    return { name, child, origin: `http://127.0.0.1:${bound}`, output, stop };
  } catch (error) {
    await stop();
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

const listening = (line: string): number | undefined => {
  const match = /^listening (\d+)$/.exec(line.trim());
  return match ? Number(match[1]) : undefined;
};

/** Peak resident set size of a process and its descendants' largest (Linux; undefined elsewhere). */
function peakRss(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const own = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    const theirs = children === '' ? [] : children.split(/\s+/).map((c) => peakRss(Number(c)) ?? 0);
    return Math.max(own, ...theirs);
  } catch {
    return undefined;
  }
}

/** The load generator: one child process (./load.ts) that runs autocannon jobs sent over IPC. */
interface LoadGenerator {
  run(job: LoadJob): Promise<LoadResult>;
  stop(): Promise<void>;
}

function startLoadGenerator(): LoadGenerator {
  const child = spawn(process.execPath, [join(HERE, 'load.ts')], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let pending: { resolve: (r: LoadResult) => void; reject: (e: Error) => void } | undefined;
  child.on('message', (message: LoadResult | { error: string }) => {
    const waiting = pending;
    pending = undefined;
    if ('error' in message) waiting?.reject(new Error(`load generator: ${message.error}`));
    else waiting?.resolve(message);
  });
  void exited.then(() => pending?.reject(new Error(`load generator exited (${child.exitCode})`)));
  return {
    run: (job) =>
      new Promise<LoadResult>((resolve, reject) => {
        if (pending) throw new Error('one load at a time');
        pending = { resolve, reject };
        child.send(job);
      }),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

// --- rows ------------------------------------------------------------------------------------

interface Target {
  readonly label: string;
  readonly comparison: 'produce' | 'get';
  readonly role: 'baseline' | 'subject';
  readonly server: () => Server;
  readonly job: Omit<LoadJob, 'origin' | 'connections' | 'amount' | 'seconds'>;
  warm?: LoadResult;
  readonly runs: LoadResult[];
}

const okRate = (r: LoadResult): number => r.ok / r.seconds;

export default async function http(ctx: BenchContext): Promise<void> {
  const sizes = ctx.quick ? QUICK : FULL;
  const run = randomUUID().slice(0, 8);
  const topics = {
    items: `bench-http-items-${run}`,
    gatewayProduce: `bench-http-produce-gateway-${run}`,
    rawProduce: `bench-http-produce-raw-${run}`,
  };
  const profileDir = process.env['BENCH_HTTP_CPU_PROF'];
  const loadAtStart = loadavg()[0]!;
  const profiling = profileDir ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profileDir}` } : {};

  const closers: { name: string; close: () => Promise<unknown> }[] = [];
  let kafka: KafkaHandle | undefined;
  let cleaned: Promise<void> | undefined;
  const cleanup = (): Promise<void> =>
    (cleaned ??= (async () => {
      for (const { name, close } of closers.reverse()) {
        try {
          await close();
        } catch (error) {
          ctx.log(`warning: closing ${name}: ${(error as Error).message}`);
        }
      }
      await kafka?.stop();
    })());

  try {
    kafka = await startKafka({
      log: (message) => ctx.log(message),
      heap: '1g',
      // Full JIT for the broker (the launcher's default is C1 only, for fast test starts).
      jvmArgs: ['-XX:TieredStopAtLevel=4'],
    });
    const bootstrap = kafka.bootstrap;

    // --- topics and the cached items -----------------------------------------------------------
    const admin = new Admin({ clientId: 'bench-http-admin', bootstrapBrokers: [bootstrap] });
    closers.push({ name: 'admin', close: () => admin.close() });
    await admin.createTopics({
      topics: [topics.items],
      partitions: 1,
      replicas: 1,
      configs: [{ name: 'cleanup.policy', value: 'compact' }],
    });
    await admin.createTopics({
      topics: [topics.gatewayProduce, topics.rawProduce],
      partitions: PRODUCE_PARTITIONS,
      replicas: 1,
    });
    const producer = new Producer({ clientId: 'bench-http-setup', bootstrapBrokers: [bootstrap] });
    closers.push({ name: 'setup producer', close: () => producer.close() });
    // Right after CreateTopics the leaders may not be known yet.
    const deadline = Date.now() + START_TIMEOUT_MS;
    const contentType = new Map([[Buffer.from('content-type'), Buffer.from('application/json')]]);
    for (let i = 0; i < KEYS; i += 100) {
      const messages = Array.from({ length: Math.min(100, KEYS - i) }, (_, j) => ({
        topic: topics.items,
        key: Buffer.from(String(i + j)),
        value: Buffer.from(itemBody(i + j)),
        headers: contentType,
      }));
      for (;;) {
        try {
          await producer.send({ messages, acks: ProduceAcks.ALL });
          break;
        } catch (error) {
          if (Date.now() > deadline) throw new Error('items not produced', { cause: error });
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    }
    ctx.log(`${KEYS} items of ${BODY_BYTES} bytes produced to ${topics.items}`);

    // --- the gateway -------------------------------------------------------------------------
    const gatewayPort = await freePort();
    const gateway = await startServer(
      'gateway',
      [TRIBUTARY, 'start', '-c', GATEWAY_CONFIG],
      {
        ...process.env,
        KAFKA_BOOTSTRAP: bootstrap,
        BENCH_HTTP_PORT: String(gatewayPort),
        BENCH_PRODUCE_TOPIC: topics.gatewayProduce,
        BENCH_ITEMS_TOPIC: topics.items,
        ...profiling,
      },
      (line) => (line.includes('tributary: gateway "http-bench" ready') ? gatewayPort : undefined),
    );
    closers.push({ name: 'gateway', close: () => gateway.stop() });

    // The cache has hydrated the items topic once the last item is served, as produced.
    let last: Response | undefined;
    for (;;) {
      last = await fetch(`${gateway.origin}/items/${KEYS - 1}`);
      if (last.status === 200) break;
      await last.arrayBuffer();
      if (Date.now() > deadline) throw new Error(`gateway: GET /items/${KEYS - 1} answers ${last.status}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if ((await last.text()) !== itemBody(KEYS - 1)) throw new Error('gateway: wrong body for the last item');
    const sample = await fetch(`${gateway.origin}/items/0`);
    const sampleBody = await sample.text();
    if (sample.status !== 200 || sampleBody !== itemBody(0)) {
      throw new Error(`gateway: GET /items/0 answered ${sample.status} ${sampleBody.slice(0, 200)}`);
    }
    // The hello-world answers the same body with the same headers (less those Node writes itself).
    const hopByHop = new Set(['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding']);
    const sampleHeaders: Record<string, string> = {};
    sample.headers.forEach((value, name) => {
      if (!hopByHop.has(name)) sampleHeaders[name] = value;
    });
    ctx.log(`gateway GET /items/0 headers: ${JSON.stringify(sampleHeaders)}`);
    const loader = startLoadGenerator();
    closers.push({ name: 'load generator', close: () => loader.stop() });
    const load = (job: LoadJob): Promise<LoadResult> => loader.run(job);
    const body = jsonOf('bench', BODY_BYTES);
    const post = async (origin: string, what: string): Promise<void> => {
      const response = await fetch(`${origin}/items`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': 'probe' },
        body,
      });
      const text = await response.text();
      if (response.status !== 204)
        throw new Error(`${what}: POST /items answered ${response.status} ${text}`);
    };
    await post(gateway.origin, 'gateway');

    // --- the baselines -----------------------------------------------------------------------
    const raw = await startServer(
      'raw produce server',
      [join(HERE, 'raw-produce.ts')],
      { ...process.env, KAFKA_BOOTSTRAP: bootstrap, BENCH_PRODUCE_TOPIC: topics.rawProduce, ...profiling },
      listening,
    );
    closers.push({ name: 'raw produce server', close: () => raw.stop() });
    await post(raw.origin, 'raw produce server');
    const hello = await startServer(
      'hello-world server',
      [join(HERE, 'hello.ts')],
      {
        ...process.env,
        BENCH_HELLO_RESPONSE: JSON.stringify({ headers: sampleHeaders, body: sampleBody }),
        ...profiling,
      },
      listening,
    );
    closers.push({ name: 'hello-world server', close: () => hello.stop() });
    if (profileDir) {
      ctx.log(
        `CPU profiles go to ${profileDir} when the servers stop: gateway pid ${gateway.child.pid} ` +
          `(its profile is its child's, the larger file), raw produce pid ${raw.child.pid}, hello-world pid ${hello.child.pid}`,
      );
    }
    const check = await fetch(`${hello.origin}/items/0`);
    if (check.status !== 200 || (await check.text()) !== sampleBody) {
      throw new Error(`hello-world: GET /items/0 answered ${check.status}`);
    }

    // --- warm-up, then the rows ----------------------------------------------------------------
    const produceJob = { method: 'POST', path: '/items', body } as const;
    const getJob = { method: 'GET', path: '/items/{n}', keys: KEYS } as const;
    const targets: Target[] = [
      {
        label: labels.rawProduce,
        comparison: 'produce',
        role: 'baseline',
        server: () => raw,
        job: produceJob,
        runs: [],
      },
      {
        label: labels.gatewayProduce,
        comparison: 'produce',
        role: 'subject',
        server: () => gateway,
        job: produceJob,
        runs: [],
      },
      {
        label: labels.hello,
        comparison: 'get',
        role: 'baseline',
        server: () => hello,
        job: getJob,
        runs: [],
      },
      {
        label: labels.gatewayGet,
        comparison: 'get',
        role: 'subject',
        server: () => gateway,
        job: getJob,
        runs: [],
      },
    ];
    const describeRun = (r: LoadResult): string =>
      `${formatCount(okRate(r))} 2xx/s, p50 ${formatMs(r.p50Ms)} ms, p99 ${formatMs(r.p99Ms)} ms, ` +
      `${r.non2xx} non-2xx, ${r.errors} errors`;
    const report = (t: Target, r: LoadResult): void => {
      if (r.non2xx > 0 || r.errors > 0) {
        ctx.log(
          `warning: ${t.label}: ${r.non2xx} non-2xx (${JSON.stringify(r.statuses)}), ${r.errors} errors`,
        );
      }
    };
    for (const t of targets) {
      const warm = await load({
        ...t.job,
        origin: t.server().origin,
        connections: CONNECTIONS,
        seconds: sizes.warmSeconds,
      });
      report(t, warm);
      if (warm.ok === 0)
        throw new Error(`${t.label}: no 2xx response in the warm-up:\n${t.server().output()}`);
      t.warm = warm;
      ctx.log(`${t.label}: warm-up ${describeRun(warm)}`);
    }
    for (const t of targets) {
      const amount = Math.max(CONNECTIONS, Math.round(okRate(t.warm!) * sizes.measureSeconds));
      ctx.measure(
        t.label,
        async () => {
          const result = await load({
            ...t.job,
            origin: t.server().origin,
            connections: CONNECTIONS,
            amount,
          });
          report(t, result);
          if (result.responses + result.errors < amount) {
            throw new Error(`${t.label}: ${result.responses} responses to ${amount} requests`);
          }
          t.runs.push(result);
          ctx.log(`${t.label}: ${describeRun(result)}`);
        },
        { ops: amount, warmup: 0, iterations: sizes.iterations },
      );
    }

    ctx.teardown(async () => {
      try {
        const rss = new Map<Server, number | undefined>(
          [gateway, raw, hello].map((s) => [s, peakRss(s.child.pid)]),
        );
        info.description = describe(sizes, targets, (t) => rss.get(t.server()), [loadAtStart, loadavg()[0]!]);
        ctx.log(info.description);
      } finally {
        await cleanup();
      }
    });
  } catch (error) {
    // The runner only runs teardowns after measuring: a failed setup cleans up here.
    await cleanup();
    throw error;
  }
}

/** Totals over a row's timed runs: 2xx/s over all of them, latency percentiles averaged. */
function summarize(runs: readonly LoadResult[]) {
  const sum = (f: (r: LoadResult) => number) => runs.reduce((s, r) => s + f(r), 0);
  const n = runs.length || Number.NaN;
  return {
    rate: sum((r) => r.ok) / sum((r) => r.seconds),
    p50: sum((r) => r.p50Ms) / n,
    p99: sum((r) => r.p99Ms) / n,
    non2xx: sum((r) => r.non2xx),
    errors: sum((r) => r.errors),
    responses: sum((r) => r.responses),
    bytesPerResponse: sum((r) => r.bytes) / sum((r) => r.responses),
    perRun: runs.map(okRate),
  };
}

function describe(
  sizes: Sizes,
  targets: readonly Target[],
  rssOf: (t: Target) => number | undefined,
  loads: readonly [number, number],
): string {
  const lines: string[] = [
    `Each server is a child process (the gateway started with \`tributary start -c benchmarks/http/gateway/gateway.yaml\`), ` +
      `loaded alone by autocannon in another process: ${CONNECTIONS} keep-alive HTTP/1.1 connections, no pipelining, ` +
      `one local Kafka broker. Produce: POST /items with a ${BODY_BYTES}-byte JSON body and an idempotency-key ` +
      `(the record key), acks all, 204 after the ack, each path to its own ${PRODUCE_PARTITIONS}-partition topic. ` +
      `Cached GET: GET /items/{id} cycling over ${formatCount(KEYS)} pre-produced ${BODY_BYTES}-byte items served ` +
      `from the gateway's Kafka cache, against a fastify hello-world answering the same body and headers. Every ` +
      `server was warmed up by a ${sizes.warmSeconds} s run first; a timed call sends about ${sizes.measureSeconds} s ` +
      `of requests (the warm-up rate × ${sizes.measureSeconds} s), ${sizes.iterations} timed call(s) per row, ` +
      `interleaved across rows. The table below is autocannon's: 2xx responses per second over the timed calls ` +
      `(non-2xx responses and errors are counted apart and are not in the rate), request latency p50/p99 (mean ` +
      `over the calls), bytes read per response (status line, headers, body), and each subject's ratio to its own ` +
      `baseline. The harness table after it times whole calls (one autocannon run each, the load generator's process already up): ` +
      `its "vs baseline" compares every row with the raw produce server, and its memory columns are the ` +
      `benchmark runner's, not the servers'. Method and caveats: benchmarks/http/README.md.`,
    '',
    '| comparison | row | role | 2xx req/s | per call | p50 (ms) | p99 (ms) | non-2xx / errors | bytes / response | server RSS peak | vs baseline | target |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const comparison of ['produce', 'get'] as const) {
    const baseline = targets.find((t) => t.comparison === comparison && t.role === 'baseline')!;
    const base = summarize(baseline.runs);
    for (const t of targets.filter((x) => x.comparison === comparison)) {
      const s = summarize(t.runs);
      const ratio = s.rate / base.rate;
      const rss = rssOf(t);
      const target =
        t.role === 'subject'
          ? `≥ ${TARGETS[comparison].toFixed(2)}× ${Number.isFinite(ratio) && ratio >= TARGETS[comparison] ? 'met' : 'missed'}`
          : '';
      lines.push(
        `| ${comparison === 'produce' ? 'produce' : 'cached GET'} | ${t.label} | ${t.role} | ${formatCount(s.rate)} | ` +
          `${s.perRun.map(formatCount).join(', ')} | ${formatMs(s.p50)} | ${formatMs(s.p99)} | ${s.non2xx} / ${s.errors} | ` +
          `${formatCount(s.bytesPerResponse)} | ${rss === undefined ? 'n/a' : formatBytes(rss)} | ` +
          `${Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : 'n/a'} | ${target} |`,
      );
    }
  }
  lines.push(
    '',
    `Machine load average (1 min) at the start and the end of the run: ${loads[0].toFixed(1)} / ${loads[1].toFixed(1)} ` +
      `(${availableParallelism()} cores; the broker, the server under test and the load generator share them).`,
    '',
  );
  return lines.join('\n');
}
