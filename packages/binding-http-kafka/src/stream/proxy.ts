/**
 * The `http-kafka` proxy: accepts `http` streams, picks a route by method and path, and hands
 * the request to the operation its `with.capability` names.
 */
import type {
  BindingContext,
  BindingHandler,
  Extension,
  RouteResolution,
  Stream,
  StreamHandler,
} from '@tributary/kernel';
import { isHttpBegin, type HttpProblemEx } from '@tributary/binding-http';
import {
  compilePath,
  DEFAULTS,
  matcher,
  type HttpKafkaOptions,
  type HttpKafkaWhen,
  type HttpKafkaWith,
} from '../config/schema.ts';
import { errors } from '../errors.ts';
import { kafkaAvailable, kafkaUnavailable } from '../events.ts';
import { Exchange, isUnavailable, problemOf } from './exchange.ts';
import { ProduceOperation } from './produce.ts';
import { RequestReplyOperation } from './request-reply.ts';
import { FetchItemOperation } from './fetch-item.ts';
import { FetchCollectionOperation } from './fetch-collection.ts';

export type Ctx = BindingContext<HttpKafkaOptions, HttpKafkaWhen, HttpKafkaWith>;

/** Options with their defaults applied. */
export interface Settings {
  readonly maxBodyBytes: number;
  readonly idempotencyKey: string;
  readonly correlationIdHeader: string;
  readonly replyToHeader: string;
  readonly excludeHeaders: ReadonlySet<string>;
  readonly replyTimeoutMs: number;
  readonly maxWaitSeconds: number;
  readonly retryAfterSeconds: number;
}

/** What every operation gets: the binding's context, settings, and outcome reporting. */
export interface OperationHost {
  readonly ctx: Ctx;
  readonly settings: Settings;
  /** Reports how a request that reached Kafka ended, for the unavailable/available events. */
  outcome(problem: HttpProblemEx | undefined): void;
}

/** The handler an operation gives the kernel for the request's `http` stream. */
export interface Operation extends StreamHandler {
  start(): void;
}

export class HttpKafkaProxy implements BindingHandler, OperationHost {
  readonly ctx: Ctx;
  readonly settings: Settings;
  private failing = 0;

  constructor(ctx: Ctx) {
    this.ctx = ctx;
    const o = ctx.config.options ?? {};
    this.settings = {
      maxBodyBytes: o.maxBodyBytes ?? DEFAULTS.maxBodyBytes,
      idempotencyKey: (o.idempotencyKey ?? DEFAULTS.idempotencyKey).toLowerCase(),
      correlationIdHeader: o.headers?.correlationId ?? DEFAULTS.correlationId,
      replyToHeader: o.headers?.replyTo ?? DEFAULTS.replyTo,
      excludeHeaders: new Set((o.excludeHeaders ?? DEFAULTS.excludeHeaders).map((h) => h.toLowerCase())),
      replyTimeoutMs: o.replyTimeoutMs ?? DEFAULTS.replyTimeoutMs,
      maxWaitSeconds: o.maxWaitSeconds ?? DEFAULTS.maxWaitSeconds,
      retryAfterSeconds: o.retryAfterSeconds ?? DEFAULTS.retryAfterSeconds,
    };
  }

  accept(stream: Stream, begin: Extension | undefined): StreamHandler {
    if (!isHttpBegin(begin)) {
      const problem = problemOf(errors.TRIB_HTTP_KAFKA_NOT_A_REQUEST, {
        reason: begin === undefined ? 'no begin extension' : `a "${begin.type}" begin`,
      });
      stream.close({ code: problem.code, ext: problem });
      return {};
    }
    const exchange = new Exchange(stream, begin);
    const idempotencyKey = exchange.header(this.settings.idempotencyKey);
    const resolution = this.ctx.resolveRoute(
      this.matcherFor(exchange),
      stream.authorization,
      idempotencyKey === undefined ? {} : { idempotencyKey },
    );
    if (!resolution.ok) {
      return this.refuse(exchange, this.refusal(exchange, resolution));
    }
    const { route } = resolution;
    const raw = this.ctx.config.routes[route.index];
    const spec = route.with;
    if (raw === undefined || spec === undefined) {
      exchange.fail(
        problemOf(errors.TRIB_HTTP_KAFKA_NO_ROUTE, { method: exchange.method, path: exchange.path }),
      );
      return {};
    }
    const operation = this.operation(exchange, route.exit, route.params, spec, raw.with, idempotencyKey);
    if (operation === undefined) return {};
    operation.start();
    return operation;
  }

  private refuse(exchange: Exchange, problem: HttpProblemEx): StreamHandler {
    exchange.fail(problem);
    return {};
  }

  /**
   * The route matcher of a request. `HEAD` is answered by the fetch routes of `GET` (RFC 9110
   * §9.3.2: the same head, no body — the http server drops the body), never by a produce route.
   */
  private matcherFor(
    exchange: Exchange,
  ): (when: HttpKafkaWhen) => Readonly<Record<string, string>> | undefined {
    const match = matcher(exchange.method, exchange.path);
    if (exchange.method !== 'HEAD') return match;
    const asGet = matcher('GET', exchange.path);
    const fetches = new Set<HttpKafkaWhen>();
    for (const route of this.ctx.config.routes)
      if (route.with?.capability === 'fetch') for (const when of route.when) fetches.add(when);
    return (when) => match(when) ?? (fetches.has(when) ? asGet(when) : undefined);
  }

  outcome(problem: HttpProblemEx | undefined): void {
    if (problem !== undefined && isUnavailable(problem)) {
      if (this.failing++ === 0)
        this.ctx.events.emit(kafkaUnavailable(this.ctx.name, problem.detail ?? problem.code));
    } else if (problem === undefined && this.failing > 0) {
      this.ctx.events.emit(kafkaAvailable(this.ctx.name, this.failing));
      this.failing = 0;
    }
  }

  private operation(
    exchange: Exchange,
    exit: string,
    params: Readonly<Record<string, string>>,
    spec: HttpKafkaWith,
    raw: HttpKafkaWith | undefined,
    idempotencyKey: string | undefined,
  ): Operation | undefined {
    const target = { exit, params, spec, raw: raw ?? spec, idempotencyKey };
    if (spec.capability === 'fetch') {
      return spec.merge === undefined
        ? new FetchItemOperation(this, exchange, target, spec)
        : new FetchCollectionOperation(this, exchange, target, spec);
    }
    const rawKey = target.raw.capability === 'produce' ? target.raw.key : undefined;
    if (rawKey?.includes('${idempotencyKey}') && idempotencyKey === undefined) {
      this.refuse(
        exchange,
        problemOf(errors.TRIB_HTTP_KAFKA_IDEMPOTENCY_KEY_REQUIRED, { header: this.settings.idempotencyKey }),
      );
      return undefined;
    }
    return spec.replyTo === undefined
      ? new ProduceOperation(this, exchange, target, spec)
      : new RequestReplyOperation(this, exchange, target, spec);
  }

  /** 404, 405 (with `Allow`), 401 or 403 for a request no route takes (RFC 9110 §15.5). */
  private refusal(exchange: Exchange, resolution: Extract<RouteResolution, { ok: false }>): HttpProblemEx {
    const what = { method: exchange.method, path: exchange.path };
    switch (resolution.reason) {
      case 'unauthorized':
        return problemOf(errors.TRIB_HTTP_KAFKA_UNAUTHORIZED, what, [
          { name: 'www-authenticate', value: 'Bearer' },
        ]);
      case 'forbidden':
        return problemOf(errors.TRIB_HTTP_KAFKA_FORBIDDEN, what);
      case 'no-match': {
        const allowed = new Set<string>();
        let anyMethod = false;
        for (const route of this.ctx.config.routes)
          for (const when of route.when)
            if (compilePath(when.path)(exchange.path)) {
              if (when.method === undefined) anyMethod = true;
              else allowed.add(when.method);
              if (when.method === 'GET' && route.with?.capability === 'fetch') allowed.add('HEAD');
            }
        if (allowed.size === 0 || anyMethod) return problemOf(errors.TRIB_HTTP_KAFKA_NO_ROUTE, what);
        return problemOf(errors.TRIB_HTTP_KAFKA_METHOD_NOT_ALLOWED, what, [
          { name: 'allow', value: [...allowed].sort().join(', ') },
        ]);
      }
    }
  }
}

/** The route an operation serves. */
export interface Target<With extends HttpKafkaWith = HttpKafkaWith> {
  readonly exit: string;
  readonly params: Readonly<Record<string, string>>;
  /** `with`, templates resolved. */
  readonly spec: With;
  /** `with` as configured, for templates resolved later (`${correlationId}`). */
  readonly raw: HttpKafkaWith;
  readonly idempotencyKey: string | undefined;
}
