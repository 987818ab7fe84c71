import {
  relay as relayStream,
  type BindingContext,
  type Extension,
  type Stream,
  type StreamHandler,
} from '@tributary/kernel';

/**
 * Passes a produce, meta or describe stream (or a read_committed fetch) through to the client.
 * `onFlush` sees each reply flush (a produce acknowledgement…) before the app does.
 */
export function relay(
  ctx: BindingContext,
  exit: string,
  app: Stream,
  begin: Extension | undefined,
  onFlush?: (ext: Extension | undefined) => void,
): StreamHandler {
  return relayStream(app, (handler) =>
    ctx.open(
      exit,
      { ...(begin === undefined ? {} : { ext: begin }), authorization: app.authorization },
      onFlush === undefined ? handler : tap(handler, onFlush),
    ),
  );
}

/** `handler` with `onFlush` called first on every flush. */
function tap(handler: StreamHandler, onFlush: (ext: Extension | undefined) => void): StreamHandler {
  return {
    onBegin: (ext) => handler.onBegin?.(ext),
    onData: (frame) => handler.onData?.(frame),
    onFlush: (ext) => {
      onFlush(ext);
      handler.onFlush?.(ext);
    },
    onEnd: (ext) => handler.onEnd?.(ext),
    onAbort: (reason) => handler.onAbort?.(reason),
    onReset: (reason) => handler.onReset?.(reason),
    onWindow: (credit) => handler.onWindow?.(credit),
  };
}
