/**
 * The load generator of the `http` benchmark, run by bench.ts in a process of its own (with an
 * IPC channel) so that the client never takes event-loop time from the server under test: for
 * each {@link LoadJob} message, one autocannon run (HTTP/1.1, keep-alive, no pipelining), answered
 * with a {@link LoadResult} message (or `{ error }`). The process stays up between runs, so a
 * timed call does not include its start.
 *
 * @module
 */
import autocannon from 'autocannon';

export interface LoadJob {
  /** Origin of the server, e.g. `http://127.0.0.1:1234`. */
  readonly origin: string;
  readonly method: 'GET' | 'POST';
  /** GET: `/items/<n>` for n cycling over 0 … keys-1. POST: `/items`. */
  readonly path: string;
  /** GET: the number of keys the requests cycle over (`{n}` in `path`). */
  readonly keys?: number;
  /** POST: the request body (sent as `application/json`) and `idempotency-key: <n>`, n counting up. */
  readonly body?: string;
  readonly connections: number;
  /** Either a fixed number of requests or a duration in seconds. */
  readonly amount?: number;
  readonly seconds?: number;
}

export interface LoadResult {
  /** Responses received (any status), 2xx among them, and the rest by status. */
  readonly responses: number;
  readonly ok: number;
  readonly non2xx: number;
  readonly statuses: Record<string, number>;
  /** Connection errors and timeouts (no response at all). */
  readonly errors: number;
  readonly timeouts: number;
  /** Seconds from the first request to the last response. */
  readonly seconds: number;
  /** Request latency percentiles over every response, ms. */
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Bytes read (status line, headers and body) over responses. */
  readonly bytes: number;
}

async function run(job: LoadJob): Promise<LoadResult> {
  let n = 0;
  const setupRequest = (request: autocannon.Request): autocannon.Request => {
    const i = n++;
    if (job.method === 'GET') {
      return { ...request, path: job.path.replace('{n}', String(i % (job.keys ?? 1))) };
    }
    return {
      ...request,
      headers: { 'content-type': 'application/json', 'idempotency-key': String(i) },
    };
  };

  const result = await autocannon({
    url: job.origin,
    connections: job.connections,
    pipelining: 1,
    ...(job.amount === undefined ? { duration: job.seconds ?? 10 } : { amount: job.amount }),
    timeout: 30,
    requests: [
      {
        method: job.method,
        path: job.path.replace('{n}', '0'),
        ...(job.body === undefined ? {} : { body: job.body }),
        setupRequest,
      },
    ],
  });

  const statuses: Record<string, number> = {};
  for (const [status, stats] of Object.entries(result.statusCodeStats ?? {})) {
    statuses[status] = stats.count ?? 0;
  }
  return {
    responses: result.requests.total,
    ok: result['2xx'],
    non2xx: result.non2xx,
    statuses,
    errors: result.errors,
    timeouts: result.timeouts,
    seconds: result.duration,
    p50Ms: result.latency.p50,
    p90Ms: result.latency.p90,
    p99Ms: result.latency.p99,
    maxMs: result.latency.max,
    bytes: result.throughput.total,
  };
}

if (process.send === undefined) throw new Error('load.ts runs as a child of bench.ts, with an IPC channel');
process.on('message', (job: LoadJob) => {
  run(job).then(
    (result) => process.send!(result),
    (error: unknown) => process.send!({ error: String((error as Error).stack ?? error) }),
  );
});
