/**
 * Configuration of `type: jwt` guards: the option types, their defaults, their JSON Schema
 * fragment (the kernel composes it into the configuration schema) and the cross-field checks
 * a schema cannot express.
 */
import type { ConfigIssue, GuardConfig, JsonSchema } from '@tributary/kernel';
import { errors } from '../errors.ts';

/**
 * The signature algorithms a `jwt` guard can accept: asymmetric ones only. `none` and the HMAC
 * family (`HS256`…) are never accepted, whatever the configuration says: with an HMAC algorithm
 * a public key turns into a shared secret (RFC 8725 §2.1 and §3.1).
 */
export const ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'EdDSA',
] as const;

export type JwtAlgorithm = (typeof ASYMMETRIC_ALGORITHMS)[number];

/** A public JSON Web Key (RFC 7517 §4): RSA, EC or OKP members; private members are refused. */
export interface JwtPublicKey {
  readonly kty: 'RSA' | 'EC' | 'OKP';
  readonly kid?: string;
  readonly alg?: string;
  readonly use?: string;
  readonly [member: string]: unknown;
}

/** `guards.<name>.options` of a `jwt` guard. */
export interface JwtOptions {
  /** Accepted `iss` values; any issuer when absent. */
  readonly issuer?: string | readonly string[];
  /** Accepted `aud` values (a token must name one of them); any audience when absent. */
  readonly audience?: string | readonly string[];
  /** Inline JWKS. Used together with the keys from `jwksUrl` when both are set. */
  readonly keys?: { readonly keys: readonly JwtPublicKey[] };
  /** Where to fetch the JWKS (`https:`; `http:` for tests and loopback). */
  readonly jwksUrl?: string;
  /** How long a fetched JWKS is fresh, in seconds. */
  readonly maxAgeSeconds?: number;
  /** Least time between two fetches caused by an unknown `kid`, in seconds. */
  readonly cooldownSeconds?: number;
  /** One JWKS request's deadline, in seconds. */
  readonly timeoutSeconds?: number;
  /** First wait before retrying a failed JWKS fetch, in seconds; doubles each failure. */
  readonly retryDelaySeconds?: number;
  /** Longest wait between retries of a failed JWKS fetch, in seconds. */
  readonly retryDelayMaxSeconds?: number;
  /** Accepted `alg` values; a subset of {@link ASYMMETRIC_ALGORITHMS} (the default). */
  readonly algorithms?: readonly JwtAlgorithm[];
  /** Tolerance for `nbf` and `iat` in the future (an issuer's clock ahead of ours), in seconds. */
  readonly clockSkewSeconds?: number;
  /** The claim holding roles: a dotted path to an array, or to a space-separated string. */
  readonly roles?: string;
  /** The claim holding the principal. */
  readonly identity?: string;
  /** Seconds before expiry at which sessions ask for fresh credentials; 0 for never. */
  readonly challenge?: number;
}

const DEFAULTS = {
  maxAgeSeconds: 300,
  cooldownSeconds: 30,
  timeoutSeconds: 5,
  retryDelaySeconds: 1,
  retryDelayMaxSeconds: 60,
  clockSkewSeconds: 30,
  roles: 'scope',
  identity: 'sub',
  challenge: 30,
} as const;

/** Options with every default applied. */
export interface ResolvedJwtOptions {
  readonly issuer: readonly string[] | undefined;
  readonly audience: readonly string[] | undefined;
  readonly keys: readonly JwtPublicKey[];
  readonly jwksUrl: string | undefined;
  readonly maxAgeMs: number;
  readonly cooldownMs: number;
  readonly timeoutMs: number;
  readonly retryDelayMs: number;
  readonly retryDelayMaxMs: number;
  readonly algorithms: readonly JwtAlgorithm[];
  readonly clockSkewSeconds: number;
  readonly roles: string;
  readonly identity: string;
  readonly challengeMs: number;
}

const list = (value: string | readonly string[] | undefined): readonly string[] | undefined =>
  value === undefined ? undefined : typeof value === 'string' ? [value] : value;

export function resolveOptions(options: JwtOptions): ResolvedJwtOptions {
  const allowed = new Set<string>(ASYMMETRIC_ALGORITHMS);
  return {
    issuer: list(options.issuer),
    audience: list(options.audience),
    keys: options.keys?.keys ?? [],
    jwksUrl: options.jwksUrl,
    maxAgeMs: (options.maxAgeSeconds ?? DEFAULTS.maxAgeSeconds) * 1000,
    cooldownMs: (options.cooldownSeconds ?? DEFAULTS.cooldownSeconds) * 1000,
    timeoutMs: (options.timeoutSeconds ?? DEFAULTS.timeoutSeconds) * 1000,
    retryDelayMs: (options.retryDelaySeconds ?? DEFAULTS.retryDelaySeconds) * 1000,
    retryDelayMaxMs: (options.retryDelayMaxSeconds ?? DEFAULTS.retryDelayMaxSeconds) * 1000,
    // Filtered here as well as by the schema: options that reach the guard without the schema
    // (a program embedding the kernel) still cannot enable `none` or HMAC.
    algorithms: (options.algorithms ?? ASYMMETRIC_ALGORITHMS).filter((alg) => allowed.has(alg)),
    clockSkewSeconds: options.clockSkewSeconds ?? DEFAULTS.clockSkewSeconds,
    roles: options.roles ?? DEFAULTS.roles,
    identity: options.identity ?? DEFAULTS.identity,
    challengeMs: (options.challenge ?? DEFAULTS.challenge) * 1000,
  };
}

const stringOrList = (description: string): JsonSchema => ({
  description,
  oneOf: [
    { type: 'string', minLength: 1 },
    { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
  ],
});

const seconds = (description: string, fallback: number, minimum: 'zero' | 'positive'): JsonSchema => ({
  type: 'number',
  ...(minimum === 'zero' ? { minimum: 0 } : { exclusiveMinimum: 0 }),
  description: `${description} (default ${String(fallback)}).`,
});

/** Members of private or symmetric JWKs; none may appear in a guard's verification keys. */
const SECRET_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

const jwkSchema: JsonSchema = {
  type: 'object',
  required: ['kty'],
  description: 'A public JSON Web Key (RSA, EC or OKP).',
  properties: {
    kty: { enum: ['RSA', 'EC', 'OKP'], description: 'Key type; symmetric (oct) keys are refused.' },
    kid: { type: 'string' },
    alg: { enum: [...ASYMMETRIC_ALGORITHMS] },
    use: { const: 'sig' },
  },
  not: { anyOf: SECRET_MEMBERS.map((member) => ({ required: [member] })) },
};

export const optionsSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  anyOf: [{ required: ['keys'] }, { required: ['jwksUrl'] }],
  properties: {
    issuer: stringOrList('Accepted `iss` values; any issuer when absent.'),
    audience: stringOrList('Accepted `aud` values; any audience when absent.'),
    keys: {
      type: 'object',
      additionalProperties: false,
      required: ['keys'],
      description: 'Inline JWKS of verification keys: `{ keys: [...] }`.',
      properties: { keys: { type: 'array', items: jwkSchema } },
    },
    jwksUrl: {
      type: 'string',
      pattern: '^[hH][tT][tT][pP][sS]?://',
      description: 'URL of the JWKS to fetch and cache (https; http for tests).',
    },
    maxAgeSeconds: seconds(
      'How long a fetched JWKS is fresh, in seconds',
      DEFAULTS.maxAgeSeconds,
      'positive',
    ),
    cooldownSeconds: seconds(
      'Least time between fetches caused by an unknown kid, in seconds',
      DEFAULTS.cooldownSeconds,
      'zero',
    ),
    timeoutSeconds: seconds('Deadline of one JWKS request, in seconds', DEFAULTS.timeoutSeconds, 'positive'),
    retryDelaySeconds: seconds(
      'First wait before retrying a failed JWKS fetch, in seconds; doubles each failure',
      DEFAULTS.retryDelaySeconds,
      'positive',
    ),
    retryDelayMaxSeconds: seconds(
      'Longest wait between retries of a failed JWKS fetch, in seconds',
      DEFAULTS.retryDelayMaxSeconds,
      'positive',
    ),
    algorithms: {
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      items: { enum: [...ASYMMETRIC_ALGORITHMS] },
      description: 'Accepted signature algorithms (default: all listed). none and HS* are never accepted.',
    },
    clockSkewSeconds: seconds(
      'Tolerance for nbf and iat in the future, in seconds',
      DEFAULTS.clockSkewSeconds,
      'zero',
    ),
    roles: {
      type: 'string',
      minLength: 1,
      description:
        'Claim holding roles: a dotted path to an array or a space-separated string (default scope).',
    },
    identity: {
      type: 'string',
      minLength: 1,
      description: 'Claim holding the principal, a dotted path (default sub).',
    },
    challenge: seconds(
      'Seconds before expiry at which a session asks for fresh credentials; 0 for never',
      DEFAULTS.challenge,
      'zero',
    ),
  },
};

/** Cross-field checks: a parseable `jwksUrl`, and retry delays in order. */
export function validateOptions(config: GuardConfig<JwtOptions>): readonly ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const issue = (member: string, reason: string) => {
    const error = errors.TRIB_JWT_OPTIONS({ guard: config.name, reason });
    issues.push({
      code: error.code,
      message: error.message,
      pointer: `/guards/${config.name}/options/${member}`,
    });
  };
  const { jwksUrl, retryDelaySeconds, retryDelayMaxSeconds } = config.options;
  if (jwksUrl !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(jwksUrl);
    } catch {
      issue('jwksUrl', `"${jwksUrl}" is not a URL`);
    }
    if (url && url.protocol !== 'https:' && url.protocol !== 'http:') {
      issue('jwksUrl', `the JWKS is fetched over https (or http), not ${url.protocol}`);
    }
    if (url && (url.username !== '' || url.password !== '')) {
      issue('jwksUrl', 'credentials in the URL would show in events; the JWKS must be public');
    }
  }
  const first = retryDelaySeconds ?? DEFAULTS.retryDelaySeconds;
  const max = retryDelayMaxSeconds ?? DEFAULTS.retryDelayMaxSeconds;
  if (max < first) {
    issue(
      'retryDelayMaxSeconds',
      `retryDelayMaxSeconds (${String(max)}) is below retryDelaySeconds (${String(first)})`,
    );
  }
  return issues;
}
