/**
 * The `sse` benchmark's baseline, run by bench.ts as a child process: a minimal fastify SSE
 * endpoint fed from memory. `GET /events/:key` answers `200 text/event-stream` with an opening
 * comment and keeps the response open, registered under its key. `POST /run` (JSON
 * {@link RateJob}) starts a timer that creates `keys × perKeyRate` records/s for `seconds`,
 * round-robin over the keys, each stamped with its creation time, and writes each as an event to
 * every connection open on its key; it answers a {@link RateResult} when the last has been
 * written. Events are the gateway's size: `id: <BENCH_SSE_ID_BYTES characters>` and
 * `data: <VALUE_BYTES-byte value>`. A `:` heartbeat goes to every connection every 15 s, as the
 * gateway's `sse` binding does by default. No flow control: a slow client's events queue in its
 * socket without bound.
 *
 * Environment: BENCH_SSE_ID_BYTES (default 24). Prints `listening <port>`.
 *
 * @module
 */
import type { ServerResponse } from 'node:http';
import { fastify } from 'fastify';
import { keyOf, now, paced, valueOf, type RateJob, type RateResult } from './records.ts';

const ID_BYTES = Number(process.env['BENCH_SSE_ID_BYTES'] ?? 24);
const HEARTBEAT_MS = 15_000;

const byKey = new Map<string, Set<ServerResponse>>();

const app = fastify({ logger: false });
app.get<{ Params: { key: string } }>('/events/:key', (request, reply) => {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.write(':\n\n');
  const { key } = request.params;
  let open = byKey.get(key);
  if (!open) byKey.set(key, (open = new Set()));
  open.add(res);
  res.once('close', () => {
    open.delete(res);
    if (open.size === 0) byKey.delete(key);
  });
});

const heartbeat = setInterval(() => {
  for (const open of byKey.values()) for (const res of open) res.write(':\n\n');
}, HEARTBEAT_MS);

app.post<{ Body: RateJob }>('/run', async (request): Promise<RateResult> => {
  const job = request.body;
  const keys = Array.from({ length: job.keys }, (_, i) => keyOf(i));
  const total = Math.round(job.keys * job.perKeyRate * job.seconds);
  let written = 0;
  const timing = await paced(total, job.keys * job.perKeyRate, (from, to) => {
    const sentAt = now();
    for (let seq = from; seq < to; seq++) {
      const key = keys[seq % job.keys]!;
      const open = byKey.get(key);
      if (!open) continue;
      const id = `${job.call}-${seq}`.padStart(ID_BYTES, '0');
      const event = `id: ${id}\ndata: ${valueOf(job.call, seq, key, sentAt)}\n\n`;
      for (const res of open) res.write(event);
      written++;
    }
  });
  return { sent: written, ms: timing.ms, maxBehindMs: timing.maxBehindMs, errors: total - written };
});

const address = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`listening ${new URL(address).port}\n`);

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    clearInterval(heartbeat);
    for (const open of byKey.values()) for (const res of open) res.destroy();
    void app.close().finally(() => process.exit(0));
  });
}
