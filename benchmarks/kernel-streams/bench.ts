/**
 * kernel-streams: moving 1 KiB messages through the kernel's stream engine, against Node's own
 * stream plumbing moving the same messages, in the same process.
 *
 * - baseline: a producer writes into a `PassThrough` piped into a `Writable` (honouring
 *   `write()` returning false and waiting for `drain`), the sink counting bytes;
 * - subject: a producer opens a stream towards a `sink` binding and writes with `out.data()`
 *   (waiting for `onCredit` when it returns false); the sink grants a 64 KiB window on accept
 *   and returns each frame's credit as it consumes it;
 * - a second kernel row puts a relaying proxy between the two (two streams, credit relayed
 *   back hop by hop), the shape of every `server → proxy → client` pipeline.
 *
 * Both sides use a 64 KiB window (Node's default `highWaterMark` for byte streams).
 *
 * @module
 */
import { once } from 'node:events';
import { PassThrough, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { StreamEngine } from '../../packages/kernel/src/engine/engine.ts';
import { silentLogger } from '../../packages/kernel/src/logging/logger.ts';
import type { DataFrame, Stream, StreamError, StreamHandler } from '../../packages/kernel/src/spi/stream.ts';
import type { BenchContext, BenchMeta } from '../harness/types.ts';

const MESSAGE_BYTES = 1024;
const WINDOW = 64 * 1024;

export const meta: BenchMeta = {
  title: 'throughput of 1 KiB messages through the kernel stream engine',
  unit: 'messages',
  baseline: 'node: PassThrough → Writable',
  subject: 'kernel: stream → sink binding',
  description:
    'One producer moves N messages of 1 KiB to a consumer that counts bytes, with a 64 KiB window on both sides: ' +
    'Node streams (write/drain through a PassThrough piped into a Writable) versus the kernel stream engine ' +
    '(out.data/onCredit towards a binding that returns credit as it consumes). The proxy row relays through a ' +
    'second binding, as a server → proxy → client pipeline does.',
};

const failure = (reason: StreamError) => new Error(`stream failed: ${reason.code} ${reason.message ?? ''}`);

/** A binding that consumes everything, returning each frame's credit at once. */
function sink(counter: { bytes: number }) {
  return {
    accept(stream: Stream): StreamHandler {
      stream.in.window(WINDOW);
      return {
        onData(frame: DataFrame) {
          counter.bytes += frame.payload.byteLength;
          stream.in.window(frame.credit);
        },
        onEnd() {
          stream.out.end();
        },
      };
    },
  };
}

/** A binding that forwards each stream to `exit`, relaying frames onwards and credit back. */
function relay(engine: StreamEngine, name: string, exit: string) {
  return {
    accept(app: Stream): StreamHandler {
      const net = engine.open(
        name,
        exit,
        {},
        {
          onEnd: () => app.out.end(),
          onAbort: (reason) => app.out.abort(reason),
          onReset: (reason) => app.in.reset(reason),
          // Grant the application what the exit has granted us, minus what it still holds.
          onWindow: () => app.in.window(net.out.credit - app.in.credit),
        },
      );
      app.in.window(net.out.credit);
      return {
        onData: (frame) => {
          net.out.data(frame.payload);
        },
        onEnd: () => net.out.end(),
        onAbort: (reason) => net.out.abort(reason),
        onReset: (reason) => net.in.reset(reason),
      };
    },
  };
}

/** Writes `messages` copies of `payload` into a stream towards `exit`; resolves at the reply's end. */
function produce(engine: StreamEngine, exit: string, messages: number, payload: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    const stream = engine.open(
      'producer',
      exit,
      {},
      {
        onEnd: () => resolve(),
        onAbort: (reason) => reject(failure(reason)),
        onReset: (reason) => reject(failure(reason)),
      },
    );
    const write = () => {
      while (sent < messages) {
        sent++;
        // false: accepted but queued for lack of credit; onCredit resumes the loop.
        if (!stream.out.data(payload)) return;
      }
      stream.out.end();
    };
    stream.out.onCredit(write);
    // Start after `open` has handed over the stream (as a binding writing on its next event would).
    queueMicrotask(write);
  });
}

async function nodeStreams(messages: number, payload: Uint8Array): Promise<number> {
  let bytes = 0;
  const through = new PassThrough();
  const target = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      bytes += chunk.byteLength;
      callback();
    },
  });
  const done = finished(target);
  through.pipe(target);
  for (let i = 0; i < messages; i++) {
    if (!through.write(payload)) await once(through, 'drain');
  }
  through.end();
  await done;
  return bytes;
}

function check(label: string, bytes: number, messages: number): void {
  if (bytes !== messages * MESSAGE_BYTES) {
    throw new Error(`${label}: consumer saw ${bytes} bytes, expected ${messages * MESSAGE_BYTES}`);
  }
}

export default function kernelStreams(ctx: BenchContext): void {
  const messages = ctx.quick ? 20_000 : 100_000;
  // Many short calls, interleaved across rows, keep the medians steady on a busy machine.
  const timing = ctx.quick ? { ops: messages } : { ops: messages, iterations: 30, warmup: 5 };
  const payload = new Uint8Array(MESSAGE_BYTES).fill(0x61);

  ctx.measure(
    meta.baseline,
    async () => check(meta.baseline, await nodeStreams(messages, payload), messages),
    timing,
  );

  const direct = new StreamEngine(silentLogger());
  const directCount = { bytes: 0 };
  direct.register('sink', sink(directCount));
  ctx.measure(
    meta.subject,
    async () => {
      directCount.bytes = 0;
      await produce(direct, 'sink', messages, payload);
      check(meta.subject, directCount.bytes, messages);
    },
    timing,
  );

  const proxied = new StreamEngine(silentLogger());
  const proxiedCount = { bytes: 0 };
  proxied.register('sink', sink(proxiedCount));
  proxied.register('proxy', relay(proxied, 'proxy', 'sink'));
  const label = 'kernel: stream → relaying proxy → sink';
  ctx.measure(
    label,
    async () => {
      proxiedCount.bytes = 0;
      await produce(proxied, 'proxy', messages, payload);
      check(label, proxiedCount.bytes, messages);
    },
    timing,
  );
}
