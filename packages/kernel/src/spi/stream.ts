/**
 * Streams: the only way bindings talk to each other.
 *
 * A stream joins two bindings: the *opener* (which called {@link BindingContext.open}) and the
 * *acceptor* (whose {@link BindingHandler.accept} received it). It has two halves:
 *
 * - the **initial** half carries frames from opener to acceptor;
 * - the **reply** half carries frames from acceptor to opener.
 *
 * Each half carries `begin`, then any number of `data` / `flush`, then exactly one `end` or
 * `abort`. The party that *receives* a half controls it with `window` (credit) and at most one
 * `reset`. Protocol metadata rides on frames as typed {@link Extension}s.
 *
 * Each party sees the stream through a {@link Stream}: `out` is the half it writes, `in` the half
 * it reads. Frames are delivered synchronously to the peer's {@link StreamHandler}; a handler never
 * awaits. A handler that throws aborts its own stream (both halves, code
 * `TRIB_STREAM_HANDLER_FAILED`) and nothing else.
 *
 * @module
 */

/**
 * Protocol metadata carried on a frame. Each binding package exports its own extension
 * interfaces, discriminated by `type` (for example `'http'` or `'kafka'`), and the mappings that
 * consume them narrow on it. Extensions are plain data: never mutated after being sent.
 */
import type { GuardSession } from './guard.ts';

export interface Extension {
  readonly type: string;
}

/**
 * Why a half was aborted or reset. `code` is a stable `TRIB_<AREA>_<NAME>` code (or a binding's
 * own code); `ext` may carry protocol detail (e.g. an HTTP status, a Kafka error) for the peer
 * to map onto its own protocol.
 */
export interface StreamError {
  readonly code: string;
  readonly message?: string;
  readonly ext?: Extension;
}

/**
 * One data frame as the receiver sees it.
 *
 * Messages larger than the credit available are delivered in fragments: `first` is true on the
 * fragment that starts a message (and only that one carries `ext`), `last` on the one that ends
 * it. A receiver that needs whole messages collects fragments until `last` (see
 * `MessageAssembler`); a receiver of a byte stream ignores the flags.
 */
export interface DataFrame<D extends Extension = Extension> {
  readonly payload: Uint8Array;
  /** Present on the first fragment of a message when the sender attached one. */
  readonly ext: D | undefined;
  readonly first: boolean;
  readonly last: boolean;
  /**
   * The credit this frame consumed: the payload length, or 1 for an empty message (so that even
   * zero-length messages are flow-controlled). Return it with `in.window(frame.credit)` once the
   * frame has been processed.
   */
  readonly credit: number;
}

/** Where a relayed payload sits in its message (see {@link DataFrame}). */
export interface Fragment {
  readonly first: boolean;
  readonly last: boolean;
}

/** Lifecycle of one half, as seen from either side. */
export type HalfState = 'idle' | 'open' | 'closing' | 'closed';

/**
 * The half a party writes. Writing never throws: writing to a closed half is ignored and
 * reported by `writable === false`.
 *
 * **Credit.** The receiver grants credit in bytes; it starts at zero. `data()` always accepts the
 * message, delivers as much as credit allows at once, and queues the rest in order (together
 * with any later `flush` / `end`). It returns `false` when the caller should stop writing — the
 * queue is non-empty or no credit is left — exactly like `Writable.write()`. The `onCredit`
 * callback fires (on a microtask, never re-entrantly) when the queue is empty and credit is
 * available again after `data()` returned `false`.
 * Bindings therefore never do credit arithmetic themselves.
 */
export interface Outbound<B extends Extension = Extension, D extends Extension = Extension> {
  readonly state: HalfState;
  /** True while `data`/`flush`/`end` would be accepted. */
  readonly writable: boolean;
  /** Credit granted by the receiver and not yet consumed. */
  readonly credit: number;
  /** Bytes accepted by `data()` but not yet delivered for lack of credit. */
  readonly queued: number;
  /** Opens the half. Sent automatically (without extension) before the first data if omitted. */
  begin(ext?: B): void;
  /**
   * Sends one message; see the interface docs for the credit contract. A proxy relaying frames
   * passes each received frame's `fragment` flags so that message boundaries survive the hop
   * (`{ first: frame.first, last: frame.last }`); without them the payload is a whole message.
   */
  data(payload: Uint8Array, ext?: D, fragment?: Fragment): boolean;
  /** Sends a metadata-only frame (no payload, no credit), in order with queued data. */
  flush(ext?: Extension): void;
  /** Ends the half once all queued data has been delivered. */
  end(ext?: Extension): void;
  /** Ends the half at once, dropping queued data. Idempotent. */
  abort(reason: StreamError): void;
  /** Registers the callback run when writing may resume. Replaces any earlier callback. */
  onCredit(callback: () => void): void;
}

/** The half a party reads: it controls the sender with credit and may reset it. */
export interface Inbound {
  readonly state: HalfState;
  /** Credit granted and not yet consumed by the sender. */
  readonly credit: number;
  /** Grants `bytes` more credit to the sender. Non-positive or non-finite values are ignored. */
  window(bytes: number): void;
  /** Asks the sender to stop; the half closes and later frames are dropped. Idempotent. */
  reset(reason: StreamError): void;
}

/**
 * One party's view of a stream.
 */
export interface Stream {
  /** Unique within the process, for logs and diagnostics. */
  readonly id: number;
  /** The binding that opened the stream. */
  readonly opener: string;
  /** The binding that accepted it. */
  readonly acceptor: string;
  /** Guard sessions the opener attached, by guard name. Carried along by proxies. */
  readonly authorization: Authorization;
  /** The half this party writes. */
  readonly out: Outbound;
  /** The half this party reads. */
  readonly in: Inbound;
  /** Aborts `out` and resets `in` with the same reason: tears the whole stream down. */
  close(reason: StreamError): void;
}

/**
 * Frames arriving at one party: those of the half it reads, and the `reset` of the half it
 * writes. Methods are called synchronously by the kernel, in order; they must not throw (a throw
 * aborts this stream only) and must not await.
 */
export interface StreamHandler {
  /** The peer opened the half this party reads. Acceptors receive the initial begin in `accept`. */
  onBegin?(ext: Extension | undefined): void;
  onData?(frame: DataFrame): void;
  onFlush?(ext: Extension | undefined): void;
  /** The half this party reads ended normally. */
  onEnd?(ext: Extension | undefined): void;
  /** The half this party reads was aborted by its sender. */
  onAbort?(reason: StreamError): void;
  /** The receiver of the half this party writes reset it. Queued data has been dropped. */
  onReset?(reason: StreamError): void;
  /** Credit arrived for the half this party writes (after it was applied to the queue). */
  onWindow?(credit: number): void;
}

/** Guard sessions by guard name; see `GuardSession`. */
export type Authorization = Readonly<Record<string, GuardSession>>;
