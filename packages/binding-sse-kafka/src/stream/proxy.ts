/**
 * The `sse-kafka` proxy: accepts `sse` streams, picks a route by path and serves each with a
 * {@link Subscription} on the route's topic.
 */
import type {
  BindingContext,
  BindingHandler,
  Extension,
  RouteResolution,
  Stream,
  StreamHandler,
} from '@tributary/kernel';
import { isSseBegin, sseProblem, type SseProblemEx } from '@tributary/binding-sse';
import {
  DEFAULTS,
  matcher,
  type SseKafkaOptions,
  type SseKafkaWhen,
  type SseKafkaWith,
} from '../config/schema.ts';
import { errors } from '../errors.ts';
import { kafkaAvailable, kafkaUnavailable } from '../events.ts';
import { Subscription } from './subscription.ts';

export type Ctx = BindingContext<SseKafkaOptions, SseKafkaWhen, SseKafkaWith>;

export interface Settings {
  readonly deleteEvent: string;
  readonly retryAfterSeconds: number;
  readonly window: number;
}

/** What a subscription needs from its binding. */
export interface SubscriptionHost {
  readonly ctx: Ctx;
  readonly settings: Settings;
  /** Reports how a stream's start went, for the unavailable/available events. */
  outcome(problem: SseProblemEx | undefined): void;
}

/** A problem for one of this binding's codes. */
export function problemOf(
  factory: (typeof errors)[keyof typeof errors],
  params: Readonly<Record<string, unknown>> = {},
  headers: Readonly<Record<string, string>> = {},
): SseProblemEx {
  return sseProblem(factory.spec.status ?? 500, factory.code, factory(params).message, headers);
}

export class SseKafkaProxy implements BindingHandler, SubscriptionHost {
  readonly ctx: Ctx;
  readonly settings: Settings;
  private failing = 0;

  constructor(ctx: Ctx) {
    this.ctx = ctx;
    const o = ctx.config.options ?? {};
    this.settings = {
      deleteEvent: o.deleteEvent ?? DEFAULTS.deleteEvent,
      retryAfterSeconds: o.retryAfterSeconds ?? DEFAULTS.retryAfterSeconds,
      window: o.window ?? DEFAULTS.window,
    };
  }

  accept(app: Stream, begin: Extension | undefined): StreamHandler {
    if (!isSseBegin(begin)) {
      const reason = begin === undefined ? 'no begin extension' : `a "${begin.type}" begin`;
      return this.refuse(app, problemOf(errors.TRIB_SSE_KAFKA_NOT_AN_SSE_STREAM, { reason }));
    }
    const resolution = this.ctx.resolveRoute(matcher(begin.path), app.authorization);
    if (!resolution.ok) return this.refuse(app, this.refusal(begin.path, resolution));
    const { route } = resolution;
    const raw = this.ctx.config.routes[route.index]?.with;
    if (route.with === undefined || raw === undefined)
      return this.refuse(app, problemOf(errors.TRIB_SSE_KAFKA_NO_ROUTE, { path: begin.path }));
    const subscription = new Subscription(this, app, begin, {
      exit: route.exit,
      spec: route.with,
      raw,
    });
    subscription.start();
    return subscription;
  }

  outcome(problem: SseProblemEx | undefined): void {
    if (problem !== undefined && problem.code === errors.TRIB_SSE_KAFKA_UNAVAILABLE.code) {
      if (this.failing++ === 0)
        this.ctx.events.emit(kafkaUnavailable(this.ctx.name, problem.detail ?? problem.code));
    } else if (problem === undefined && this.failing > 0) {
      this.ctx.events.emit(kafkaAvailable(this.ctx.name, this.failing));
      this.failing = 0;
    }
  }

  private refusal(path: string, resolution: Extract<RouteResolution, { ok: false }>): SseProblemEx {
    switch (resolution.reason) {
      case 'unauthorized':
        return problemOf(errors.TRIB_SSE_KAFKA_UNAUTHORIZED, { path }, { 'www-authenticate': 'Bearer' });
      case 'forbidden':
        return problemOf(errors.TRIB_SSE_KAFKA_FORBIDDEN, { path });
      case 'no-match':
        return problemOf(errors.TRIB_SSE_KAFKA_NO_ROUTE, { path });
    }
  }

  private refuse(app: Stream, ext: SseProblemEx): StreamHandler {
    const reason = { code: ext.code, ...(ext.detail === undefined ? {} : { message: ext.detail }), ext };
    app.out.abort(reason);
    app.in.reset(reason);
    return {};
  }
}
