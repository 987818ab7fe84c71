import type { JsonSchema } from '@tributary/kernel';

/** Options of a `kafka` binding of kind `cache`. */
export interface KafkaCacheOptions {
  /** Topics fetched at start, before any client asks; readiness waits until they caught up. */
  readonly bootstrap?: readonly string[];
  /** Per-topic settings. */
  readonly topics?: readonly { readonly name: string; readonly defaultOffset?: 'historical' | 'live' }[];
  readonly memory?: {
    /** Bytes of records the cache may hold across all topics (default 256 MiB). */
    readonly budgetBytes?: number;
    /** Bytes a live subscriber may hold back before it falls back to replay (default 256 KiB). */
    readonly subscriberBacklogBytes?: number;
  };
  /** Signs progress tokens (HMAC-SHA256) so clients cannot forge positions. */
  readonly token?: { readonly key?: string };
  /** Credit granted to each upstream fetch (default 4 MiB). */
  readonly window?: number;
  /** Wait before re-opening a failed upstream fetch (default 1000 ms). */
  readonly reconnectMs?: number;
}

export const cacheOptionsSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    bootstrap: {
      type: 'array',
      items: { type: 'string', minLength: 1 },
      uniqueItems: true,
      description: 'Topics fetched at start; the gateway is ready once they have caught up.',
    },
    topics: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name'],
        properties: {
          name: { type: 'string', minLength: 1 },
          defaultOffset: {
            enum: ['historical', 'live'],
            description:
              'Where a subscriber without a token starts; default historical for compacted topics, live otherwise.',
          },
        },
      },
    },
    memory: {
      type: 'object',
      additionalProperties: false,
      properties: {
        budgetBytes: {
          type: 'integer',
          minimum: 1048576,
          description: 'Bytes of records held across topics.',
        },
        subscriberBacklogBytes: {
          type: 'integer',
          minimum: 1024,
          description: 'Bytes a slow live subscriber may hold back before it replays from the log.',
        },
      },
    },
    token: {
      type: 'object',
      additionalProperties: false,
      properties: {
        key: {
          type: 'string',
          minLength: 32,
          description: 'HMAC key (at least 32 characters) signing progress tokens; use ${{ env.NAME }}.',
        },
      },
    },
    window: { type: 'integer', minimum: 65536, description: 'Credit granted to each upstream fetch.' },
    reconnectMs: {
      type: 'integer',
      minimum: 10,
      description: 'Wait before re-opening a failed upstream fetch.',
    },
  },
};
