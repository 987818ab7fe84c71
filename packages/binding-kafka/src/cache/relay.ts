import type { BindingContext, Extension, Stream, StreamError, StreamHandler } from '@tributary/kernel';

/**
 * Passes a stream through to `exit` unchanged: frames both ways, credit mirrored so that the
 * relay never holds more than its peers granted, and any abort or reset tears down both sides.
 */
export function relay(
  ctx: BindingContext,
  exit: string,
  app: Stream,
  begin: Extension | undefined,
): StreamHandler {
  const teardown = (reason: StreamError) => {
    net.close(reason);
    app.close(reason);
  };
  const net: Stream = ctx.open(
    exit,
    { ...(begin === undefined ? {} : { ext: begin }), authorization: app.authorization },
    {
      onBegin: (ext) => app.out.begin(ext),
      // No credit is returned here: the exit gets exactly what the app grants (see onWindow).
      onData: (frame) => app.out.data(frame.payload, frame.ext, frame),
      onFlush: (ext) => app.out.flush(ext),
      onEnd: (ext) => app.out.end(ext),
      onAbort: teardown,
      onReset: teardown,
      onWindow: () => app.in.window(net.out.credit - app.in.credit),
    },
  );
  return {
    // Credit the app grants us for the reply is what we grant the exit.
    onWindow: () => net.in.window(app.out.credit - net.in.credit),
    onData: (frame) => {
      // Only the first fragment carries the extension; later ones follow it in order.
      net.out.data(frame.payload, frame.ext, frame);
    },
    onFlush: (ext) => net.out.flush(ext),
    onEnd: (ext) => net.out.end(ext),
    onAbort: teardown,
    onReset: teardown,
  };
}
