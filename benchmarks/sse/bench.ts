/**
 * sse: live fan-out to N concurrent Server-Sent Events clients, each subscribed to its own key,
 * through one gateway process (`http` server → `sse` → `sse-kafka` → `kafka` cache → `kafka`
 * client → broker), against a minimal fastify SSE endpoint fed from memory (./baseline.ts), the
 * same clients, the same per-client rate.
 *
 * - The gateway is a child process started as users start one
 *   (`tributary start -c benchmarks/sse/gateway/gateway.yaml`), against a single-node broker
 *   started here with tools/kafka. Its records come from a producer process (./producer.ts) at a
 *   fixed rate, `clients × rate` records/s round-robin over the keys, the send time in the value.
 * - The baseline is a child process whose timer creates the same records at the same rate and
 *   writes each, as an event of the gateway's size, to the connections open on its key.
 * - The clients are one child process per server (./clients.ts): N HTTP/1.1 connections with a
 *   minimal event-stream parser, recording receive time − send time per event.
 *
 * All connections (the largest N of the run) are opened before any record is produced, to both
 * servers; a row with fewer clients produces for keys `k-0` … `k-<N-1>` only, the other
 * connections idle. Server RSS is read idle before any connection, after the smaller N and after
 * the larger N; per connection = growth / connections.
 *
 * Rows: per configuration (clients × records/s each), one baseline and one gateway row; a call
 * produces for a fixed time, then waits until every record has arrived or arrivals stop for
 * DRAIN_IDLE_MS. The harness times whole calls (offered deliveries / call time); the description
 * (rewritten at teardown) has the figures to read: deliveries/s offered and achieved, latency
 * p50/p99, losses, CPU per delivery, RSS per idle connection. See README.md.
 *
 * `BENCH_SSE_CPU_PROF=<dir>` runs the servers with `--cpu-prof` into `<dir>`; summarize the
 * gateway's with `node benchmarks/http/profile.ts <file> [top] [from s] [to s]`.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Admin, ProduceAcks, Producer } from '@platformatic/kafka';
import { startKafka, type KafkaHandle } from '../../tools/kafka/index.ts';
import { formatBytes, formatCount, formatMs } from '../harness/report.ts';
import type { BenchContext, BenchMeta } from '../harness/types.ts';
import type { ClientAnswer, ClientCommand, ConnectAnswer, CountAnswer, StatsAnswer } from './clients.ts';
import type { ProduceJob } from './producer.ts';
import { now, VALUE_BYTES, valueOf, type RateJob, type RateResult } from './records.ts';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const ROOT = join(HERE, '..', '..');
const TRIBUTARY = join(ROOT, 'packages', 'kernel', 'bin', 'tributary.js');
const GATEWAY_CONFIG = join(HERE, 'gateway', 'gateway.yaml');

const PARTITIONS = 4;
const START_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 15_000;
/** A call ends this long after the last arrival when not every record arrived. */
const DRAIN_IDLE_MS = 3_000;
/** … and at the latest this long after the producer finished. */
const DRAIN_MAX_MS = 60_000;
/** The goal of the issue: p99 under this at 10 000 clients × 10 records/s. */
const GOAL_P99_MS = 100;

interface Config {
  readonly clients: number;
  /** Records per second per client. */
  readonly rate: number;
  /** Seconds of producing per call. */
  readonly seconds: number;
}

interface Sizes {
  readonly configs: readonly Config[];
  readonly warmup: number;
  readonly iterations: number;
}
const FULL: Sizes = {
  configs: [
    { clients: 1_000, rate: 10, seconds: 10 },
    { clients: 10_000, rate: 1, seconds: 10 },
    { clients: 10_000, rate: 10, seconds: 5 },
  ],
  warmup: 1,
  iterations: 2,
};
const QUICK: Sizes = {
  configs: [
    { clients: 100, rate: 10, seconds: 3 },
    { clients: 1_000, rate: 1, seconds: 3 },
    { clients: 1_000, rate: 10, seconds: 3 },
  ],
  warmup: 0,
  iterations: 1,
};

const BASELINE = 'fastify SSE from memory';
const GATEWAY = 'tributary http → sse → sse-kafka → kafka';
const labelOf = (server: string, c: Config): string =>
  `${server}: ${formatCount(c.clients)} clients × ${c.rate}/s`;

/** Mutable: labels depend on --quick, the description is filled in at teardown. */
const info: { -readonly [K in keyof BenchMeta]: BenchMeta[K] } = {
  title: 'SSE fan-out: N clients each on its own key, gateway from Kafka vs fastify from memory',
  unit: 'deliveries',
  baseline: labelOf(BASELINE, FULL.configs[2]!),
  subject: labelOf(GATEWAY, FULL.configs[2]!),
  description: 'Filled in with the results of the run.',
};
export const meta: BenchMeta = info;

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

/** Sends SIGTERM, then SIGKILL after STOP_TIMEOUT_MS; resolves once the process has exited. */
async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    exited,
    new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve();
      }, STOP_TIMEOUT_MS);
    }),
  ]);
  clearTimeout(timer);
}

interface Server {
  readonly name: string;
  readonly child: ChildProcess;
  readonly origin: string;
  output(): string;
  stop(): Promise<void>;
}

/** Spawns a server; resolves once a line of its output makes `ready` return its port. */
async function startServer(
  name: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  ready: (line: string) => number | undefined,
): Promise<Server> {
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines: string[] = [];
  let onPort: ((port: number) => void) | undefined;
  for (const stream of [child.stdout, child.stderr]) {
    let buffered = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      buffered += chunk;
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        if (lines.length > 200) lines.shift();
        const port = ready(line);
        if (port !== undefined) onPort?.(port);
      }
    });
  }
  const output = () => lines.join('\n');
  const stop = () => stopChild(child, exited);
  let timer: NodeJS.Timeout | undefined;
  try {
    const port = await Promise.race([
      new Promise<number>((resolve) => (onPort = resolve)),
      exited.then(() => {
        throw new Error(`${name} exited before it was ready:\n${output()}`);
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${name}: not ready in time:\n${output()}`)),
          START_TIMEOUT_MS,
        );
      }),
    ]);
    return { name, child, origin: `http://127.0.0.1:${port}`, output, stop };
  } catch (error) {
    await stop();
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** A child process with an IPC channel answering one message per message sent, in order. */
interface IpcChild<In, Out> {
  readonly child: ChildProcess;
  ask(message: In): Promise<Out>;
  stop(): Promise<void>;
}

function startIpcChild<In, Out>(file: string, env: NodeJS.ProcessEnv = process.env): IpcChild<In, Out> {
  const child = spawn(process.execPath, [join(HERE, file)], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pending: { resolve: (answer: Out) => void; reject: (error: Error) => void }[] = [];
  child.on('message', (message: Out | { error: string }) => {
    const waiting = pending.shift();
    if (typeof message === 'object' && message !== null && 'error' in message) {
      waiting?.reject(new Error(`${file}: ${message.error}`));
    } else waiting?.resolve(message);
  });
  void exited.then(() => {
    for (const waiting of pending.splice(0)) waiting.reject(new Error(`${file} exited (${child.exitCode})`));
  });
  return {
    child,
    ask: (message) =>
      new Promise<Out>((resolve, reject) => {
        pending.push({ resolve, reject });
        child.send(message as object);
      }),
    stop: () => stopChild(child, exited),
  };
}

/** The process doing the server's work: the gateway CLI runs it as its child (source checkout). */
function workerPid(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return children === '' ? pid : workerPid(Number(children.split(/\s+/)[0]));
  } catch {
    return undefined;
  }
}

/** Resident set size of a process (Linux), bytes. */
function rssOf(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) * 1024;
  } catch {
    return Number.NaN;
  }
}

/** CPU time (user + system) a process has used, ms (Linux; clock ticks of 10 ms). */
function cpuMsOf(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Opens one SSE connection, waits for its first event, and returns it raw (id line included). */
function firstEvent(url: string, trigger: () => Promise<void>): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent: false, headers: { accept: 'text/event-stream' } });
    const timer = setTimeout(() => {
      request.destroy();
      reject(new Error(`${url}: no event within 30 s`));
    }, 30_000);
    request.once('error', reject);
    request.once('response', (response) => {
      if (response.statusCode !== 200) {
        clearTimeout(timer);
        reject(new Error(`${url}: ${response.statusCode}`));
        return;
      }
      response.setEncoding('latin1');
      let text = '';
      let triggered = false;
      response.on('data', (chunk: string) => {
        text += chunk;
        if (!triggered) {
          triggered = true;
          trigger().catch(reject);
        }
        for (const block of text.split('\n\n')) {
          if (block.includes('data: ')) {
            clearTimeout(timer);
            request.destroy();
            resolve(`${block.slice(block.indexOf('id: '))}\n\n`);
            return;
          }
        }
      });
    });
  });
}

// --- rows ------------------------------------------------------------------------------------

interface Call {
  readonly job: RateResult;
  readonly stats: StatsAnswer;
  /** Ms from the job's start to the last arrival (or the job's end when nothing arrived). */
  readonly ms: number;
  readonly serverCpuMs: number;
  readonly clientCpuMs: number;
  readonly sourceCpuMs: number;
}

interface Row {
  readonly label: string;
  readonly server: 'baseline' | 'gateway';
  readonly config: Config;
  readonly calls: Call[];
}

interface Memory {
  readonly idle: number;
  readonly at: readonly { readonly connections: number; readonly rss: number; readonly connectMs: number }[];
}

export default async function sse(ctx: BenchContext): Promise<void> {
  const sizes = ctx.quick ? QUICK : FULL;
  const goal = sizes.configs[sizes.configs.length - 1]!;
  info.baseline = labelOf(BASELINE, goal);
  info.subject = labelOf(GATEWAY, goal);
  const run = randomUUID().slice(0, 8);
  const topic = `bench-sse-${run}`;
  const profileDir = process.env['BENCH_SSE_CPU_PROF'];
  const profiling = profileDir ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profileDir}` } : {};
  const loadAtStart = loadavg()[0]!;
  const maxClients = Math.max(...sizes.configs.map((c) => c.clients));
  const smallClients = Math.min(...sizes.configs.map((c) => c.clients));

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
      jvmArgs: ['-XX:TieredStopAtLevel=4'],
    });
    const bootstrap = kafka.bootstrap;
    const admin = new Admin({ clientId: 'bench-sse-admin', bootstrapBrokers: [bootstrap] });
    closers.push({ name: 'admin', close: () => admin.close() });
    await admin.createTopics({ topics: [topic], partitions: PARTITIONS, replicas: 1 });

    // --- the gateway, probed with one event ------------------------------------------------
    const gatewayPort = await freePort();
    const gateway = await startServer(
      'gateway',
      [TRIBUTARY, 'start', '-c', GATEWAY_CONFIG],
      {
        ...process.env,
        KAFKA_BOOTSTRAP: bootstrap,
        BENCH_SSE_PORT: String(gatewayPort),
        BENCH_SSE_TOPIC: topic,
        ...profiling,
      },
      (line) => (line.includes('tributary: gateway "sse-bench" ready') ? gatewayPort : undefined),
    );
    closers.push({ name: 'gateway', close: () => gateway.stop() });
    const setup = new Producer({ clientId: 'bench-sse-setup', bootstrapBrokers: [bootstrap] });
    closers.push({ name: 'setup producer', close: () => setup.close() });
    const deadline = Date.now() + START_TIMEOUT_MS;
    const probeValue = valueOf(0, 0, 'probe', now());
    const gatewayEvent = await firstEvent(`${gateway.origin}/events/probe`, async () => {
      // The stream may begin before the cache is live on the topic: produce until one arrives.
      for (let i = 0; i < 3; i++) {
        for (;;) {
          try {
            await setup.send({
              messages: [{ topic, key: Buffer.from('probe'), value: Buffer.from(probeValue) }],
              acks: ProduceAcks.ALL,
            });
            break;
          } catch (error) {
            if (Date.now() > deadline) throw new Error('probe record not produced', { cause: error });
            await sleep(100);
          }
        }
        await sleep(1_000);
      }
    });
    const idLine = /^id: (.*)$/m.exec(gatewayEvent)?.[1] ?? '';
    if (!gatewayEvent.includes(`data: ${probeValue}\n`)) {
      throw new Error(`gateway: unexpected probe event ${JSON.stringify(gatewayEvent)}`);
    }
    ctx.log(`gateway probe event: ${gatewayEvent.length} bytes, id of ${idLine.length} characters`);

    // --- the baseline ------------------------------------------------------------------------
    const baseline = await startServer(
      'baseline',
      [join(HERE, 'baseline.ts')],
      { ...process.env, BENCH_SSE_ID_BYTES: String(idLine.length), ...profiling },
      (line) => {
        const match = /^listening (\d+)$/.exec(line.trim());
        return match ? Number(match[1]) : undefined;
      },
    );
    closers.push({ name: 'baseline', close: () => baseline.stop() });
    const baselineRun = async (job: RateJob): Promise<RateResult> => {
      const response = await fetch(`${baseline.origin}/run`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(job),
      });
      if (response.status !== 200)
        throw new Error(`baseline: POST /run ${response.status} ${await response.text()}`);
      return (await response.json()) as RateResult;
    };
    const baselineEvent = await firstEvent(`${baseline.origin}/events/k-0`, async () => {
      await baselineRun({ call: 0, keys: 1, perKeyRate: 1, seconds: 1 });
    });
    ctx.log(`baseline probe event: ${baselineEvent.length} bytes`);

    // --- producer and clients ----------------------------------------------------------------
    const producer = startIpcChild<ProduceJob | { type: 'close' }, RateResult>('producer.ts', {
      ...process.env,
      KAFKA_BOOTSTRAP: bootstrap,
    });
    closers.push({ name: 'producer', close: () => producer.stop() });
    const clientsOf = {
      baseline: startIpcChild<ClientCommand, ClientAnswer>('clients.ts'),
      gateway: startIpcChild<ClientCommand, ClientAnswer>('clients.ts'),
    };
    closers.push({ name: 'baseline clients', close: () => clientsOf.baseline.stop() });
    closers.push({ name: 'gateway clients', close: () => clientsOf.gateway.stop() });
    const servers = { baseline, gateway };
    const pidOf = (server: 'baseline' | 'gateway') => workerPid(servers[server].child.pid);

    // --- idle connections and RSS ------------------------------------------------------------
    const memory: Record<'baseline' | 'gateway', Memory> = {
      baseline: { idle: 0, at: [] },
      gateway: { idle: 0, at: [] },
    };
    const connect = async (server: 'baseline' | 'gateway', to: number): Promise<ConnectAnswer> => {
      const answer = await clientsOf[server].ask({
        type: 'connect',
        origin: servers[server].origin,
        from: 0,
        to,
      });
      if (answer.type !== 'connected') throw new Error(`${server} clients: ${JSON.stringify(answer)}`);
      if (answer.failed > 0) {
        throw new Error(
          `${server}: ${answer.failed} of ${to} connections failed (${answer.firstFailure}):\n${servers[server].output()}`,
        );
      }
      return answer;
    };
    await sleep(2_000);
    for (const server of ['baseline', 'gateway'] as const) {
      const idle = rssOf(pidOf(server));
      const at: Memory['at'][number][] = [];
      for (const n of [...new Set([smallClients, maxClients])]) {
        const answer = await connect(server, n);
        await sleep(2_000);
        at.push({ connections: answer.open, rss: rssOf(pidOf(server)), connectMs: answer.ms });
        ctx.log(
          `${server}: ${answer.open} connections open (${formatCount(answer.ms)} ms for the last ` +
            `${n - (at.length > 1 ? smallClients : 0)}), RSS ${formatBytes(at.at(-1)!.rss)} (idle ${formatBytes(idle)})`,
        );
      }
      memory[server] = { idle, at };
    }

    // --- rows -------------------------------------------------------------------------------
    let callId = 1;
    const rows: Row[] = [];
    const runCall = async (row: Row): Promise<Call> => {
      const call = callId++;
      const { config } = row;
      const clients = clientsOf[row.server];
      // Clients the server closed in an earlier call are reopened (not expected; counted there).
      await connect(row.server, maxClients);
      await clients.ask({ type: 'begin', call });
      const pid = pidOf(row.server);
      const sourcePid = row.server === 'gateway' ? producer.child.pid : undefined;
      const cpu = () => [cpuMsOf(pid), cpuMsOf(clients.child.pid), cpuMsOf(sourcePid)] as const;
      const before = cpu();
      const job: RateJob = { call, keys: config.clients, perKeyRate: config.rate, seconds: config.seconds };
      const started = now();
      const result =
        row.server === 'gateway' ? await producer.ask({ ...job, topic }) : await baselineRun(job);
      const expected = result.sent;
      const drainEnd = now() + DRAIN_MAX_MS;
      for (;;) {
        const count = (await clients.ask({ type: 'count' })) as CountAnswer;
        if (count.delivered >= expected) break;
        const t = now();
        if (t > drainEnd || t - Math.max(count.lastAt, started + result.ms) > DRAIN_IDLE_MS) break;
        await sleep(100);
      }
      const after = cpu();
      const stats = (await clients.ask({ type: 'stats' })) as StatsAnswer;
      const ms = (stats.lastAt > 0 ? stats.lastAt : started + result.ms) - started;
      return {
        job: result,
        stats,
        ms,
        serverCpuMs: after[0] - before[0],
        clientCpuMs: after[1] - before[1],
        sourceCpuMs: after[2] - before[2],
      };
    };
    for (const config of sizes.configs) {
      for (const server of ['baseline', 'gateway'] as const) {
        const row: Row = {
          label: labelOf(server === 'baseline' ? BASELINE : GATEWAY, config),
          server,
          config,
          calls: [],
        };
        rows.push(row);
        let calls = 0;
        ctx.measure(
          row.label,
          async () => {
            const warm = calls++ < sizes.warmup;
            const result = await runCall(row);
            if (!warm) row.calls.push(result);
            ctx.log(`${row.label}${warm ? ' (warm-up)' : ''}: ${describeCall(row.config, result)}`);
            if (result.stats.delivered === 0) {
              // Reported, not thrown: a server that stops delivering is a result (see README.md).
              ctx.log(
                `warning: ${row.label}: nothing delivered; last server output:\n${servers[row.server].output().split('\n').slice(-5).join('\n')}`,
              );
            }
          },
          {
            ops: Math.round(config.clients * config.rate * config.seconds),
            warmup: sizes.warmup,
            iterations: sizes.iterations,
          },
        );
      }
    }
    if (profileDir) {
      ctx.log(
        `CPU profiles go to ${profileDir} when the servers stop: gateway pid ${pidOf('gateway')}, baseline pid ${pidOf('baseline')}`,
      );
    }

    ctx.teardown(async () => {
      try {
        info.description = describe(sizes, rows, memory, gatewayEvent.length, baselineEvent.length, [
          loadAtStart,
          loadavg()[0]!,
        ]);
        ctx.log(info.description);
      } finally {
        await cleanup();
      }
    });
  } catch (error) {
    await cleanup();
    throw error;
  }
}

// --- report ----------------------------------------------------------------------------------

const offeredRate = (c: Config) => c.clients * c.rate;

function describeCall(config: Config, call: Call): string {
  const s = call.stats;
  return (
    `${formatCount(s.delivered)}/${formatCount(offeredRate(config) * config.seconds)} delivered, ` +
    `${formatCount((s.delivered / call.ms) * 1000)}/s (offered ${formatCount(offeredRate(config))}/s), ` +
    `p50 ${formatMs(s.p50Ms)} ms, p99 ${formatMs(s.p99Ms)} ms, max ${formatMs(s.maxMs)} ms, ` +
    `closed ${s.closedSinceBegin}, wrong key ${s.wrongKey}, stale ${s.stale}, source behind ≤ ${formatMs(call.job.maxBehindMs)} ms, ` +
    `CPU server ${formatCount(call.serverCpuMs)} ms, clients ${formatCount(call.clientCpuMs)} ms, producer ${formatCount(call.sourceCpuMs)} ms`
  );
}

/** Totals over a row's timed calls. */
function summarize(row: Row) {
  const sum = (f: (c: Call) => number) => row.calls.reduce((s, c) => s + f(c), 0);
  const n = row.calls.length || Number.NaN;
  const delivered = sum((c) => c.stats.delivered);
  const offered = offeredRate(row.config) * row.config.seconds * row.calls.length;
  return {
    achieved: (delivered / sum((c) => c.ms)) * 1000,
    deliveredShare: delivered / offered,
    missing: offered - delivered,
    p50: sum((c) => c.stats.p50Ms) / n,
    p99: sum((c) => c.stats.p99Ms) / n,
    max: Math.max(...row.calls.map((c) => c.stats.maxMs)),
    min: Math.min(...row.calls.map((c) => c.stats.minMs)),
    closed: sum((c) => c.stats.closedSinceBegin),
    wrong: sum((c) => c.stats.wrongKey),
    stale: sum((c) => c.stats.stale),
    serverUsPerDelivery: (sum((c) => c.serverCpuMs) * 1000) / delivered,
    serverCpuShare: sum((c) => c.serverCpuMs) / sum((c) => c.ms),
    clientCpuShare: sum((c) => c.clientCpuMs) / sum((c) => c.ms),
    sourceCpuShare: sum((c) => c.sourceCpuMs) / sum((c) => c.ms),
    sourceBehind: Math.max(...row.calls.map((c) => c.job.maxBehindMs)),
  };
}

const pct = (x: number) =>
  Number.isFinite(x) ? `${(x * 100).toFixed(x >= 0.995 && x < 1 ? 1 : 0)} %` : 'n/a';
const ratio = (x: number) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : 'n/a');

function describe(
  sizes: Sizes,
  rows: readonly Row[],
  memory: Record<'baseline' | 'gateway', Memory>,
  gatewayEventBytes: number,
  baselineEventBytes: number,
  loads: readonly [number, number],
): string {
  const maxClients = Math.max(...sizes.configs.map((c) => c.clients));
  const lines: string[] = [
    `Each server is a child process: the gateway started with \`tributary start -c benchmarks/sse/gateway/gateway.yaml\` ` +
      `(http → sse → sse-kafka → kafka cache → kafka client, default options) on one local broker, a ${PARTITIONS}-partition ` +
      `delete-policy topic written by a producer process (acks 1); the baseline a fastify SSE endpoint whose timer writes ` +
      `the same records from memory to the connections on their key. Clients: one process per server holding ` +
      `${formatCount(maxClients)} HTTP/1.1 connections (\`GET /events/k-<i>\`, each its own key), all opened before any record; ` +
      `a row with fewer clients writes records for the first N keys only. Records: ${VALUE_BYTES}-byte JSON values ` +
      `with the send time; events on the wire ${gatewayEventBytes} bytes (gateway) and ${baselineEventBytes} bytes (baseline). ` +
      `A call writes clients × rate records/s for the given seconds, round-robin over the keys, then waits until all ` +
      `have arrived or none has for ${DRAIN_IDLE_MS / 1000} s; ${sizes.warmup} warm-up and ${sizes.iterations} timed ` +
      `call(s) per row. **Achieved** = events received ÷ (first send → last arrival); latency = arrival − send time ` +
      `of every event, p50/p99 the mean over the calls; server CPU from /proc (user + system), as a share of one core ` +
      `and per delivery. The harness table below counts offered deliveries over whole calls (drain included). ` +
      `Method and caveats: benchmarks/sse/README.md.`,
    '',
    '| clients × rate | row | offered/s | achieved/s | delivered | p50 (ms) | p99 (ms) | max (ms) | closed / misrouted | server CPU | server µs / delivery | clients CPU | vs baseline | p99 < 100 ms |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const config of sizes.configs) {
    const pair = rows.filter((r) => r.config === config);
    const base = pair.find((r) => r.server === 'baseline');
    const baseSummary = base && base.calls.length > 0 ? summarize(base) : undefined;
    for (const row of pair) {
      if (row.calls.length === 0) {
        lines.push(
          `| ${formatCount(config.clients)} × ${config.rate}/s | ${row.server} | not measured |||||||||||||`,
        );
        continue;
      }
      const s = summarize(row);
      lines.push(
        `| ${formatCount(config.clients)} × ${config.rate}/s | ${row.server === 'baseline' ? BASELINE : GATEWAY} | ` +
          `${formatCount(offeredRate(config))} | ${formatCount(s.achieved)} | ${pct(s.deliveredShare)} | ` +
          `${formatMs(s.p50)} | ${formatMs(s.p99)} | ${formatMs(s.max)} | ${s.closed} / ${s.wrong} | ` +
          `${pct(s.serverCpuShare)} | ${s.serverUsPerDelivery.toFixed(1)} | ${pct(s.clientCpuShare)} | ` +
          `${row.server === 'baseline' || !baseSummary ? '' : `${ratio(s.achieved / baseSummary.achieved)} rate, ${ratio(s.p99 / baseSummary.p99)} p99`} | ` +
          `${s.p99 < GOAL_P99_MS && s.deliveredShare >= 0.999 ? 'yes' : 'no'} |`,
      );
    }
  }
  lines.push(
    '',
    '| server | RSS, no client | connections | RSS | per idle connection | time to open them |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const server of ['baseline', 'gateway'] as const) {
    const m = memory[server];
    let previous = 0;
    for (const at of m.at) {
      lines.push(
        `| ${server === 'baseline' ? BASELINE : GATEWAY} | ${formatBytes(m.idle)} | ${formatCount(at.connections)} | ` +
          `${formatBytes(at.rss)} | ${formatBytes((at.rss - m.idle) / at.connections)} | ` +
          `${formatCount(at.connectMs)} ms for ${formatCount(at.connections - previous)} |`,
      );
      previous = at.connections;
    }
  }
  const gw = memory.gateway.at.at(-1);
  const bl = memory.baseline.at.at(-1);
  if (gw && bl) {
    lines.push(
      '',
      `RSS per idle connection at ${formatCount(gw.connections)}: gateway / baseline = ` +
        `${ratio((gw.rss - memory.gateway.idle) / (bl.rss - memory.baseline.idle))}.`,
    );
  }
  const mins = rows.flatMap((r) => r.calls.map((c) => c.stats.minMs));
  lines.push(
    '',
    `Smallest latency measured: ${formatMs(Math.min(...mins))} ms (negative would mean the processes' clocks disagree). ` +
      `Machine load average (1 min) at the start and the end of the run: ${loads[0].toFixed(1)} / ${loads[1].toFixed(1)} ` +
      `(${availableParallelism()} cores, shared by the broker, the server under test, the producer and the clients).`,
    '',
  );
  return lines.join('\n');
}
