/**
 * Options of `kafka` bindings of kind `client`, as written in the configuration (after schema
 * validation), and the same with every default filled in.
 *
 * @module
 */
import type { KafkaAcks, KafkaIsolation } from '../index.ts';

export type KafkaSaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512' | 'oauthbearer';

export type KafkaCompression = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

/**
 * Where a piece of TLS material (PEM) comes from: a file (relative paths are resolved from the
 * configuration file's directory) or an alias in the binding's `vault`. Exactly one of the two.
 */
export type KafkaTlsSource = { readonly file: string } | { readonly vault: string };

/**
 * OAUTHBEARER tokens from an OAuth 2.0 authorization server, with the client credentials grant
 * (RFC 6749 §4.4). See `client/oauth.ts`.
 */
export interface KafkaOAuthOptions {
  /** The token endpoint, `https://…` (or `http://` for a server on the same host). */
  readonly tokenEndpoint: string;
  readonly clientId: string;
  /** Use `${{ env.… }}`; never logged. */
  readonly clientSecret: string;
  /** How the client authenticates: HTTP Basic (`client_secret_basic`, default) or in the body. */
  readonly clientAuth?: 'basic' | 'post';
  /** Space-separated scopes to ask for. */
  readonly scope?: string;
  /** `audience` parameter of the request (as Auth0, Okta and Keycloak understand it). */
  readonly audience?: string;
  /**
   * Fetch a new token this long before the current one expires; the default is 20 % of the
   * token's lifetime, at most 60 s. Never more than half the lifetime.
   */
  readonly refreshBeforeExpirySeconds?: number;
  /** Trust for an `https` token endpoint; the system CAs when omitted. */
  readonly tls?: { readonly ca?: KafkaTlsSource };
}

export interface KafkaSaslOptions {
  readonly mechanism: KafkaSaslMechanism;
  /** PLAIN and SCRAM. */
  readonly username?: string;
  /** PLAIN and SCRAM. */
  readonly password?: string;
  /** OAUTHBEARER: a static bearer token. One of `token`, `oauth`, `guard`. */
  readonly token?: string;
  /** OAUTHBEARER: tokens from an OAuth 2.0 client credentials grant, refreshed. */
  readonly oauth?: KafkaOAuthOptions;
  /** OAUTHBEARER: tokens lent by this guard (`GuardHandler.credentials`). */
  readonly guard?: string;
}

export interface KafkaTlsOptions {
  /** Trusted CA certificates; the system's when omitted. */
  readonly ca?: KafkaTlsSource;
  /** Client certificate chain (mutual TLS); needs `key`. */
  readonly cert?: KafkaTlsSource;
  /** Private key of `cert`. */
  readonly key?: KafkaTlsSource;
  /** Server name for SNI and certificate verification; the broker's host when omitted. */
  readonly servername?: string;
}

export interface KafkaProduceOptions {
  readonly acks?: KafkaAcks;
  readonly idempotent?: boolean;
  readonly compression?: KafkaCompression;
  readonly timeoutMs?: number;
  readonly lingerMs?: number;
  readonly maxBatchRecords?: number;
  readonly windowBytes?: number;
  readonly maxRecordBytes?: number;
}

export interface KafkaFetchOptions {
  readonly maxWaitMs?: number;
  readonly maxBytes?: number;
  readonly partitionMaxBytes?: number;
  readonly isolation?: KafkaIsolation;
}

/** Consumer group timings of `group` streams. */
export interface KafkaGroupOptions {
  /** A member that sends no heartbeat for this long is dropped from the group. */
  readonly sessionTimeoutMs?: number;
  /** How long the group waits for members to rejoin during a rebalance (≥ the session timeout). */
  readonly rebalanceTimeoutMs?: number;
  /** How often members heartbeat (≤ a third of the session timeout is usual). */
  readonly heartbeatIntervalMs?: number;
}

/** `options` of a `kafka` binding of kind `client`. */
export interface KafkaClientOptions {
  readonly servers: readonly string[];
  readonly clientId?: string;
  readonly connectTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
  readonly retries?: number;
  readonly retryDelayMs?: number;
  readonly retryDelayMaxMs?: number;
  readonly metadataMaxAgeMs?: number;
  readonly sasl?: KafkaSaslOptions;
  readonly tls?: KafkaTlsOptions;
  readonly produce?: KafkaProduceOptions;
  readonly fetch?: KafkaFetchOptions;
  readonly group?: KafkaGroupOptions;
  readonly token?: { readonly key: string };
}

/** The options with their defaults applied (TLS material still unresolved). */
export interface ResolvedClientOptions {
  readonly servers: readonly string[];
  readonly clientId: string;
  readonly connectTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly retries: number;
  readonly retryDelayMs: number;
  readonly retryDelayMaxMs: number;
  readonly metadataMaxAgeMs: number;
  readonly sasl: KafkaSaslOptions | undefined;
  readonly tls: KafkaTlsOptions | undefined;
  readonly produce: Required<KafkaProduceOptions>;
  readonly fetch: Required<KafkaFetchOptions>;
  readonly group: Required<KafkaGroupOptions>;
  /** `token.key` as UTF-8 bytes. */
  readonly tokenKey: Uint8Array | undefined;
}

export const CLIENT_DEFAULTS = {
  clientId: 'tributary',
  connectTimeoutMs: 5_000,
  requestTimeoutMs: 30_000,
  retries: 5,
  retryDelayMs: 100,
  retryDelayMaxMs: 5_000,
  metadataMaxAgeMs: 30_000,
  produce: {
    acks: 'all',
    idempotent: false,
    compression: 'none',
    timeoutMs: 30_000,
    lingerMs: 0,
    maxBatchRecords: 500,
    windowBytes: 1_048_576,
    maxRecordBytes: 1_048_576,
  },
  group: {
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 10_000,
    heartbeatIntervalMs: 1_000,
  },
  fetch: {
    maxWaitMs: 500,
    maxBytes: 1_048_576,
    partitionMaxBytes: 1_048_576,
    isolation: 'read_uncommitted',
  },
} as const satisfies Omit<ResolvedClientOptions, 'servers' | 'sasl' | 'tls' | 'tokenKey'>;

export function resolveClientOptions(options: KafkaClientOptions): ResolvedClientOptions {
  return {
    servers: options.servers,
    clientId: options.clientId ?? CLIENT_DEFAULTS.clientId,
    connectTimeoutMs: options.connectTimeoutMs ?? CLIENT_DEFAULTS.connectTimeoutMs,
    requestTimeoutMs: options.requestTimeoutMs ?? CLIENT_DEFAULTS.requestTimeoutMs,
    retries: options.retries ?? CLIENT_DEFAULTS.retries,
    retryDelayMs: options.retryDelayMs ?? CLIENT_DEFAULTS.retryDelayMs,
    retryDelayMaxMs: options.retryDelayMaxMs ?? CLIENT_DEFAULTS.retryDelayMaxMs,
    metadataMaxAgeMs: options.metadataMaxAgeMs ?? CLIENT_DEFAULTS.metadataMaxAgeMs,
    sasl: options.sasl,
    tls: options.tls,
    produce: { ...CLIENT_DEFAULTS.produce, ...options.produce },
    fetch: { ...CLIENT_DEFAULTS.fetch, ...options.fetch },
    group: { ...CLIENT_DEFAULTS.group, ...options.group },
    tokenKey: options.token === undefined ? undefined : new TextEncoder().encode(options.token.key),
  };
}

/**
 * The wait before retry number `attempt` (1-based): `retryDelayMs` doubling each time, capped
 * at `retryDelayMaxMs`, with ±20 % jitter so that many streams do not retry in lockstep.
 */
export function backoff(
  options: Pick<ResolvedClientOptions, 'retryDelayMs' | 'retryDelayMaxMs'>,
  attempt: number,
  random: () => number = Math.random,
): number {
  const base = Math.min(options.retryDelayMaxMs, options.retryDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.max(1, Math.round(base * (0.8 + 0.4 * random())));
}
