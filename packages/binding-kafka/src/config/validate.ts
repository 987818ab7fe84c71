/**
 * Cross-field checks of `kafka` client options, run by the kernel after schema validation.
 *
 * What needs the file system or the vault (TLS files that do not exist, aliases the vault does
 * not hold) is only known when the binding is created; see `tls.ts`.
 *
 * @module
 */
import type { BindingConfig, ConfigIssue, GatewayConfig } from '@tributary/kernel';
import { errors } from '../errors.ts';
import { CLIENT_DEFAULTS, type KafkaClientOptions, type KafkaTlsOptions } from './options.ts';

/** A JSON pointer below `/bindings/<name>/options`. */
export function optionsPointer(binding: string, ...path: readonly string[]): string {
  const escape = (segment: string) => segment.replace(/~/g, '~0').replace(/\//g, '~1');
  return ['', 'bindings', binding, 'options', ...path].map(escape).join('/');
}

export function optionsIssue(binding: string, path: readonly string[], reason: string): ConfigIssue {
  const error = errors.TRIB_KAFKA_OPTIONS({ reason });
  return { code: error.code, message: error.message, pointer: optionsPointer(binding, ...path) };
}

export function validateClientOptions(
  config: BindingConfig<KafkaClientOptions>,
  gateway: GatewayConfig,
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const options = config.options;
  const name = config.name;
  if (
    options.retryDelayMs !== undefined &&
    options.retryDelayMaxMs !== undefined &&
    options.retryDelayMaxMs < options.retryDelayMs
  ) {
    issues.push(
      optionsIssue(
        name,
        ['retryDelayMaxMs'],
        `retryDelayMaxMs (${options.retryDelayMaxMs}) is less than retryDelayMs (${options.retryDelayMs})`,
      ),
    );
  }
  const group = { ...CLIENT_DEFAULTS.group, ...options.group };
  if (group.heartbeatIntervalMs > group.sessionTimeoutMs) {
    issues.push(
      optionsIssue(
        name,
        ['group', 'heartbeatIntervalMs'],
        `group.heartbeatIntervalMs (${group.heartbeatIntervalMs}) exceeds group.sessionTimeoutMs (${group.sessionTimeoutMs})`,
      ),
    );
  }
  if (group.rebalanceTimeoutMs < group.sessionTimeoutMs) {
    issues.push(
      optionsIssue(
        name,
        ['group', 'rebalanceTimeoutMs'],
        `group.rebalanceTimeoutMs (${group.rebalanceTimeoutMs}) is less than group.sessionTimeoutMs (${group.sessionTimeoutMs})`,
      ),
    );
  }
  const tls: KafkaTlsOptions | undefined = options.tls;
  for (const part of ['ca', 'cert', 'key'] as const) {
    const source = tls?.[part];
    if (source !== undefined && 'vault' in source && config.vault === undefined) {
      issues.push(
        optionsIssue(
          name,
          ['tls', part, 'vault'],
          `tls.${part} names vault alias "${source.vault}", but the binding has no \`vault\``,
        ),
      );
    }
  }
  if (options.produce?.idempotent === true && (options.produce.acks ?? 'all') !== 'all') {
    issues.push(
      optionsIssue(
        name,
        ['produce', 'idempotent'],
        `the idempotent producer needs acks "all", but produce.acks is "${options.produce.acks}"`,
      ),
    );
  }
  if (options.sasl !== undefined) issues.push(...validateSasl(config, gateway));
  return issues;
}

const OAUTHBEARER_SOURCES = ['token', 'oauth', 'guard'] as const;

/** SASL: which fields go with which mechanism; OAUTHBEARER takes exactly one token source. */
function validateSasl(config: BindingConfig<KafkaClientOptions>, gateway: GatewayConfig): ConfigIssue[] {
  const sasl = config.options.sasl;
  const name = config.name;
  if (sasl === undefined) return [];
  const issues: ConfigIssue[] = [];
  const sources = OAUTHBEARER_SOURCES.filter((field) => sasl[field] !== undefined);
  if (sasl.mechanism !== 'oauthbearer') {
    for (const field of sources) {
      issues.push(
        optionsIssue(name, ['sasl', field], `\`${field}\` is only used by the oauthbearer mechanism`),
      );
    }
    return issues;
  }
  if (sasl.username !== undefined || sasl.password !== undefined) {
    issues.push(
      optionsIssue(
        name,
        ['sasl', sasl.username !== undefined ? 'username' : 'password'],
        'oauthbearer authenticates with a token (`token`, `oauth` or `guard`), not a username and password',
      ),
    );
  }
  if (sources.length === 0) {
    issues.push(
      optionsIssue(
        name,
        ['sasl'],
        'oauthbearer needs one token source: `token` (static), `oauth` (client credentials) or `guard`',
      ),
    );
  } else if (sources.length > 1) {
    issues.push(
      optionsIssue(
        name,
        ['sasl', sources[1]!],
        `oauthbearer takes one token source, but ${sources.map((s) => `\`${s}\``).join(' and ')} are set`,
      ),
    );
  }
  if (sasl.guard !== undefined && !Object.hasOwn(gateway.guards, sasl.guard)) {
    const known = Object.keys(gateway.guards);
    issues.push(
      optionsIssue(
        name,
        ['sasl', 'guard'],
        `guard "${sasl.guard}" is not defined under \`guards\`` +
          (known.length === 0 ? '' : ` (defined: ${known.map((g) => `"${g}"`).join(', ')})`),
      ),
    );
  }
  const oauth = sasl.oauth;
  if (oauth !== undefined) {
    let endpoint: URL | undefined;
    try {
      endpoint = new URL(oauth.tokenEndpoint);
    } catch {
      issues.push(
        optionsIssue(name, ['sasl', 'oauth', 'tokenEndpoint'], `"${oauth.tokenEndpoint}" is not a URL`),
      );
    }
    if (endpoint !== undefined && (endpoint.username !== '' || endpoint.password !== '')) {
      issues.push(
        optionsIssue(
          name,
          ['sasl', 'oauth', 'tokenEndpoint'],
          'the token endpoint must not carry credentials; use clientId and clientSecret',
        ),
      );
    }
    const ca = oauth.tls?.ca;
    if (ca !== undefined && 'vault' in ca && config.vault === undefined) {
      issues.push(
        optionsIssue(
          name,
          ['sasl', 'oauth', 'tls', 'ca', 'vault'],
          `sasl.oauth.tls.ca names vault alias "${ca.vault}", but the binding has no \`vault\``,
        ),
      );
    }
  }
  return issues;
}
