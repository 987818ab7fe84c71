import {
  relay as relayStream,
  type BindingContext,
  type Extension,
  type Stream,
  type StreamHandler,
} from '@tributary/kernel';

/** Passes a produce, meta or describe stream (or a read_committed fetch) through to the client. */
export function relay(
  ctx: BindingContext,
  exit: string,
  app: Stream,
  begin: Extension | undefined,
): StreamHandler {
  return relayStream(app, (handler) =>
    ctx.open(
      exit,
      { ...(begin === undefined ? {} : { ext: begin }), authorization: app.authorization },
      handler,
    ),
  );
}
