/**
 * The `uppercase` proxy: every stream it accepts is opened onwards to its route's exit; data
 * flowing towards the exit is upper-cased, everything else (begin/flush/end extensions, the
 * reply half, aborts, resets, credit) passes through unchanged.
 *
 * Naming follows the kernel's convention for stream handlers: the *net* side is the stream this
 * binding accepted (towards the client), the *app* side the stream it opened (towards the exit).
 */
import { MessageAssembler } from '@tributary/kernel';
import type {
  BindingContext,
  BindingFactory,
  BindingHandler,
  DataFrame,
  Extension,
  Inbound,
  Outbound,
  Stream,
  StreamError,
  StreamHandler,
} from '@tributary/kernel';

/** Credit granted to each sender up front (bytes); returned as messages move on. */
const WINDOW = 64 * 1024;

/**
 * Upper-cases the ASCII letters a–z. Every other byte passes unchanged, so UTF-8 stays valid
 * (bytes of multi-byte sequences are all ≥ 0x80) and binary payloads survive.
 */
export function upperCase(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.byteLength);
  for (let i = 0; i < bytes.byteLength; i++) {
    const byte = bytes[i]!;
    out[i] = byte >= 0x61 && byte <= 0x7a ? byte - 0x20 : byte;
  }
  return out;
}

/**
 * One direction of a proxied stream: whole messages read from `from` are written to `to`.
 *
 * Fragments are joined first, so each message leaves as one message with its extension. Credit
 * goes back to the sender as frames arrive while `to` keeps up; once `to.data()` says stop, the
 * credit of everything that arrives is owed until `to` may be written again. So `to` holds at
 * most one message plus the window, however slow its reader, and a message larger than the
 * window still gets through (its fragments are credited as soon as `to` drains).
 */
class Relay {
  private readonly from: Inbound;
  private readonly to: Outbound;
  private readonly transform: (payload: Uint8Array) => Uint8Array;
  private readonly messages = new MessageAssembler();
  /** True from `to.data()` returning false until `to` signals credit again. */
  private blocked = false;
  private owed = 0;

  constructor(from: Inbound, to: Outbound, transform: (payload: Uint8Array) => Uint8Array) {
    this.from = from;
    this.to = to;
    this.transform = transform;
    this.to.onCredit(() => this.onCredit());
  }

  onData(frame: DataFrame): void {
    const message = this.messages.push(frame);
    if (message && !this.to.data(this.transform(message.payload), message.ext)) this.blocked = true;
    if (this.blocked) this.owed += frame.credit;
    else this.from.window(frame.credit);
  }

  private onCredit(): void {
    this.blocked = false;
    const credit = this.owed;
    this.owed = 0;
    this.from.window(credit);
  }
}

/** The state of one accepted stream and the stream it opened for it. */
class UppercaseStream {
  private readonly net: Stream;
  private readonly app: Stream;
  private readonly toApp: Relay;
  private readonly toNet: Relay;

  constructor(ctx: BindingContext, net: Stream, begin: Extension | undefined, exit: string) {
    this.net = net;
    // The opener's frames (begin extension included) go on unchanged but for the data bytes;
    // so do the guard sessions the stream carries.
    this.app = ctx.open(
      exit,
      begin === undefined
        ? { authorization: net.authorization }
        : { ext: begin, authorization: net.authorization },
      {
        onBegin: (ext) => this.onAppBegin(ext),
        onData: (frame) => this.onAppData(frame),
        onFlush: (ext) => this.onAppFlush(ext),
        onEnd: (ext) => this.onAppEnd(ext),
        onAbort: (reason) => this.onAppAbort(reason),
        onReset: (reason) => this.onAppReset(reason),
      },
    );
    this.toApp = new Relay(this.net.in, this.app.out, upperCase);
    this.toNet = new Relay(this.app.in, this.net.out, (payload) => payload);
    this.net.in.window(WINDOW);
    this.app.in.window(WINDOW);
  }

  /** Frames of the accepted stream: the initial half, and the reset of the reply half. */
  readonly netHandler: StreamHandler = {
    onData: (frame) => this.onNetData(frame),
    onFlush: (ext) => this.onNetFlush(ext),
    onEnd: (ext) => this.onNetEnd(ext),
    onAbort: (reason) => this.onNetAbort(reason),
    onReset: (reason) => this.onNetReset(reason),
  };

  private onNetData(frame: DataFrame): void {
    this.toApp.onData(frame);
  }

  private onNetFlush(ext: Extension | undefined): void {
    this.app.out.flush(ext);
  }

  private onNetEnd(ext: Extension | undefined): void {
    this.app.out.end(ext);
  }

  private onNetAbort(reason: StreamError): void {
    this.app.out.abort(reason);
  }

  private onNetReset(reason: StreamError): void {
    this.app.in.reset(reason);
  }

  private onAppBegin(ext: Extension | undefined): void {
    this.net.out.begin(ext);
  }

  private onAppData(frame: DataFrame): void {
    this.toNet.onData(frame);
  }

  private onAppFlush(ext: Extension | undefined): void {
    this.net.out.flush(ext);
  }

  private onAppEnd(ext: Extension | undefined): void {
    this.net.out.end(ext);
  }

  private onAppAbort(reason: StreamError): void {
    this.net.out.abort(reason);
  }

  private onAppReset(reason: StreamError): void {
    this.net.in.reset(reason);
  }
}

class UppercaseProxy implements BindingHandler {
  private readonly ctx: BindingContext;

  constructor(ctx: BindingContext) {
    this.ctx = ctx;
  }

  accept(net: Stream, begin: Extension | undefined): StreamHandler | null {
    // Routes carry no conditions: the first route the stream's guard sessions allow wins, else
    // the default exit. Refusing lets the kernel reset the opener (TRIB_STREAM_REFUSED).
    const resolution = this.ctx.resolveRoute(() => ({}), net.authorization);
    if (!resolution.ok) return null;
    return new UppercaseStream(this.ctx, net, begin, resolution.route.exit).netHandler;
  }
}

/** `type: uppercase`, `kind: proxy`; no options, routes without conditions. */
export const uppercaseBinding: BindingFactory = {
  kinds: ['proxy'],
  schema: {
    options: { type: 'object', additionalProperties: false },
    when: {
      type: 'object',
      additionalProperties: false,
      description: 'The uppercase binding has no conditions.',
    },
    requiresExit: true,
  },
  create: (ctx) => new UppercaseProxy(ctx),
};
