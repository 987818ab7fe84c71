/**
 * Configuration of `type: sse` bindings: option and `when` types, their JSON Schema fragments
 * (the kernel composes them into the configuration schema) and the route matcher.
 */
import {
  compilePathPattern,
  type BindingConfig,
  type ConfigIssue,
  type JsonSchema,
  type RouteParams,
} from '@tributary/kernel';

/** `bindings.<name>.options` of an `sse` server. All optional. */
export interface SseOptions {
  /** A `:` comment line is sent on every stream this often (ms, default 15 s); 0 sends none. */
  readonly heartbeatMs?: number;
  /**
   * Bytes of events a client's connection may leave waiting (default 1 MiB). An event arriving
   * while more are waiting closes the stream with `TRIB_SSE_LAGGING`.
   */
  readonly maxLagBytes?: number;
  /** Credit granted to the exit for each stream, in bytes (default 64 KiB). */
  readonly window?: number;
  /**
   * Query parameter holding the last event id for clients that cannot send `Last-Event-ID`
   * (default `lastEventId`); `false` reads no query parameter.
   */
  readonly lastEventIdQuery?: string | false;
  /** Reconnection delay sent to every client when its stream opens (`retry:`, ms); none by default. */
  readonly retryMs?: number;
}

export const DEFAULTS = {
  heartbeatMs: 15_000,
  maxLagBytes: 1_048_576,
  window: 65_536,
  lastEventIdQuery: 'lastEventId',
} as const;

/** One `when` entry: the request path. */
export interface SseWhen {
  /** The path (query excluded); `{name}` captures one segment into `${params.name}`. */
  readonly path: string;
}

export const optionsSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  description: 'A Server-Sent Events server behind an `http` server binding.',
  properties: {
    heartbeatMs: {
      type: 'integer',
      minimum: 0,
      maximum: 2_147_483_647,
      default: DEFAULTS.heartbeatMs,
      description: 'A `:` comment line is sent on every stream this often (ms); 0 sends none.',
    },
    maxLagBytes: {
      type: 'integer',
      minimum: 1,
      default: DEFAULTS.maxLagBytes,
      description:
        "Bytes of events a client's connection may leave waiting; beyond that the stream closes and the client resumes.",
    },
    window: {
      type: 'integer',
      minimum: 1,
      default: DEFAULTS.window,
      description: 'Credit granted to the exit for each stream, in bytes.',
    },
    retryMs: {
      type: 'integer',
      minimum: 0,
      maximum: 2_147_483_647,
      description: 'Reconnection delay (ms) sent to every client as `retry:` when its stream opens.',
    },
    lastEventIdQuery: {
      anyOf: [{ type: 'string', minLength: 1, pattern: '^[A-Za-z0-9._~-]+$' }, { const: false }],
      default: DEFAULTS.lastEventIdQuery,
      description:
        'Query parameter holding the last event id when the `Last-Event-ID` header is absent; `false` for none.',
    },
  },
};

export const whenSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['path'],
  properties: {
    path: {
      type: 'string',
      pattern: '^/',
      description: 'Request path without query; `{name}` captures one segment into `${params.name}`.',
    },
  },
};

/** Cross-field rules the schema cannot express: placeholders must be unique within a path. */
export function validate(config: BindingConfig<SseOptions, SseWhen>): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  config.routes.forEach((route, index) =>
    route.when.forEach((when, w) => {
      const seen = new Set<string>();
      for (const m of when.path.matchAll(/\{(\w+)\}/g)) {
        if (seen.has(m[1]!))
          issues.push({
            code: 'TRIB_CONFIG_INVALID_VALUE',
            message: `path placeholder {${m[1]!}} appears twice`,
            pointer: `/bindings/${config.name}/routes/${index}/when/${w}/path`,
          });
        seen.add(m[1]!);
      }
    }),
  );
  return issues;
}

/** The route matcher for one request path. */
export function matcher(path: string): (when: SseWhen) => RouteParams | undefined {
  return (when) => compilePathPattern(when.path)(path);
}
