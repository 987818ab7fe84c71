import { describe, expect, it } from 'vitest';
import { PassThrough, Writable } from 'node:stream';
import { StreamEngine } from '../../src/engine/engine.ts';
import { MessageAssembler, pumpReadable, pumpToWritable } from '../../src/engine/pump.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { ScriptedPeer } from '../../src/testkit/peer.ts';
import type { Stream, StreamHandler } from '../../src/spi/stream.ts';

const tick = () => new Promise((resolve) => setImmediate(resolve));

/** An engine with one acceptor binding `far` whose accepted streams are handed to the test. */
function pipeline(options: { window?: number } = {}) {
  const engine = new StreamEngine(silentLogger());
  const accepted: ScriptedPeer[] = [];
  engine.register('far', {
    accept(stream) {
      const peer = new ScriptedPeer(options.window ? { initialWindow: options.window } : {}).attach(stream);
      accepted.push(peer);
      return peer;
    },
  });
  const open = (peerOptions = {}) => {
    const peer = new ScriptedPeer(peerOptions);
    peer.attach(engine.open('near', 'far', { ext: { type: 'test' } }, peer));
    return { near: peer, far: accepted[accepted.length - 1]! };
  };
  return { engine, open, accepted };
}

describe('credit', () => {
  it('starts at zero: a producer stalls until credit is granted, then resumes exactly within it', async () => {
    const { open } = pipeline();
    const { near, far } = open();
    expect(near.handle.out.credit).toBe(0);

    expect(near.send('hello')).toBe(false);
    await tick();
    expect(far.dataFrames()).toHaveLength(0);
    expect(near.handle.out.queued).toBe(5);

    const resumed = near.credited();
    far.window(3);
    expect(far.text()).toBe('hel');
    expect(far.dataFrames()[0]).toMatchObject({ first: true, last: false, credit: 3 });

    far.window(2);
    expect(far.text()).toBe('hello');
    expect(far.dataFrames()[1]).toMatchObject({ first: false, last: true, credit: 2 });
    // Credit is used up exactly: no drain yet.
    let drained = false;
    void resumed.then(() => (drained = true));
    await tick();
    expect(drained).toBe(false);

    far.window(10);
    await resumed;
    expect(near.handle.out.credit).toBe(10);
    expect(near.send('world')).toBe(true);
    expect(near.handle.out.credit).toBe(5);
  });

  it('never delivers more than the credit granted, whatever is written', async () => {
    const { open } = pipeline();
    const { near, far } = open();
    for (let i = 0; i < 100; i++) near.send(new Uint8Array(1000).fill(i));
    let granted = 0;
    for (const step of [1, 999, 50_000, 7, 49_000]) {
      far.window(step);
      granted += step;
      const delivered = far.received().byteLength;
      expect(delivered).toBe(Math.min(granted, 100_000));
    }
    await tick();
  });

  it('keeps messages whole through fragmentation and reassembly', () => {
    const { open } = pipeline();
    const { near, far } = open();
    near.send('first message', { type: 'test', n: 1 } as never);
    near.send('second', { type: 'test', n: 2 } as never);
    for (let i = 0; i < 30; i++) far.window(1);
    const assembler = new MessageAssembler();
    const messages = far
      .dataFrames()
      .map((f) => assembler.push(f))
      .filter((m) => m !== undefined);
    expect(messages.map((m) => Buffer.from(m.payload).toString())).toEqual(['first message', 'second']);
    expect(messages.map((m) => (m.ext as unknown as { n: number }).n)).toEqual([1, 2]);
    expect(messages[0]!.credit).toBe(13);
  });

  it('charges one unit for empty messages so they are flow-controlled too', () => {
    const { open } = pipeline();
    const { near, far } = open();
    near.send(new Uint8Array(0));
    near.send(new Uint8Array(0));
    expect(far.dataFrames()).toHaveLength(0);
    far.window(1);
    expect(far.dataFrames()).toHaveLength(1);
    expect(far.dataFrames()[0]).toMatchObject({ credit: 1, first: true, last: true });
  });

  it('delivers end only after queued data', () => {
    const { open } = pipeline();
    const { near, far } = open();
    near.send('abc');
    near.end();
    expect(far.has('end')).toBe(false);
    expect(near.handle.out.writable).toBe(false);
    far.window(3);
    expect(far.frames.map((f) => f.frame)).toEqual(['data', 'end']);
  });
});

describe('closing', () => {
  it('closes in order from either side and forgets the stream once both halves closed', async () => {
    const { open, engine } = pipeline({ window: 100 });
    const { near, far } = open({ initialWindow: 100 });
    await tick();
    expect(engine.openStreams('far')).toBe(1);
    near.send('ping');
    near.end();
    expect(far.text()).toBe('ping');
    expect(far.has('end')).toBe(true);
    expect(engine.openStreams('far')).toBe(1);
    far.send('pong');
    far.end();
    await near.next('end');
    expect(near.text()).toBe('pong');
    expect(engine.openStreams('far')).toBe(0);
  });

  it('abort and reset tear down both halves and drop queued data', async () => {
    const { open, engine } = pipeline();
    const { near, far } = open();
    near.send('never delivered');
    far.handle.close({ code: 'TEST_GONE' });
    await tick();
    expect(near.frames.map((f) => f.frame)).toEqual(expect.arrayContaining(['reset', 'abort']));
    expect(near.handle.out.queued).toBe(0);
    expect(near.send('more')).toBe(false);
    expect(far.dataFrames()).toHaveLength(0);
    expect(engine.openStreams('far')).toBe(0);
  });

  it('refuses a stream towards an unknown exit with a reset the opener hears after open returns', async () => {
    const engine = new StreamEngine(silentLogger());
    const peer = new ScriptedPeer();
    const stream = engine.open('near', 'nowhere', {}, peer);
    expect(peer.frames).toHaveLength(0);
    peer.attach(stream);
    const reset = await peer.next('reset');
    expect(reset).toMatchObject({ reason: { code: 'TRIB_STREAM_NO_BINDING' } });
  });

  it('refuses with TRIB_STREAM_REFUSED when accept returns null', async () => {
    const engine = new StreamEngine(silentLogger());
    engine.register('far', { accept: () => null });
    const peer = new ScriptedPeer();
    peer.attach(engine.open('near', 'far', {}, peer));
    expect(await peer.next('reset')).toMatchObject({ reason: { code: 'TRIB_STREAM_REFUSED' } });
  });
});

describe('failure isolation', () => {
  it('a throwing handler aborts only its own stream', async () => {
    const engine = new StreamEngine(silentLogger());
    const handlers: StreamHandler[] = [];
    engine.register('far', {
      accept(stream: Stream) {
        const index = handlers.length;
        const handler: StreamHandler = {
          onData(frame) {
            if (Buffer.from(frame.payload).toString() === 'boom')
              throw new Error(`handler ${index} exploded`);
            stream.in.window(frame.credit);
          },
        };
        stream.in.window(100);
        handlers.push(handler);
        return handler;
      },
    });
    const a = new ScriptedPeer();
    a.attach(engine.open('near', 'far', {}, a));
    const b = new ScriptedPeer();
    b.attach(engine.open('near', 'far', {}, b));
    await tick();
    a.send('boom');
    const abort = await a.next('abort');
    expect(abort).toMatchObject({ reason: { code: 'TRIB_STREAM_HANDLER_FAILED' } });
    expect(a.handle.out.writable).toBe(false);
    // b is untouched and still flowing.
    expect(b.has('abort') || b.has('reset')).toBe(false);
    expect(b.send('fine')).toBe(true);
    expect(engine.openStreams('far')).toBe(1);
  });

  it('an accept that throws refuses only that stream', async () => {
    const engine = new StreamEngine(silentLogger());
    let calls = 0;
    engine.register('far', {
      accept(stream) {
        if (calls++ === 0) throw new Error('first accept fails');
        stream.in.window(10);
        return {};
      },
    });
    const a = new ScriptedPeer();
    a.attach(engine.open('near', 'far', {}, a));
    const b = new ScriptedPeer();
    b.attach(engine.open('near', 'far', {}, b));
    expect(await a.next('reset')).toMatchObject({ reason: { code: 'TRIB_STREAM_HANDLER_FAILED' } });
    expect(await b.next('window')).toMatchObject({ credit: 10 });
  });
});

describe('drain', () => {
  it('waits for open streams until the deadline, then aborts what is left', async () => {
    const { open, engine } = pipeline({ window: 10 });
    const first = open();
    const second = open();
    engine.quiesce('far');
    const late = new ScriptedPeer();
    late.attach(engine.open('near', 'far', {}, late));
    expect(await late.next('reset')).toMatchObject({ reason: { code: 'TRIB_STREAM_SHUTDOWN' } });

    const controller = new AbortController();
    const draining = engine.drain('far', controller.signal);
    first.near.end();
    first.far.end();
    await tick();
    controller.abort();
    expect(await draining).toBe(1);
    expect(second.near.frames.map((f) => f.frame)).toEqual(expect.arrayContaining(['abort', 'reset']));
    expect(first.near.has('abort')).toBe(false);
  });

  it('does not wait for a stream its acceptor closed from inside accept', async () => {
    const engine = new StreamEngine(silentLogger());
    engine.register('far', {
      accept: (stream) => {
        // An acceptor answering at once, e.g. an HTTP mapping refusing an unknown path.
        stream.close({ code: 'TEST_REFUSED' });
        return {};
      },
    });
    const near = new ScriptedPeer();
    near.attach(engine.open('near', 'far', {}, near));
    await near.next('abort');
    engine.quiesce('far');
    const controller = new AbortController();
    const draining = engine.drain('far', controller.signal);
    const timer = setTimeout(() => controller.abort(), 2_000);
    expect(await draining).toBe(0);
    expect(controller.signal.aborted).toBe(false);
    clearTimeout(timer);
  });
});

describe('pumps', () => {
  it('pumps a Readable into a half, pausing without credit', async () => {
    const { open } = pipeline();
    const { near, far } = open();
    const source = new PassThrough();
    const done = pumpReadable(source, near.handle.out);
    source.write('a'.repeat(10));
    source.write('b'.repeat(10));
    source.end();
    await tick();
    expect(far.received().byteLength).toBe(0);
    far.window(15);
    await tick();
    expect(far.received().byteLength).toBe(15);
    far.window(100);
    await done;
    await far.next('end');
    expect(far.text()).toBe('a'.repeat(10) + 'b'.repeat(10));
  });

  it('ends the half when the last chunk used the last credit exactly', async () => {
    const { open } = pipeline();
    const { near, far } = open();
    far.window(10);
    const source = new PassThrough();
    const done = pumpReadable(source, near.handle.out);
    // Like a socket: the last bytes first, the end of the stream a little later.
    source.write('a'.repeat(10));
    await tick();
    source.end();
    await done;
    await far.next('end');
    expect(far.text()).toBe('a'.repeat(10));
  });

  it('pumps a half into a Writable, granting credit as the writable accepts', async () => {
    const engine = new StreamEngine(silentLogger());
    const chunks: string[] = [];
    let release: (() => void) | undefined;
    const sink = new Writable({
      highWaterMark: 8,
      write(chunk: Buffer, _enc, callback) {
        chunks.push(chunk.toString());
        release = callback;
      },
    });
    engine.register('far', {
      accept(stream) {
        return pumpToWritable(stream.in, sink);
      },
    });
    const near = new ScriptedPeer();
    near.attach(engine.open('near', 'far', {}, near));
    await tick();
    expect(near.handle.out.credit).toBe(8);
    near.send('12345678');
    near.send('abcdefgh');
    expect(chunks).toEqual(['12345678']);
    // The writable holds the first chunk: no credit flows back until it drains.
    expect(near.handle.out.credit).toBe(0);
    release?.();
    await tick();
    // The returned credit let the queued chunk through, which the writable now holds in turn.
    expect(chunks).toEqual(['12345678', 'abcdefgh']);
    expect(near.handle.out.credit).toBe(0);
    release?.();
    await tick();
    expect(near.handle.out.credit).toBe(8);
  });
});

describe('relaying fragments', () => {
  it('keeps message boundaries across a hop whose credit differs from the first', async () => {
    const engine = new StreamEngine(silentLogger());
    let far: ScriptedPeer | undefined;
    engine.register('far', {
      accept(stream) {
        far = new ScriptedPeer().attach(stream);
        return far;
      },
    });
    // The relay forwards each frame it receives, with its fragment flags, 4 bytes at a time.
    engine.register('relay', {
      accept(app) {
        const net = engine.open('relay', 'far', {}, {});
        app.in.window(4);
        return {
          onData(frame) {
            net.out.data(frame.payload, frame.ext, frame);
            app.in.window(frame.credit);
          },
        };
      },
    });
    const near = new ScriptedPeer();
    near.attach(engine.open('near', 'relay', {}, near));
    near.send('abcdefghij', { type: 'test', n: 1 } as never);
    near.send('klm', { type: 'test', n: 2 } as never);
    await tick();
    // The far end takes 3 bytes at a time: fragments of fragments.
    for (let i = 0; i < 5; i++) far!.window(3);
    const assembler = new MessageAssembler();
    const messages = far!
      .dataFrames()
      .map((f) => assembler.push(f))
      .filter((m) => m !== undefined)
      .map((m) => [Buffer.from(m.payload).toString(), (m.ext as unknown as { n: number }).n]);
    expect(messages).toEqual([
      ['abcdefghij', 1],
      ['klm', 2],
    ]);
    expect(far!.dataFrames().filter((f) => f.first)).toHaveLength(2);
    expect(far!.dataFrames().filter((f) => f.last)).toHaveLength(2);
  });
});
