import type {
  Authorization,
  DataFrame,
  Extension,
  Fragment,
  HalfState,
  Inbound,
  Outbound,
  Stream,
  StreamError,
  StreamHandler,
} from '../spi/stream.ts';
import type { Logger } from '../spi/context.ts';
import { errors } from '../errors.ts';

type Queued =
  | {
      readonly kind: 'data';
      readonly payload: Uint8Array;
      readonly ext: Extension | undefined;
      readonly first: boolean;
      readonly last: boolean;
      offset: number;
    }
  | { readonly kind: 'flush'; readonly ext: Extension | undefined }
  | { readonly kind: 'end'; readonly ext: Extension | undefined };

type Side = 'opener' | 'acceptor';

const other = (side: Side): Side => (side === 'opener' ? 'acceptor' : 'opener');

/**
 * One direction of a stream. `sender` writes it, the other side receives it. Credit, the
 * ordered queue of what credit held back, and the state machine all live here so that bindings
 * never see them.
 */
class Half implements Outbound, Inbound {
  state: HalfState = 'idle';
  credit = 0;
  queued = 0;
  private readonly queue: Queued[] = [];
  private pumping = false;
  private needDrain = false;
  private drainScheduled = false;
  private drainCallback: (() => void) | undefined;

  private readonly owner: StreamImpl;
  readonly sender: Side;

  constructor(owner: StreamImpl, sender: Side) {
    this.owner = owner;
    this.sender = sender;
  }

  get writable(): boolean {
    return this.state === 'idle' || this.state === 'open';
  }

  // --- Outbound (sender side) ---

  begin(ext?: Extension): void {
    if (this.state !== 'idle') return;
    this.state = 'open';
    this.owner.deliver(other(this.sender), (h) => h.onBegin?.(ext));
  }

  data(payload: Uint8Array, ext?: Extension, fragment?: Fragment): boolean {
    if (!this.writable) return false;
    if (this.state === 'idle') this.begin();
    const first = fragment?.first ?? true;
    const last = fragment?.last ?? true;
    this.queue.push({ kind: 'data', payload, ext: first ? ext : undefined, first, last, offset: 0 });
    this.queued += payload.byteLength;
    this.pump();
    const ok = this.queue.length === 0 && this.credit > 0;
    if (!ok) this.needDrain = true;
    return ok;
  }

  flush(ext?: Extension): void {
    if (!this.writable) return;
    if (this.state === 'idle') this.begin();
    this.queue.push({ kind: 'flush', ext });
    this.pump();
  }

  end(ext?: Extension): void {
    if (!this.writable) return;
    if (this.state === 'idle') this.begin();
    this.state = 'closing';
    this.queue.push({ kind: 'end', ext });
    this.pump();
  }

  abort(reason: StreamError): void {
    if (this.state === 'closed') return;
    // A half that never began still tells the receiver, so it can release what it holds.
    this.close();
    this.owner.deliver(other(this.sender), (h) => h.onAbort?.(reason));
    this.owner.checkDone();
  }

  onCredit(callback: () => void): void {
    this.drainCallback = callback;
  }

  // --- Inbound (receiver side) ---

  window(bytes: number): void {
    if (this.state === 'closed' || !Number.isFinite(bytes) || bytes <= 0) return;
    this.credit += Math.floor(bytes);
    this.pump();
    // pump() may have delivered the end frame.
    if ((this.state as HalfState) === 'closed') return;
    const credit = this.credit;
    this.owner.deliver(this.sender, (h) => h.onWindow?.(credit));
    this.maybeDrain();
  }

  reset(reason: StreamError): void {
    if (this.state === 'closed') return;
    this.close();
    this.owner.deliver(this.sender, (h) => h.onReset?.(reason));
    this.owner.checkDone();
  }

  // --- internals ---

  private close(): void {
    this.state = 'closed';
    this.queue.length = 0;
    this.queued = 0;
    this.drainCallback = undefined;
  }

  /** Delivers queued items in order for as long as credit lasts. Re-entrant calls only add credit. */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      const receiver = other(this.sender);
      while (this.queue.length > 0 && this.state !== 'closed') {
        const head = this.queue[0]!;
        if (head.kind === 'flush') {
          this.queue.shift();
          this.owner.deliver(receiver, (h) => h.onFlush?.(head.ext));
          continue;
        }
        if (head.kind === 'end') {
          this.queue.shift();
          this.state = 'closed';
          this.owner.deliver(receiver, (h) => h.onEnd?.(head.ext));
          this.owner.checkDone();
          continue;
        }
        const length = head.payload.byteLength;
        if (length === 0) {
          // Empty messages still cost one unit so that they are flow-controlled too.
          if (this.credit < 1) break;
          this.credit -= 1;
          this.queue.shift();
          const frame: DataFrame = {
            payload: head.payload,
            ext: head.ext,
            first: head.first,
            last: head.last,
            credit: 1,
          };
          this.owner.deliver(receiver, (h) => h.onData?.(frame));
          continue;
        }
        const n = Math.min(this.credit, length - head.offset);
        if (n <= 0) break;
        const start = head.offset === 0;
        const payload =
          start && n === length ? head.payload : head.payload.subarray(head.offset, head.offset + n);
        head.offset += n;
        this.credit -= n;
        this.queued -= n;
        const end = head.offset === length;
        if (end) this.queue.shift();
        // A relayed fragment keeps its place in its message: only the message's own ends are marked.
        const first = start && head.first;
        const frame: DataFrame = {
          payload,
          ext: first ? head.ext : undefined,
          first,
          last: end && head.last,
          credit: n,
        };
        this.owner.deliver(receiver, (h) => h.onData?.(frame));
      }
    } finally {
      this.pumping = false;
    }
  }

  private maybeDrain(): void {
    if (!this.needDrain || this.drainScheduled) return;
    if (this.queue.length > 0 || this.credit <= 0 || !this.writable) return;
    this.drainScheduled = true;
    // Never re-entrant: the writer learns of credit after the current frame has been handled.
    queueMicrotask(() => {
      this.drainScheduled = false;
      if (this.queue.length > 0 || this.credit <= 0 || !this.writable || !this.needDrain) return;
      this.needDrain = false;
      const callback = this.drainCallback;
      if (callback) this.owner.guard(this.sender, callback);
    });
  }
}

/** Receives lifecycle notifications from streams; implemented by the engine. */
export interface StreamRegistry {
  closed(stream: StreamImpl): void;
  readonly logger: Logger;
}

let nextStreamId = 1;

/**
 * A stream between two bindings. Delivery to a side is synchronous, except while that side's
 * handler is not attached yet (during `open`/`accept`), when frames wait in order.
 */
export class StreamImpl {
  readonly id = nextStreamId++;
  readonly initial: Half;
  readonly reply: Half;
  private readonly handlers: Record<Side, StreamHandler | undefined> = {
    opener: undefined,
    acceptor: undefined,
  };
  private readonly pending: Record<Side, ((h: StreamHandler) => void)[] | undefined> = {
    opener: [],
    acceptor: [],
  };
  private done = false;
  readonly openerView: Stream;
  readonly acceptorView: Stream;

  private readonly registry: StreamRegistry;
  readonly opener: string;
  readonly acceptor: string;
  readonly authorization: Authorization;

  constructor(registry: StreamRegistry, opener: string, acceptor: string, authorization: Authorization) {
    this.registry = registry;
    this.opener = opener;
    this.acceptor = acceptor;
    this.authorization = authorization;
    this.initial = new Half(this, 'opener');
    this.reply = new Half(this, 'acceptor');
    this.openerView = this.view(this.initial, this.reply);
    this.acceptorView = this.view(this.reply, this.initial);
  }

  get closed(): boolean {
    return this.done;
  }

  private view(out: Half, inbound: Half): Stream {
    const close = (reason: StreamError) => {
      out.abort(reason);
      inbound.reset(reason);
    };
    // Narrow views: the owner of `out` must not be able to grant itself credit, and vice versa.
    const outView: Outbound = {
      get state() {
        return out.state;
      },
      get writable() {
        return out.writable;
      },
      get credit() {
        return out.credit;
      },
      get queued() {
        return out.queued;
      },
      begin: (ext) => out.begin(ext),
      data: (payload, ext, fragment) => out.data(payload, ext, fragment),
      flush: (ext) => out.flush(ext),
      end: (ext) => out.end(ext),
      abort: (reason) => out.abort(reason),
      onCredit: (cb) => out.onCredit(cb),
    };
    const inView: Inbound = {
      get state() {
        return inbound.state;
      },
      get credit() {
        return inbound.credit;
      },
      window: (bytes) => inbound.window(bytes),
      reset: (reason) => inbound.reset(reason),
    };
    return {
      id: this.id,
      opener: this.opener,
      acceptor: this.acceptor,
      authorization: this.authorization,
      out: outView,
      in: inView,
      close,
    };
  }

  /** Attaches a side's handler and replays what waited for it. */
  attach(side: Side, handler: StreamHandler): void {
    this.handlers[side] = handler;
  }

  /** Delivers to `side` now, or holds it until {@link release} when the side is not ready. */
  deliver(side: Side, call: (h: StreamHandler) => void): void {
    const waiting = this.pending[side];
    if (waiting) {
      waiting.push(call);
      return;
    }
    const handler = this.handlers[side];
    if (handler) this.guard(side, () => call(handler));
  }

  /** Lets frames flow to `side`, replaying held frames in order. */
  release(side: Side): void {
    const waiting = this.pending[side];
    this.pending[side] = undefined;
    if (!waiting) return;
    const handler = this.handlers[side];
    if (!handler) return;
    for (const call of waiting) this.guard(side, () => call(handler));
  }

  /** Runs a handler callback; a throw tears down this stream only. */
  guard(side: Side, fn: () => void): void {
    try {
      fn();
    } catch (cause) {
      this.fail(side, cause);
    }
  }

  private fail(side: Side, cause: unknown): void {
    const binding = side === 'opener' ? this.opener : this.acceptor;
    const error = errors.TRIB_STREAM_HANDLER_FAILED({
      binding,
      reason: cause instanceof Error ? cause.message : String(cause),
    });
    this.registry.logger.error({ err: cause, stream: this.id, binding }, error.message);
    const reason: StreamError = { code: error.code, message: error.message };
    // The failing side's halves close; the peer hears abort/reset, the failing side one last
    // onAbort so it can release its resources (its errors are swallowed from here on).
    const out = side === 'opener' ? this.initial : this.reply;
    const inbound = side === 'opener' ? this.reply : this.initial;
    const failing = this.handlers[side];
    this.handlers[side] = undefined;
    out.abort(reason);
    inbound.reset(reason);
    if (failing) {
      try {
        failing.onAbort?.(reason);
      } catch {
        // Already failed once; nothing more to tell it.
      }
    }
  }

  checkDone(): void {
    if (this.done || this.initial.state !== 'closed' || this.reply.state !== 'closed') return;
    this.done = true;
    this.registry.closed(this);
  }
}
