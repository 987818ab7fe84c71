/**
 * JSON Schema fragment for the `options` of `kafka` bindings of kind `client`. The kernel
 * composes it into the configuration schema (docs/adr/0004-schema-authoring.md); the
 * cross-field rules it cannot express are in `validate.ts`.
 *
 * @module
 */
import type { JsonSchema } from '@tributary/kernel';
import { CLIENT_DEFAULTS } from './options.ts';

const milliseconds = (description: string, minimum: number, defaultValue?: number): JsonSchema => ({
  type: 'integer',
  minimum,
  maximum: 2_147_483_647,
  description,
  ...(defaultValue === undefined ? {} : { default: defaultValue }),
});

const tlsSource = (what: string, vaultKind: string): JsonSchema => ({
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  maxProperties: 1,
  description:
    `${what}, as PEM: either \`file\` (a path, relative to the configuration file) or \`vault\` ` +
    `(an alias among the ${vaultKind} of the binding's \`vault\`). Exactly one of the two.`,
  properties: {
    file: { type: 'string', minLength: 1, description: `PEM file holding the ${what.toLowerCase()}.` },
    vault: {
      type: 'string',
      minLength: 1,
      description: `Alias of the ${what.toLowerCase()} among the ${vaultKind} of the binding's vault.`,
    },
  },
});

/** `host:port`, with a bracketed IPv6 address allowed. */
const SERVER = '^(\\[[0-9A-Fa-f:.]+\\]|[^\\s:/\\[\\]]+):([1-9][0-9]{0,4})$';

export const clientOptionsSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['servers'],
  description: 'A Kafka client: produce, fetch, metadata and topic configuration.',
  properties: {
    servers: {
      type: 'array',
      minItems: 1,
      items: { type: 'string', pattern: SERVER, description: 'A bootstrap broker, `host:port`.' },
      description:
        'Bootstrap brokers, `host:port` each. The binding learns the rest of the cluster from them. ' +
        'Typically `["${{ env.KAFKA_BOOTSTRAP }}"]`.',
    },
    clientId: {
      type: 'string',
      pattern: '^[A-Za-z0-9._-]+$',
      maxLength: 255,
      description: 'Client id sent to the brokers (quotas, broker logs).',
      default: CLIENT_DEFAULTS.clientId,
    },
    connectTimeoutMs: milliseconds(
      'How long one connection attempt (TCP, TLS and SASL) may take.',
      100,
      CLIENT_DEFAULTS.connectTimeoutMs,
    ),
    requestTimeoutMs: milliseconds(
      'How long a request may wait for its response. Also the longest Kafka may stay unreachable ' +
        'before a fetch, meta or describe stream is aborted with reason `unavailable`.',
      100,
      CLIENT_DEFAULTS.requestTimeoutMs,
    ),
    retries: {
      type: 'integer',
      minimum: 0,
      maximum: 100,
      description:
        'How many times a failed produce, metadata or offset request is retried before it fails ' +
        '(fetch streams retry on their own until `requestTimeoutMs`).',
      default: CLIENT_DEFAULTS.retries,
    },
    retryDelayMs: milliseconds(
      'Wait before the first retry or reconnection; doubles on every attempt, up to `retryDelayMaxMs`.',
      1,
      CLIENT_DEFAULTS.retryDelayMs,
    ),
    retryDelayMaxMs: milliseconds(
      'Longest wait between retries and reconnection attempts.',
      1,
      CLIENT_DEFAULTS.retryDelayMaxMs,
    ),
    metadataMaxAgeMs: milliseconds(
      'How often topic metadata is refreshed: new partitions and leader changes are noticed ' +
        'within this time (at once on a NOT_LEADER or UNKNOWN_TOPIC_OR_PARTITION error).',
      100,
      CLIENT_DEFAULTS.metadataMaxAgeMs,
    ),
    sasl: {
      type: 'object',
      additionalProperties: false,
      required: ['mechanism'],
      description:
        'SASL authentication. Put secrets in the environment: `password: ${{ env.KAFKA_PASSWORD }}`.',
      properties: {
        mechanism: {
          enum: ['plain', 'scram-sha-256', 'scram-sha-512', 'oauthbearer'],
          description:
            'SASL mechanism. `oauthbearer` takes exactly one of `token` (static), `oauth` (client ' +
            'credentials, refreshed) or `guard` (a token lent by a guard).',
        },
        username: { type: 'string', minLength: 1, description: 'User name (PLAIN and SCRAM).' },
        password: { type: 'string', minLength: 1, description: 'Password (PLAIN and SCRAM).' },
        token: {
          type: 'string',
          minLength: 1,
          description: 'Bearer token (OAUTHBEARER), sent as it is; it is not refreshed.',
        },
        oauth: {
          type: 'object',
          additionalProperties: false,
          required: ['tokenEndpoint', 'clientId', 'clientSecret'],
          description:
            'OAUTHBEARER tokens from an OAuth 2.0 client credentials grant (RFC 6749 §4.4), cached ' +
            'and refreshed before they expire.',
          properties: {
            tokenEndpoint: {
              type: 'string',
              pattern: '^https?://',
              description: 'Token endpoint URL of the authorization server.',
            },
            clientId: { type: 'string', minLength: 1, description: 'OAuth client id.' },
            clientSecret: {
              type: 'string',
              minLength: 1,
              description: 'OAuth client secret; use `${{ env.OAUTH_CLIENT_SECRET }}`. Never logged.',
            },
            clientAuth: {
              enum: ['basic', 'post'],
              default: 'basic',
              description:
                'Client authentication: HTTP Basic (`client_secret_basic`) or form fields ' +
                '(`client_secret_post`).',
            },
            scope: { type: 'string', minLength: 1, description: 'Space-separated scopes to ask for.' },
            audience: { type: 'string', minLength: 1, description: '`audience` request parameter.' },
            refreshBeforeExpirySeconds: {
              type: 'integer',
              minimum: 1,
              maximum: 86_400,
              description:
                'Fetch a new token this long before the current one expires (at most half its ' +
                'lifetime). Default: 20 % of the lifetime, at most 60 s.',
            },
            tls: {
              type: 'object',
              additionalProperties: false,
              description: 'Trust for an https token endpoint.',
              properties: { ca: tlsSource('Trusted CA certificates', 'trust anchors') },
            },
          },
        },
        guard: {
          type: 'string',
          minLength: 1,
          description:
            'Name of a guard (under `guards`) that lends OAUTHBEARER tokens; asked for every ' +
            'connection and re-authentication.',
        },
      },
      allOf: [
        {
          if: { properties: { mechanism: { enum: ['plain', 'scram-sha-256', 'scram-sha-512'] } } },
          then: { required: ['username', 'password'] },
        },
      ],
    },
    tls: {
      type: 'object',
      additionalProperties: false,
      description:
        'Connect with TLS. The broker certificate is always verified, against `ca` when given, ' +
        'else against the system CAs. `tls: {}` enables TLS with the system CAs.',
      properties: {
        ca: tlsSource('Trusted CA certificates', 'trust anchors'),
        cert: tlsSource('Client certificate chain (mutual TLS)', 'certificates'),
        key: tlsSource('Private key of the client certificate', 'keys'),
        servername: {
          type: 'string',
          minLength: 1,
          description: 'Server name for SNI and certificate verification; the broker host when omitted.',
        },
      },
      dependentRequired: { cert: ['key'], key: ['cert'] },
    },
    produce: {
      type: 'object',
      additionalProperties: false,
      description: 'How produce streams write records.',
      properties: {
        acks: {
          enum: ['none', 'leader', 'all'],
          description: 'Acknowledgement level when a stream does not ask for one.',
          default: CLIENT_DEFAULTS.produce.acks,
        },
        idempotent: {
          type: 'boolean',
          description:
            'Use the idempotent producer for `acks: all` (no duplicates from retries). Streams ' +
            'asking for less than `all` use a plain producer.',
          default: CLIENT_DEFAULTS.produce.idempotent,
        },
        compression: {
          enum: ['none', 'gzip', 'snappy', 'lz4', 'zstd'],
          description: 'Compression of record batches.',
          default: CLIENT_DEFAULTS.produce.compression,
        },
        timeoutMs: milliseconds(
          'How long a record may wait for its acknowledgement before it is nacked (a stream may ask for less).',
          1,
          CLIENT_DEFAULTS.produce.timeoutMs,
        ),
        lingerMs: milliseconds(
          'How long to wait for more records before sending a batch (0: records of the same tick).',
          0,
          CLIENT_DEFAULTS.produce.lingerMs,
        ),
        maxBatchRecords: {
          type: 'integer',
          minimum: 1,
          maximum: 100_000,
          description: 'Most records one produce request carries for one stream.',
          default: CLIENT_DEFAULTS.produce.maxBatchRecords,
        },
        windowBytes: {
          type: 'integer',
          minimum: 1,
          maximum: 1_073_741_824,
          description:
            'Credit granted to each produce stream: the bytes of records it may have waiting for ' +
            'acknowledgement. A slow broker stalls the producer once this is used up.',
          default: CLIENT_DEFAULTS.produce.windowBytes,
        },
        maxRecordBytes: {
          type: 'integer',
          minimum: 1,
          maximum: 1_073_741_824,
          description:
            'Largest record value accepted; larger ones are nacked with `invalid-record` without ' +
            'being sent (keep it at or below the topic’s `max.message.bytes`).',
          default: CLIENT_DEFAULTS.produce.maxRecordBytes,
        },
      },
    },
    fetch: {
      type: 'object',
      additionalProperties: false,
      description: 'How fetch streams read records.',
      properties: {
        maxWaitMs: milliseconds(
          'How long the broker may hold a fetch while no new records arrive (long poll).',
          0,
          CLIENT_DEFAULTS.fetch.maxWaitMs,
        ),
        maxBytes: {
          type: 'integer',
          minimum: 1,
          maximum: 2_147_483_647,
          description:
            'Most bytes one fetch response may carry; also what a stream holds at most while its ' +
            'consumer grants no credit.',
          default: CLIENT_DEFAULTS.fetch.maxBytes,
        },
        partitionMaxBytes: {
          type: 'integer',
          minimum: 1,
          maximum: 2_147_483_647,
          description: 'Most bytes one fetch response may carry for one partition.',
          default: CLIENT_DEFAULTS.fetch.partitionMaxBytes,
        },
        isolation: {
          enum: ['read_uncommitted', 'read_committed'],
          description:
            'Isolation when a stream does not ask for one: `read_committed` hides records of open ' +
            'and aborted transactions.',
          default: CLIENT_DEFAULTS.fetch.isolation,
        },
      },
    },
    group: {
      type: 'object',
      additionalProperties: false,
      description: 'Consumer group timings of `group` streams.',
      properties: {
        sessionTimeoutMs: milliseconds(
          'A member that sends no heartbeat for this long is dropped from the group.',
          1,
          CLIENT_DEFAULTS.group.sessionTimeoutMs,
        ),
        rebalanceTimeoutMs: milliseconds(
          'How long the group waits for members to rejoin during a rebalance (at least sessionTimeoutMs).',
          1,
          CLIENT_DEFAULTS.group.rebalanceTimeoutMs,
        ),
        heartbeatIntervalMs: milliseconds(
          'How often members heartbeat (at most sessionTimeoutMs; a third of it is usual).',
          1,
          CLIENT_DEFAULTS.group.heartbeatIntervalMs,
        ),
      },
    },
    token: {
      type: 'object',
      additionalProperties: false,
      required: ['key'],
      description: 'Progress tokens handed out on fetched records.',
      properties: {
        key: {
          type: 'string',
          minLength: 16,
          description:
            'Secret that signs progress tokens (HMAC-SHA256); tokens not signed with it are refused ' +
            'with `invalid-token`. Every instance of a deployment needs the same key. Use ' +
            '`${{ env.TOKEN_KEY }}`.',
        },
      },
    },
  },
};
