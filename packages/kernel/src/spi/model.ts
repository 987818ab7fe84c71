/**
 * Models validate message payloads and convert between the edge format (usually JSON) and the
 * Kafka format (Avro, Protobuf, JSON). A model is configured inline where a binding needs one
 * (e.g. `value: { model: avro, catalog: { registry: [{ subject: items-value }] } }`); the
 * binding asks the kernel for a handler with `ctx.model(config)`.
 *
 * `start` is async (it resolves schemas through catalogs); `validate`, `encode` and `decode` are
 * synchronous and use only cached schemas. Failures are values carrying a JSON pointer to the
 * offending field where one exists.
 *
 * @module
 */
import type { ConfigIssue } from './config.ts';
import type { PluginContext } from './context.ts';
import type { JsonSchema } from './schema.ts';
import type { CatalogHandler } from './catalog.ts';

/** Inline model configuration; `model` is the model type (e.g. `json`, `avro`). */
export interface ModelConfig {
  readonly model: string;
  readonly [option: string]: unknown;
}

export interface ModelFailure {
  readonly code: string;
  readonly message: string;
  /** JSON pointer into the payload, when the failure concerns one field. */
  readonly pointer?: string;
}

export type ModelResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly failure: ModelFailure };

export interface ModelHandler {
  start?(): Promise<void>;
  /** Validates a payload in the Kafka format. */
  validate(payload: Uint8Array): ModelResult<void>;
  /** Edge format → Kafka format (validating on the way). Absent when the model does not convert. */
  encode?(payload: Uint8Array): ModelResult<Uint8Array>;
  /** Kafka format → edge format. */
  decode?(payload: Uint8Array): ModelResult<Uint8Array>;
  /** The content type of the edge format, e.g. `application/json`. */
  readonly contentType?: string;
}

export interface ModelContext extends PluginContext {
  /** A configured catalog by name; undefined when the name is unknown. */
  catalog(name: string): CatalogHandler | undefined;
}

export interface ModelFactory<Config extends ModelConfig = ModelConfig> {
  /** JSON Schema of the inline model object (including its `model` const). */
  readonly schema?: JsonSchema;
  validate?(config: Config, pointer: string): readonly ConfigIssue[];
  create(ctx: ModelContext, config: Config): ModelHandler;
}
