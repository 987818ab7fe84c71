// Drives the http-kafka binding as the http server binding would: a `test` server opens `http`
// streams (request head, body, end) and reads the response or problem off the reply half.
import type { HttpBeginEx, HttpProblemEx } from '@tributary/binding-http';
import { createTestKernel, type ScriptedPeer, type TestHarness } from '@tributary/kernel/testkit';
import { plugin as kafkaPlugin } from '@tributary/binding-kafka/plugin';
import { plugin } from '../src/plugin.ts';

export interface Response {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly problem: HttpProblemEx | undefined;
  readonly peer: ScriptedPeer;
}

export interface RequestInit {
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
  /** Sends the body in chunks of this size (default: one chunk). */
  readonly chunk?: number;
  readonly timeoutMs?: number;
}

/** Opens the request stream and sends head and body; the response is read with {@link response}. */
export function send(
  harness: TestHarness,
  method: string,
  path: string,
  init: RequestInit = {},
): ScriptedPeer {
  const headers = [
    { name: ':method', value: method },
    { name: ':scheme', value: 'http' },
    { name: ':authority', value: 'localhost:7114' },
    { name: ':path', value: path },
    ...Object.entries(init.headers ?? {}).map(([name, value]) => ({ name: name.toLowerCase(), value })),
  ];
  const body = typeof init.body === 'string' ? new TextEncoder().encode(init.body) : init.body;
  if (body !== undefined && !headers.some((h) => h.name === 'content-length'))
    headers.push({ name: 'content-length', value: String(body.byteLength) });
  const begin: HttpBeginEx = { type: 'http', kind: 'begin', headers };
  const peer = harness.server('north').open({}, { begin, initialWindow: 1 << 24, autoWindow: true });
  if (body !== undefined && body.byteLength > 0) {
    const chunk = init.chunk ?? body.byteLength;
    for (let at = 0; at < body.byteLength; at += chunk) peer.send(body.subarray(at, at + chunk));
  }
  peer.end();
  return peer;
}

/** Waits for the response (end of the reply half) or the problem that replaced it. */
export async function response(peer: ScriptedPeer, timeoutMs = 20_000): Promise<Response> {
  const last = await peer.until(
    (f) => f.frame === 'end' || f.frame === 'abort' || f.frame === 'reset',
    timeoutMs,
  );
  if (last.frame === 'abort' || last.frame === 'reset') {
    const problem = last.reason.ext as HttpProblemEx | undefined;
    const headers = Object.fromEntries((problem?.headers ?? []).map((h) => [h.name, h.value]));
    return { status: problem?.status ?? 502, headers, body: '', problem, peer };
  }
  const begin = peer.frames.find((f) => f.frame === 'begin');
  const head = (begin?.frame === 'begin' ? begin.ext : undefined) as HttpBeginEx | undefined;
  const headers: Record<string, string> = {};
  for (const h of head?.headers ?? []) if (!h.name.startsWith(':')) headers[h.name] = h.value;
  const status = Number(head?.headers.find((h) => h.name === ':status')?.value ?? 0);
  return { status, headers, body: peer.text(), problem: undefined, peer };
}

export async function request(
  harness: TestHarness,
  method: string,
  path: string,
  init: RequestInit = {},
): Promise<Response> {
  return response(send(harness, method, path, init), init.timeoutMs);
}

/** north (test server) → api (http-kafka) → kafka_cache → kafka_client → Kafka. */
export function gateway(
  bootstrap: string,
  routes: readonly unknown[],
  options: Record<string, unknown> = {},
  extra: {
    client?: Record<string, unknown>;
    cache?: Record<string, unknown>;
    guards?: Record<string, unknown>;
  } = {},
): Promise<TestHarness> {
  return createTestKernel({
    config: {
      name: 'http-kafka-test',
      bindings: {
        north: { type: 'test', kind: 'server', exit: 'api' },
        api: { type: 'http-kafka', kind: 'proxy', options, routes },
        kafka_cache: { type: 'kafka', kind: 'cache', exit: 'kafka_client', options: extra.cache ?? {} },
        kafka_client: {
          type: 'kafka',
          kind: 'client',
          options: {
            servers: [bootstrap],
            connectTimeoutMs: 2_000,
            requestTimeoutMs: 5_000,
            retries: 2,
            retryDelayMs: 50,
            retryDelayMaxMs: 500,
            fetch: { maxWaitMs: 200 },
            ...extra.client,
          },
        },
      },
      ...(extra.guards ? { guards: extra.guards } : {}),
    },
    plugins: [plugin, kafkaPlugin],
    logLevel: 'warn',
  });
}

export { createTopic } from '../../../tools/kafka/topics.ts';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
