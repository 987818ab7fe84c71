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
  _gateway: GatewayConfig,
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
  if (
    options.sasl !== undefined &&
    options.sasl.mechanism !== 'oauthbearer' &&
    options.sasl.token !== undefined
  ) {
    issues.push(optionsIssue(name, ['sasl', 'token'], `a token is only used by the oauthbearer mechanism`));
  }
  if (
    options.sasl?.mechanism === 'oauthbearer' &&
    (options.sasl.username !== undefined || options.sasl.password !== undefined)
  ) {
    issues.push(
      optionsIssue(
        name,
        ['sasl', options.sasl.username !== undefined ? 'username' : 'password'],
        `oauthbearer authenticates with \`token\` only`,
      ),
    );
  }
  return issues;
}
