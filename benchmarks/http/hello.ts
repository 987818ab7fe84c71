/**
 * The cached-GET baseline of the `http` benchmark, run by bench.ts as a child process: a fastify
 * hello-world whose `GET /items/:id` answers `200` with fixed bytes, the body and response
 * headers the gateway sent for one of the benchmark's items (so that both servers write
 * responses of the same size).
 *
 * Environment: BENCH_HELLO_RESPONSE, JSON `{ headers, body }`. Prints `listening <port>`.
 *
 * @module
 */
import { fastify } from 'fastify';

const response = JSON.parse(process.env['BENCH_HELLO_RESPONSE'] ?? '{}') as {
  headers?: Record<string, string>;
  body?: string;
};
const headers = response.headers ?? {};
const body = Buffer.from(response.body ?? 'hello world');

const app = fastify({ logger: false });
app.get('/items/:id', (_request, reply) => {
  void reply.headers(headers).send(body);
});

const port = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`listening ${new URL(port).port}\n`);

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void app.close().finally(() => process.exit(0));
  });
}
