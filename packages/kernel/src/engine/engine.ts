import type { BindingHandler, OpenOptions } from '../spi/binding.ts';
import type { Logger } from '../spi/context.ts';
import type { Extension, Stream, StreamError, StreamHandler } from '../spi/stream.ts';
import { errors } from '../errors.ts';
import { StreamImpl, type StreamRegistry } from './stream.ts';

interface Endpoint {
  handler: BindingHandler;
  /** Streams this binding accepted and that are still open. */
  readonly accepted: Set<StreamImpl>;
  stopping: boolean;
  idle: (() => void)[];
}

/**
 * Routes streams between running bindings and keeps track of the open ones, so that a binding
 * can be drained and stopped (on shutdown or reload) without touching anybody else's streams.
 */
export class StreamEngine implements StreamRegistry {
  private readonly endpoints = new Map<string, Endpoint>();

  readonly logger: Logger;

  constructor(logger: Logger) {
    this.logger = logger;
  }

  /** Makes `name` reachable as an exit. Replaces an earlier handler of the same name. */
  register(name: string, handler: BindingHandler): void {
    const existing = this.endpoints.get(name);
    if (existing) {
      existing.handler = handler;
      existing.stopping = false;
      return;
    }
    this.endpoints.set(name, { handler, accepted: new Set(), stopping: false, idle: [] });
  }

  unregister(name: string): void {
    this.endpoints.delete(name);
  }

  /** Number of open streams accepted by `name`. */
  openStreams(name: string): number {
    return this.endpoints.get(name)?.accepted.size ?? 0;
  }

  open(opener: string, exit: string, options: OpenOptions, handler: StreamHandler): Stream {
    const stream = new StreamImpl(this, opener, exit, options.authorization ?? {});
    stream.attach('opener', handler);
    const endpoint = this.endpoints.get(exit);
    const refuse = (error: { code: string; message: string }) => {
      const reason: StreamError = { code: error.code, message: error.message };
      stream.initial.reset(reason);
      stream.reply.abort(reason);
    };
    if (!endpoint?.handler.accept) {
      refuse(errors.TRIB_STREAM_NO_BINDING({ exit }));
    } else if (endpoint.stopping) {
      refuse(errors.TRIB_STREAM_SHUTDOWN({ binding: exit }));
    } else {
      stream.initial.state = 'open';
      let accepted: StreamHandler | null = null;
      // Tracked before accept runs: a stream the acceptor closes from inside accept must still
      // be seen closing, or drain would wait for it until the shutdown deadline.
      endpoint.accepted.add(stream);
      try {
        accepted = endpoint.handler.accept(stream.acceptorView, options.ext satisfies Extension | undefined);
      } catch (cause) {
        const error = errors.TRIB_STREAM_HANDLER_FAILED({
          binding: exit,
          reason: cause instanceof Error ? cause.message : String(cause),
        });
        this.logger.error({ err: cause, stream: stream.id, binding: exit }, error.message);
        refuse(error);
      }
      if (accepted) {
        stream.attach('acceptor', accepted);
        stream.release('acceptor');
        if (stream.closed) this.closed(stream);
      } else {
        endpoint.accepted.delete(stream);
        if (!stream.closed) refuse(errors.TRIB_STREAM_REFUSED({ binding: exit }));
      }
    }
    // The opener hears nothing until `open` has returned its stream to it.
    queueMicrotask(() => stream.release('opener'));
    return stream.openerView;
  }

  closed(stream: StreamImpl): void {
    const endpoint = this.endpoints.get(stream.acceptor);
    if (!endpoint?.accepted.delete(stream)) return;
    if (endpoint.accepted.size === 0) {
      const waiting = endpoint.idle;
      endpoint.idle = [];
      for (const resolve of waiting) resolve();
    }
  }

  /** Refuses new streams towards `name` from now on. */
  quiesce(name: string): void {
    const endpoint = this.endpoints.get(name);
    if (endpoint) endpoint.stopping = true;
  }

  /**
   * Waits until every stream `name` accepted has closed, or `signal` aborts; then aborts the
   * streams that are left. Resolves to the number of streams that had to be aborted.
   */
  async drain(name: string, signal: AbortSignal): Promise<number> {
    const endpoint = this.endpoints.get(name);
    if (!endpoint) return 0;
    if (endpoint.accepted.size > 0 && !signal.aborted) {
      await new Promise<void>((resolve) => {
        endpoint.idle.push(resolve);
        signal.addEventListener('abort', () => resolve(), { once: true });
      });
    }
    const left = [...endpoint.accepted];
    const error = errors.TRIB_STREAM_SHUTDOWN({ binding: name });
    for (const stream of left) stream.acceptorView.close({ code: error.code, message: error.message });
    return left.length;
  }
}
