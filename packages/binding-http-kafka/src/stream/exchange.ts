/**
 * One HTTP request as the mapping sees it: the accepted `http` stream, its parsed head, and the
 * ways to answer it (a whole response, a streamed one, or a problem). Exactly one answer is
 * given; later attempts are ignored, so the operations never need to check who answered first.
 */
import type { Stream, StreamError } from '@tributary/kernel';
import { header, type HttpBeginEx, type HttpHeader, type HttpProblemEx } from '@tributary/binding-http';
import type { KafkaErrorEx } from '@tributary/binding-kafka';
import { errors } from '../errors.ts';

const EMPTY = new Uint8Array(0);

export class Exchange {
  readonly stream: Stream;
  readonly begin: HttpBeginEx;
  readonly method: string;
  /** Path without query, as sent (still percent-encoded). */
  readonly path: string;
  readonly query: string;
  /** True once a response head (or a problem) went out. */
  answered = false;
  /** True once the exchange is over: answered in full, failed, or the client went away. */
  over = false;
  private readonly cleanups: (() => void)[] = [];

  constructor(stream: Stream, begin: HttpBeginEx) {
    this.stream = stream;
    this.begin = begin;
    this.method = (header(begin, ':method') ?? 'GET').toUpperCase();
    const target = header(begin, ':path') ?? '/';
    const q = target.indexOf('?');
    this.path = q < 0 ? target : target.slice(0, q);
    this.query = q < 0 ? '' : target.slice(q + 1);
  }

  header(name: string): string | undefined {
    return header(this.begin, name);
  }

  /** Runs `cleanup` when the exchange is over (answered and finished, or torn down). */
  onDone(cleanup: () => void): void {
    this.cleanups.push(cleanup);
  }

  /** Sends a whole response: head, body (if any), end. */
  respond(status: number, headers: readonly HttpHeader[], body: Uint8Array = EMPTY): void {
    if (!this.head(status, headers)) return;
    if (body.byteLength > 0) this.stream.out.data(body);
    this.finish();
  }

  /** Sends only the head of a response whose body follows with `write` and `finish`. */
  head(status: number, headers: readonly HttpHeader[]): boolean {
    if (this.answered) return false;
    this.answered = true;
    const begin: HttpBeginEx = {
      type: 'http',
      kind: 'begin',
      headers: [{ name: ':status', value: String(status) }, ...headers],
    };
    this.stream.out.begin(begin);
    return true;
  }

  /** Writes body bytes; false when the client's credit is exhausted (see `Outbound.data`). */
  write(bytes: Uint8Array): boolean {
    return this.stream.out.data(bytes);
  }

  finish(): void {
    this.stream.out.end();
    // The request may still be streaming in (an early answer such as 404): nothing more is read.
    if (this.stream.in.state !== 'closed')
      this.stream.in.reset({ code: errors.TRIB_HTTP_KAFKA_ANSWERED.code });
    this.done();
  }

  /**
   * Answers with a problem: before the response head, the server renders it as
   * `application/problem+json`; after it, the response is cut.
   */
  fail(problem: HttpProblemEx): void {
    if (this.over) return;
    const reason: StreamError = {
      code: problem.code,
      ...(problem.detail ? { message: problem.detail } : {}),
    };
    if (!this.answered) {
      this.answered = true;
      const withExt: StreamError = { ...reason, ext: problem };
      this.stream.out.abort(withExt);
      this.stream.in.reset(withExt);
    } else {
      this.stream.close(reason);
    }
    this.done();
  }

  /** The client went away (or the server gave up on it): release whatever is open. */
  gone(): void {
    this.answered = true;
    this.done();
  }

  private done(): void {
    this.over = true;
    const cleanups = this.cleanups.splice(0);
    for (const cleanup of cleanups) cleanup();
  }
}

/** A problem document for one of this binding's codes, with extra headers. */
export function problemOf(
  factory: (typeof errors)[keyof typeof errors],
  params: Readonly<Record<string, unknown>>,
  headers: readonly HttpHeader[] = [],
): HttpProblemEx {
  const error = factory(params);
  return {
    type: 'http',
    kind: 'problem',
    status: factory.spec.status ?? 500,
    code: factory.code,
    detail: error.message,
    ...(headers.length === 0 ? {} : { headers }),
  };
}

/**
 * Turns a Kafka failure into the client's answer: unreachable, slow or refusing brokers are the
 * gateway's trouble, never the client's, so they become 503 with `Retry-After` (RFC 9110
 * §15.6.4); only what the client can fix becomes a 4xx.
 */
export function kafkaProblem(
  reason: StreamError | KafkaErrorEx | undefined,
  path: string,
  retryAfterSeconds: number,
): HttpProblemEx {
  const ext = reason && 'kind' in reason ? reason : (reason?.ext as KafkaErrorEx | undefined);
  const kafka = ext?.type === 'kafka' && ext.kind === 'error' ? ext : undefined;
  if (!kafka) {
    const what =
      reason && 'code' in reason ? `${reason.code}${reason.message ? `: ${reason.message}` : ''}` : 'closed';
    return problemOf(errors.TRIB_HTTP_KAFKA_UPSTREAM_FAILED, { reason: what });
  }
  switch (kafka.reason) {
    case 'unavailable':
    case 'timeout':
    case 'authentication':
    case 'authorization': {
      const seconds =
        kafka.retryAfterMs !== undefined
          ? Math.max(1, Math.ceil(kafka.retryAfterMs / 1000))
          : retryAfterSeconds;
      // What exactly failed (a broker address, a principal) is for the operator's logs.
      return problemOf(errors.TRIB_HTTP_KAFKA_UNAVAILABLE, { reason: publicReason(kafka.reason) }, [
        { name: 'retry-after', value: String(seconds) },
      ]);
    }
    case 'unknown-topic':
      return problemOf(errors.TRIB_HTTP_KAFKA_UNKNOWN_TOPIC, { path });
    case 'invalid-record':
      if (/exceeds|too large|RECORD_TOO_LARGE|MESSAGE_TOO_LARGE/i.test(kafka.message))
        return {
          ...problemOf(errors.TRIB_HTTP_KAFKA_INVALID_RECORD, { reason: 'the record is too large' }),
          status: 413,
        };
      return problemOf(errors.TRIB_HTTP_KAFKA_INVALID_RECORD, { reason: 'the record is not valid' });
    case 'invalid-token':
      return problemOf(errors.TRIB_HTTP_KAFKA_INVALID_RECORD, { reason: 'the progress token is not valid' });
    case 'internal':
    default:
      return problemOf(errors.TRIB_HTTP_KAFKA_UPSTREAM_FAILED, { reason: kafka.code });
  }
}

function publicReason(reason: KafkaErrorEx['reason']): string {
  switch (reason) {
    case 'timeout':
      return 'no acknowledgement in time';
    case 'authentication':
    case 'authorization':
      return 'the gateway is not allowed to reach it';
    default:
      return 'brokers unreachable';
  }
}

/** True when the reason says Kafka could not be reached (for the unavailable/available events). */
export function isUnavailable(problem: HttpProblemEx): boolean {
  return problem.code === errors.TRIB_HTTP_KAFKA_UNAVAILABLE.code;
}
