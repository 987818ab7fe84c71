/**
 * The produce baseline of the `http` benchmark, run by bench.ts as a child process: a plain
 * fastify server whose `POST /items` handler sends the request body to Kafka with the
 * `@platformatic/kafka` Producer directly (acks all) and answers `204` once Kafka acknowledged
 * the record, `503` if it did not. The record is what the gateway's produce route writes: the
 * `idempotency-key` header as key, the body as value, the request's `content-type` as a header.
 * The producer is configured like the gateway's Kafka client (not idempotent, no compression,
 * 30 s produce timeout, no topic auto-creation); the body is read as a buffer, not parsed.
 *
 * Environment: KAFKA_BOOTSTRAP, BENCH_PRODUCE_TOPIC. Prints `listening <port>` once it serves.
 *
 * @module
 */
import { ProduceAcks, Producer } from '@platformatic/kafka';
import { fastify } from 'fastify';

const bootstrap = process.env['KAFKA_BOOTSTRAP'];
const topic = process.env['BENCH_PRODUCE_TOPIC'];
if (!bootstrap || !topic) throw new Error('KAFKA_BOOTSTRAP and BENCH_PRODUCE_TOPIC are required');

const producer = new Producer({
  clientId: 'bench-http-raw',
  bootstrapBrokers: [bootstrap],
  timeout: 30_000,
  retries: 5,
  metadataMaxAge: 30_000,
  autocreateTopics: false,
  idempotent: false,
  compression: 'none',
});

/** Header names must be Buffers (a string key fails when the batch is encoded). */
const CONTENT_TYPE = Buffer.from('content-type');

const app = fastify({ logger: false });
app.removeAllContentTypeParsers();
app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

app.post('/items', async (request, reply) => {
  const key = request.headers['idempotency-key'];
  const contentType = request.headers['content-type'];
  const value = request.body as Buffer | undefined;
  if (typeof key !== 'string') return reply.code(400).send();
  try {
    await producer.send({
      messages: [
        {
          topic,
          key: Buffer.from(key),
          value: value ?? Buffer.alloc(0),
          ...(contentType === undefined
            ? {}
            : { headers: new Map([[CONTENT_TYPE, Buffer.from(contentType)]]) }),
          timestamp: BigInt(Date.now()),
        },
      ],
      acks: ProduceAcks.ALL,
    });
    return reply.code(204).send();
  } catch {
    return reply.code(503).send();
  }
});

const port = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`listening ${new URL(port).port}\n`);

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void app
      .close()
      .then(() => producer.close())
      .finally(() => process.exit(0));
  });
}
