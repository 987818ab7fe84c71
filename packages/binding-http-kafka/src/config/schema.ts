/**
 * Configuration of `type: http-kafka` bindings: option, `when` and `with` types, their JSON Schema
 * fragments (the kernel composes them into the configuration schema), the cross-field checks and
 * the route condition matcher.
 */
import {
  compilePathPattern,
  type BindingConfig,
  type ConfigIssue,
  type JsonSchema,
  type RouteParams,
  type PathMatcher,
} from '@tributary/kernel';

/** `bindings.<name>.options` of an `http-kafka` proxy. All optional. */
export interface HttpKafkaOptions {
  /** Largest request body accepted, in bytes (default 8 MiB); larger bodies get 413. */
  readonly maxBodyBytes?: number;
  /** Request header holding the idempotency key (default `idempotency-key`). */
  readonly idempotencyKey?: string;
  /** Names of the Kafka headers the binding adds to request-reply records. */
  readonly headers?: {
    /** Default `tributary:correlation-id`. */
    readonly correlationId?: string;
    /** Default `tributary:reply-to`. */
    readonly replyTo?: string;
  };
  /**
   * Request headers never copied into Kafka records of request-reply routes (credentials and
   * cookies by default; lower case). Pseudo-headers are always copied.
   */
  readonly excludeHeaders?: readonly string[];
  /** How long a synchronous request-reply waits for its reply before 504 (ms, default 60 s). */
  readonly replyTimeoutMs?: number;
  /** Longest `Prefer: wait=N` honoured, in seconds (default 300); longer waits are capped. */
  readonly maxWaitSeconds?: number;
  /** `Retry-After` sent with 503 when Kafka does not suggest one (seconds, default 5). */
  readonly retryAfterSeconds?: number;
}

export const DEFAULTS = {
  maxBodyBytes: 8 * 1024 * 1024,
  idempotencyKey: 'idempotency-key',
  correlationId: 'tributary:correlation-id',
  replyTo: 'tributary:reply-to',
  excludeHeaders: ['authorization', 'proxy-authorization', 'cookie', 'set-cookie'],
  replyTimeoutMs: 60_000,
  maxWaitSeconds: 300,
  retryAfterSeconds: 5,
} as const;

/** One `when` entry: the request's method and path. */
export interface HttpKafkaWhen {
  /** HTTP method, upper case; any method when omitted. */
  readonly method?: string;
  /**
   * The path (query excluded), with `{name}` placeholders capturing one segment each
   * (`/items/{id}`, `/items/{id};cid={correlationId}`).
   */
  readonly path: string;
}

/** One filter of a fetch route: all its conditions must hold; any filter of the list may match. */
export interface HttpKafkaFilter {
  /** The record key (UTF-8). */
  readonly key?: string;
  /** Headers the record must carry with exactly these values (UTF-8). */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface HttpKafkaProduceWith {
  readonly capability: 'produce';
  readonly topic: string;
  /** Record key, usually a template (`${params.id}`, `${idempotencyKey}`); null key when omitted. */
  readonly key?: string;
  /** Default `all`. */
  readonly acks?: 'none' | 'leader' | 'all';
  /** Extra Kafka headers on every record of the route (values may be templates). */
  readonly overrides?: Readonly<Record<string, string>>;
  /** Request-reply: the topic replies arrive on. */
  readonly replyTo?: string;
  /** Request-reply, asynchronous when the client sends `Prefer: respond-async`. */
  readonly async?: {
    /** Where the client polls for the reply; `${correlationId}` and route templates allowed. */
    readonly location: string;
  };
}

export interface HttpKafkaFetchWith {
  readonly capability: 'fetch';
  readonly topic: string;
  /** Which records answer: values may be templates (`${params.id}`, guard identity). */
  readonly filters?: readonly HttpKafkaFilter[];
  /**
   * Answer with every matching record merged into one document instead of a single record.
   * Only `application/json` (a JSON array) is supported.
   */
  readonly merge?: { readonly 'content-type': 'application/json' };
}

export type HttpKafkaWith = HttpKafkaProduceWith | HttpKafkaFetchWith;

const TOPIC: JsonSchema = {
  type: 'string',
  minLength: 1,
  maxLength: 249,
  description: 'Kafka topic; may hold templates.',
};

export const optionsSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    maxBodyBytes: {
      type: 'integer',
      minimum: 0,
      default: DEFAULTS.maxBodyBytes,
      description: 'Largest request body accepted, in bytes; larger bodies are refused with 413.',
    },
    idempotencyKey: {
      type: 'string',
      pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$",
      default: DEFAULTS.idempotencyKey,
      description: 'Request header holding the idempotency key (`${idempotencyKey}` in templates).',
    },
    headers: {
      type: 'object',
      additionalProperties: false,
      description: 'Names of the Kafka headers the binding adds to request-reply records.',
      properties: {
        correlationId: { type: 'string', minLength: 1, default: DEFAULTS.correlationId },
        replyTo: { type: 'string', minLength: 1, default: DEFAULTS.replyTo },
      },
    },
    excludeHeaders: {
      type: 'array',
      items: { type: 'string', minLength: 1 },
      default: [...DEFAULTS.excludeHeaders],
      description: 'Request headers never copied into request-reply records (lower case).',
    },
    replyTimeoutMs: {
      type: 'integer',
      minimum: 1,
      maximum: 2_147_483_647,
      default: DEFAULTS.replyTimeoutMs,
      description: 'How long a synchronous request-reply waits for its reply before 504.',
    },
    maxWaitSeconds: {
      type: 'integer',
      minimum: 0,
      maximum: 86_400,
      default: DEFAULTS.maxWaitSeconds,
      description: 'Longest `Prefer: wait=N` honoured, in seconds.',
    },
    retryAfterSeconds: {
      type: 'integer',
      minimum: 0,
      default: DEFAULTS.retryAfterSeconds,
      description: '`Retry-After` sent with 503 when Kafka suggests no wait of its own.',
    },
  },
};

export const whenSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['path'],
  properties: {
    method: {
      type: 'string',
      pattern: '^[A-Z]+$',
      description: 'HTTP method (upper case); any when omitted.',
    },
    path: {
      type: 'string',
      pattern: '^/',
      description: 'Request path without query; `{name}` captures one segment into `${params.name}`.',
    },
  },
};

const filterSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    key: { type: 'string', description: 'Record key (UTF-8); may hold templates.' },
    headers: {
      type: 'object',
      additionalProperties: { type: 'string' },
      description: 'Header name → exact value (UTF-8); values may hold templates.',
    },
  },
};

export const withSchema: JsonSchema = {
  type: 'object',
  required: ['capability', 'topic'],
  oneOf: [
    {
      type: 'object',
      additionalProperties: false,
      required: ['capability', 'topic'],
      properties: {
        capability: { const: 'produce', description: 'Each request becomes one record.' },
        topic: TOPIC,
        key: { type: 'string', description: 'Record key; usually a template.' },
        acks: { enum: ['none', 'leader', 'all'], default: 'all' },
        overrides: {
          type: 'object',
          additionalProperties: { type: 'string' },
          description: 'Extra Kafka headers on each record; values may hold templates.',
        },
        replyTo: { ...TOPIC, description: 'Request-reply: the topic replies arrive on.' },
        async: {
          type: 'object',
          additionalProperties: false,
          required: ['location'],
          properties: {
            location: {
              type: 'string',
              pattern: '^/',
              description: 'Where to poll for the reply; `${correlationId}` and route templates.',
            },
          },
        },
      },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: ['capability', 'topic'],
      properties: {
        capability: { const: 'fetch', description: 'Requests read records.' },
        topic: TOPIC,
        filters: { type: 'array', minItems: 1, items: filterSchema },
        merge: {
          type: 'object',
          additionalProperties: false,
          required: ['content-type'],
          properties: { 'content-type': { const: 'application/json' } },
        },
      },
    },
  ],
};

/** Cross-field rules the schema cannot express. */
export function validate(
  config: BindingConfig<HttpKafkaOptions, HttpKafkaWhen, HttpKafkaWith>,
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  config.routes.forEach((route, index) => {
    const pointer = `/bindings/${config.name}/routes/${index}`;
    const spec = route.with;
    if (spec === undefined) {
      issues.push({
        code: 'TRIB_CONFIG_INVALID_VALUE',
        message: `http-kafka route ${index} of "${config.name}" needs \`with\` (capability and topic)`,
        pointer,
      });
      return;
    }
    if (spec.capability === 'produce' && spec.async !== undefined && spec.replyTo === undefined) {
      issues.push({
        code: 'TRIB_CONFIG_INVALID_VALUE',
        message: '`async` needs `replyTo`: asynchronous request-reply polls the reply topic',
        pointer: `${pointer}/with/async`,
      });
    }
    route.when.forEach((when, w) => {
      const names = placeholders(when.path);
      const seen = new Set<string>();
      for (const name of names) {
        if (seen.has(name))
          issues.push({
            code: 'TRIB_CONFIG_INVALID_VALUE',
            message: `path placeholder {${name}} appears twice`,
            pointer: `${pointer}/when/${w}/path`,
          });
        seen.add(name);
      }
      if (names.includes('correlationId') && (spec.capability !== 'produce' || spec.replyTo === undefined))
        issues.push({
          code: 'TRIB_CONFIG_INVALID_VALUE',
          message:
            '{correlationId} in a path polls a reply: the route needs `capability: produce` and `replyTo`',
          pointer: `${pointer}/when/${w}/path`,
        });
    });
  });
  return issues;
}

function placeholders(path: string): string[] {
  return [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
}

/**
 * A compiled `when.path`: `{name}` captures one segment, up to `/`, `;` (so that
 * `/items/{id};cid={correlationId}` separates the two) or `?`.
 */
export function compilePath(pattern: string): PathMatcher {
  return compilePathPattern(pattern, '/;?');
}

/** The route matcher for one request. */
export function matcher(method: string, path: string): (when: HttpKafkaWhen) => RouteParams | undefined {
  return (when) => {
    if (when.method !== undefined && when.method !== method) return undefined;
    return compilePath(when.path)(path);
  };
}
