import type { DataFrame, Extension, Stream, StreamError, StreamHandler } from '../spi/stream.ts';

/** A frame as a scripted peer recorded it. */
export type RecordedFrame =
  | { readonly frame: 'begin'; readonly ext: Extension | undefined }
  | { readonly frame: 'data'; readonly data: DataFrame }
  | { readonly frame: 'flush'; readonly ext: Extension | undefined }
  | { readonly frame: 'end'; readonly ext: Extension | undefined }
  | { readonly frame: 'abort'; readonly reason: StreamError }
  | { readonly frame: 'reset'; readonly reason: StreamError }
  | { readonly frame: 'window'; readonly credit: number };

export type FrameKind = RecordedFrame['frame'];

export interface ScriptedPeerOptions {
  /** Grants this much credit as soon as the stream is attached (default 0: credit starts at zero). */
  readonly initialWindow?: number;
  /** Returns each data frame's credit right after recording it (an always-ready reader). */
  readonly autoWindow?: boolean;
}

const encoder = new TextEncoder();

/**
 * One side of a stream driven by a test: it records every frame it receives and sends what the
 * test tells it to, so a test reads like the exchange it checks.
 */
export class ScriptedPeer implements StreamHandler {
  readonly frames: RecordedFrame[] = [];
  private stream: Stream | undefined;
  private readonly waiters: {
    predicate: (f: RecordedFrame) => boolean;
    resolve: (f: RecordedFrame) => void;
  }[] = [];
  private creditListeners: (() => void)[] = [];
  private closeListeners: (() => void)[] = [];

  private readonly options: ScriptedPeerOptions;

  constructor(options: ScriptedPeerOptions = {}) {
    this.options = options;
  }

  /** Called by whoever opened or accepted the stream. */
  attach(stream: Stream): this {
    this.stream = stream;
    stream.out.onCredit(() => {
      const listeners = this.creditListeners;
      this.creditListeners = [];
      for (const listener of listeners) listener();
    });
    if (this.options.initialWindow) stream.in.window(this.options.initialWindow);
    return this;
  }

  get handle(): Stream {
    if (!this.stream) throw new Error('peer not attached to a stream');
    return this.stream;
  }

  // --- StreamHandler ---
  onBegin(ext: Extension | undefined): void {
    this.record({ frame: 'begin', ext });
  }
  onData(data: DataFrame): void {
    this.record({ frame: 'data', data });
    if (this.options.autoWindow) this.stream?.in.window(data.credit);
  }
  onFlush(ext: Extension | undefined): void {
    this.record({ frame: 'flush', ext });
  }
  onEnd(ext: Extension | undefined): void {
    this.record({ frame: 'end', ext });
  }
  onAbort(reason: StreamError): void {
    this.record({ frame: 'abort', reason });
  }
  onReset(reason: StreamError): void {
    this.record({ frame: 'reset', reason });
  }
  onWindow(credit: number): void {
    this.record({ frame: 'window', credit });
  }

  /** Runs `listener` once both halves of the stream have closed. */
  onClosed(listener: () => void): void {
    this.closeListeners.push(listener);
  }

  private record(frame: RecordedFrame): void {
    this.frames.push(frame);
    if (this.closeListeners.length > 0 && this.stream) {
      const stream = this.stream;
      // Frames are delivered before the half's state settles: look once the call has returned.
      queueMicrotask(() => {
        if (stream.out.state !== 'closed' || stream.in.state !== 'closed') return;
        const listeners = this.closeListeners;
        this.closeListeners = [];
        for (const listener of listeners) listener();
      });
    }
    for (let i = 0; i < this.waiters.length;) {
      const waiter = this.waiters[i]!;
      if (waiter.predicate(frame)) {
        this.waiters.splice(i, 1);
        waiter.resolve(frame);
      } else i++;
    }
  }

  // --- driving ---
  begin(ext?: Extension): void {
    this.handle.out.begin(ext);
  }
  /** Sends a message; returns what `Outbound.data` returned. */
  send(payload: Uint8Array | string, ext?: Extension): boolean {
    return this.handle.out.data(typeof payload === 'string' ? encoder.encode(payload) : payload, ext);
  }
  /** Resolves when the sender may write again (after `send` returned false). */
  credited(): Promise<void> {
    return new Promise((resolve) => this.creditListeners.push(resolve));
  }
  end(ext?: Extension): void {
    this.handle.out.end(ext);
  }
  abort(code = 'TEST_ABORT', message?: string): void {
    this.handle.out.abort(message === undefined ? { code } : { code, message });
  }
  window(bytes: number): void {
    this.handle.in.window(bytes);
  }
  reset(code = 'TEST_RESET', message?: string): void {
    this.handle.in.reset(message === undefined ? { code } : { code, message });
  }

  // --- observing ---
  /** All data received so far, fragments joined. */
  received(): Uint8Array {
    return Buffer.concat(this.dataFrames().map((f) => f.payload));
  }
  text(): string {
    return Buffer.from(this.received()).toString('utf8');
  }
  dataFrames(): DataFrame[] {
    return this.frames.flatMap((f) => (f.frame === 'data' ? [f.data] : []));
  }
  has(kind: FrameKind): boolean {
    return this.frames.some((f) => f.frame === kind);
  }
  /** Resolves with the first frame (already recorded or future) matching; rejects after `timeoutMs`. */
  until(predicate: (f: RecordedFrame) => boolean, timeoutMs = 2_000): Promise<RecordedFrame> {
    const seen = this.frames.find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.waiters.findIndex((w) => w.resolve === done);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new Error(`no matching frame within ${timeoutMs} ms; got ${this.describe()}`));
      }, timeoutMs);
      const done = (f: RecordedFrame) => {
        clearTimeout(timer);
        resolve(f);
      };
      this.waiters.push({ predicate, resolve: done });
    });
  }
  /** Waits for a frame of the given kind. */
  next(kind: FrameKind, timeoutMs?: number): Promise<RecordedFrame> {
    return this.until((f) => f.frame === kind, timeoutMs);
  }
  /** Waits until at least `bytes` bytes of data have arrived. */
  async receivedAtLeast(bytes: number, timeoutMs = 2_000): Promise<Uint8Array> {
    if (this.received().byteLength < bytes) {
      await this.until(() => this.received().byteLength >= bytes, timeoutMs);
    }
    return this.received();
  }
  describe(): string {
    return this.frames
      .map((f) => {
        switch (f.frame) {
          case 'data':
            return `data(${f.data.payload.byteLength}${f.data.last ? '' : '…'})`;
          case 'abort':
          case 'reset':
            return `${f.frame}(${f.reason.code})`;
          case 'window':
            return `window(${f.credit})`;
          case 'begin':
          case 'flush':
          case 'end':
            return f.frame;
        }
      })
      .join(' ');
  }
}
