/**
 * Catalogs hold schemas (Avro, Protobuf, JSON Schema, AsyncAPI…) that models validate and
 * convert with. Fetching is async ({@link CatalogHandler.resolve}); the data path only uses the
 * synchronous cache ({@link CatalogHandler.lookup}). Failures are values.
 *
 * Implementations cache with a max age, share one in-flight request between concurrent callers,
 * keep serving the last good value when a refresh fails, back off exponentially, and emit one
 * event when they fail and one when they recover.
 *
 * @module
 */
import type { ConfigIssue, CatalogConfig } from './config.ts';
import type { PluginContext } from './context.ts';
import type { JsonSchema } from './schema.ts';

/** A schema reference: by registry id, or by subject and version (`latest` when omitted). */
export type SchemaRef =
  { readonly id: number } | { readonly subject: string; readonly version?: number | 'latest' };

export interface SchemaRecord {
  readonly id: number;
  readonly subject?: string;
  readonly version?: number;
  /** e.g. `avro`, `protobuf`, `json`, `asyncapi`. */
  readonly format: string;
  readonly text: string;
}

export interface CatalogFailure {
  readonly code: string;
  readonly message: string;
  /** True when the failure may pass (registry unreachable) rather than being definitive. */
  readonly transient: boolean;
}

export type CatalogResult =
  | { readonly ok: true; readonly schema: SchemaRecord }
  | { readonly ok: false; readonly failure: CatalogFailure };

export interface CatalogHandler {
  /** Prefetches configured subjects; may hold back readiness. */
  start?(): Promise<void>;
  stop?(): Promise<void>;
  /** Fetches (or returns the cached) schema. Never rejects. */
  resolve(ref: SchemaRef): Promise<CatalogResult>;
  /** Cache-only lookup for the data path; undefined when not cached. */
  lookup(ref: SchemaRef): SchemaRecord | undefined;
  /** Registers a schema under a subject, returning the stored record. Never rejects. */
  register?(subject: string, format: string, text: string): Promise<CatalogResult>;
  /**
   * Frames a payload with the schema id the way this registry's serializers do (e.g. the
   * Confluent magic byte and 4-byte id) and reverses it. Absent when the catalog has no wire
   * framing.
   */
  frame?(id: number, payload: Uint8Array): Uint8Array;
  unframe?(bytes: Uint8Array): { readonly id: number; readonly payload: Uint8Array } | undefined;
}

export interface CatalogFactory<Options = unknown> {
  readonly schema?: JsonSchema;
  validate?(config: CatalogConfig<Options>): readonly ConfigIssue[];
  create(ctx: PluginContext, config: CatalogConfig<Options>): CatalogHandler | Promise<CatalogHandler>;
}
