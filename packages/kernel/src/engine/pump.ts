import type { Readable, Writable } from 'node:stream';
import type { DataFrame, Extension, Inbound, Outbound, StreamError, StreamHandler } from '../spi/stream.ts';

/**
 * Pumps a Node `Readable` into an outbound half: pauses the readable while bytes wait for
 * credit (at most one chunk is held), resumes when credit arrives, ends the half at the readable's end and aborts it on a
 * readable error. If the half is reset, the readable is destroyed. Resolves when the readable
 * is done either way.
 */
export function pumpReadable(
  readable: Readable,
  out: Outbound,
  options: { onError?: (error: Error) => StreamError } = {},
): Promise<void> {
  return new Promise((resolve) => {
    const finish = () => {
      readable.off('data', onData);
      resolve();
    };
    const onData = (chunk: Buffer | string) => {
      if (!out.writable) {
        readable.destroy();
        return;
      }
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      // Pause only with bytes waiting: a chunk that used the last credit exactly must still let
      // the readable reach its end (and the half its `end`) without more credit.
      if (!out.data(bytes) && out.queued > 0) readable.pause();
    };
    out.onCredit(() => {
      if (out.writable) readable.resume();
      else readable.destroy();
    });
    readable.on('data', onData);
    readable.once('end', () => {
      out.end();
      finish();
    });
    readable.once('error', (error: Error) => {
      out.abort(options.onError?.(error) ?? { code: 'TRIB_STREAM_SOURCE_FAILED', message: error.message });
      finish();
    });
    readable.once('close', finish);
  });
}

/**
 * A handler that writes an inbound half into a Node `Writable`, granting credit back only as
 * the writable accepts data (its high-water mark bounds what is in flight). Ends the writable on
 * `end`, destroys it on `abort`. `window` is the initial credit (default: the writable's
 * `writableHighWaterMark`).
 */
export function pumpToWritable(
  inbound: Inbound,
  writable: Writable,
  options: { window?: number; onEnd?: (ext: Extension | undefined) => void } = {},
): Pick<StreamHandler, 'onData' | 'onEnd' | 'onAbort'> {
  let owed = 0;
  let waiting = false;
  writable.on('drain', () => {
    waiting = false;
    const credit = owed;
    owed = 0;
    inbound.window(credit);
  });
  inbound.window(options.window ?? writable.writableHighWaterMark);
  return {
    onData(frame: DataFrame) {
      const accepted = writable.write(frame.payload);
      if (accepted && !waiting) inbound.window(frame.credit);
      else {
        waiting = true;
        owed += frame.credit;
      }
    },
    onEnd(ext) {
      options.onEnd?.(ext);
      writable.end();
    },
    onAbort(reason) {
      writable.destroy(new Error(reason.message ?? reason.code));
    },
  };
}

/**
 * Joins the fragments of messages (see `DataFrame.first` / `last`) for receivers that need each
 * message whole. Holds at most one message.
 */
export class MessageAssembler<D extends Extension = Extension> {
  private parts: Uint8Array[] = [];
  private ext: D | undefined;
  private credit = 0;

  /** Adds a fragment; returns the whole message once its last fragment arrived. */
  push(frame: DataFrame<D>): { payload: Uint8Array; ext: D | undefined; credit: number } | undefined {
    if (frame.first) {
      this.parts = [];
      this.ext = frame.ext;
      this.credit = 0;
    }
    this.credit += frame.credit;
    if (frame.first && frame.last) return { payload: frame.payload, ext: frame.ext, credit: frame.credit };
    this.parts.push(frame.payload);
    if (!frame.last) return undefined;
    const message = { payload: Buffer.concat(this.parts), ext: this.ext, credit: this.credit };
    this.parts = [];
    this.ext = undefined;
    this.credit = 0;
    return message;
  }

  /** Bytes held for an incomplete message. */
  get pending(): number {
    return this.parts.reduce((sum, part) => sum + part.byteLength, 0);
  }
}
