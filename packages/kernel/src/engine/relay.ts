import type { Stream, StreamError, StreamHandler } from '../spi/stream.ts';

/**
 * Passes a stream on unchanged: `app` is the stream a proxy accepted, `open` opens the onward
 * stream with the handler it is given (typically `(h) => ctx.open(exit, { ext, authorization }, h)`).
 * Returns the handler for `app`.
 *
 * Frames go both ways with their fragment flags, so message boundaries survive. No credit is
 * returned on forwarding: each side is granted exactly what the other side granted, so a slow
 * reader at one end stalls the writer at the other and nothing accumulates in the proxy. Any
 * abort or reset tears down both streams.
 */
export function relay(app: Stream, open: (handler: StreamHandler) => Stream): StreamHandler {
  const teardown = (reason: StreamError) => {
    net.close(reason);
    app.close(reason);
  };
  const net: Stream = open({
    onBegin: (ext) => app.out.begin(ext),
    onData: (frame) => app.out.data(frame.payload, frame.ext, frame),
    onFlush: (ext) => app.out.flush(ext),
    onEnd: (ext) => app.out.end(ext),
    onAbort: teardown,
    onReset: teardown,
    onWindow: () => app.in.window(net.out.credit - app.in.credit),
  });
  return {
    onData: (frame) => net.out.data(frame.payload, frame.ext, frame),
    onFlush: (ext) => net.out.flush(ext),
    onEnd: (ext) => net.out.end(ext),
    onAbort: teardown,
    onReset: teardown,
    onWindow: () => net.in.window(app.out.credit - net.in.credit),
  };
}
