/**
 * Configuration of `type: sse-kafka` bindings: option, `when` and `with` types, their JSON Schema
 * fragments (the kernel composes them into the configuration schema) and the route matcher.
 */
import {
  compilePathPattern,
  type BindingConfig,
  type ConfigIssue,
  type JsonSchema,
  type RouteParams,
} from '@tributary/kernel';

/** `bindings.<name>.options` of an `sse-kafka` proxy. All optional. */
export interface SseKafkaOptions {
  /** Event type of a tombstone, whose data is the record key (default `delete`). */
  readonly deleteEvent?: string;
  /** `Retry-After` sent with 503 when Kafka does not suggest one (seconds, default 5). */
  readonly retryAfterSeconds?: number;
  /** Credit granted to the Kafka fetch of each stream, in bytes (default 64 KiB). */
  readonly window?: number;
}

export const DEFAULTS = {
  deleteEvent: 'delete',
  retryAfterSeconds: 5,
  window: 65_536,
} as const;

/** One `when` entry: the event-stream path. */
export interface SseKafkaWhen {
  /** The path (query excluded); `{name}` captures one segment into `${params.name}`. */
  readonly path: string;
}

/** One filter: all its conditions must hold; any filter of the list may match. */
export interface SseKafkaFilter {
  /** The record key (UTF-8); may hold templates. */
  readonly key?: string;
  /** Headers the record must carry with exactly these values (UTF-8); values may hold templates. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** `with` of a route: which records become events, and how. */
export interface SseKafkaWith {
  /** The topic; may hold templates. */
  readonly topic: string;
  /** Which records are sent; every record of the topic when omitted. */
  readonly filters?: readonly SseKafkaFilter[];
  /** The event type, from a record header when the record has it (`message` otherwise). */
  readonly event?: { readonly header: string };
  /**
   * Where a client without a last event id starts. Default: the Kafka cache's choice for the
   * topic — `historical` on compacted topics (the latest value per key, then live records),
   * `live` otherwise, unless the cache's topic settings say else.
   */
  readonly start?: 'historical' | 'live';
}

export const optionsSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    deleteEvent: {
      type: 'string',
      minLength: 1,
      pattern: '^[^\\r\\n]+$',
      default: DEFAULTS.deleteEvent,
      description: 'Event type of tombstones; their data is the record key.',
    },
    retryAfterSeconds: {
      type: 'integer',
      minimum: 0,
      default: DEFAULTS.retryAfterSeconds,
      description: '`Retry-After` sent with 503 when Kafka suggests no wait of its own.',
    },
    window: {
      type: 'integer',
      minimum: 1,
      default: DEFAULTS.window,
      description: 'Credit granted to the Kafka fetch of each stream, in bytes.',
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
      description: 'Event-stream path without query; `{name}` captures one segment into `${params.name}`.',
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
      minProperties: 1,
      description: 'Header name → exact value (UTF-8); values may hold templates.',
    },
  },
};

export const withSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['topic'],
  properties: {
    topic: { type: 'string', minLength: 1, maxLength: 249, description: 'Kafka topic; may hold templates.' },
    filters: {
      type: 'array',
      minItems: 1,
      items: filterSchema,
      description: 'Records matching any filter become events; all records when omitted.',
    },
    start: {
      enum: ['historical', 'live'],
      description:
        "Where a client without a last event id starts; default: the Kafka cache's choice (historical on compacted topics).",
    },
    event: {
      type: 'object',
      additionalProperties: false,
      required: ['header'],
      properties: {
        header: { type: 'string', minLength: 1, description: 'Record header holding the event type.' },
      },
    },
  },
};

/** Cross-field rules the schema cannot express. */
export function validate(config: BindingConfig<SseKafkaOptions, SseKafkaWhen, SseKafkaWith>): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  config.routes.forEach((route, index) => {
    const pointer = `/bindings/${config.name}/routes/${index}`;
    if (route.with === undefined)
      issues.push({
        code: 'TRIB_CONFIG_INVALID_VALUE',
        message: `sse-kafka route ${index} of "${config.name}" needs \`with\` (at least the topic)`,
        pointer,
      });
    route.when.forEach((when, w) => {
      const seen = new Set<string>();
      for (const m of when.path.matchAll(/\{(\w+)\}/g)) {
        if (seen.has(m[1]!))
          issues.push({
            code: 'TRIB_CONFIG_INVALID_VALUE',
            message: `path placeholder {${m[1]!}} appears twice`,
            pointer: `${pointer}/when/${w}/path`,
          });
        seen.add(m[1]!);
      }
    });
  });
  return issues;
}

/** The route matcher for one event-stream path. */
export function matcher(path: string): (when: SseKafkaWhen) => RouteParams | undefined {
  return (when) => compilePathPattern(when.path)(path);
}
