/**
 * Cross-field checks of `http` options, run by the kernel after schema validation. What needs
 * the file system or the vault (TLS files, aliases) is checked when the binding is created; see
 * `tls.ts`.
 *
 * @module
 */
import { BlockList, isIP } from 'node:net';
import type { BindingConfig, ConfigIssue, GatewayConfig } from '@tributary/kernel';
import { errors } from '../errors.ts';
import type {
  HttpClientOptions,
  HttpListenOptions,
  HttpServerOptions,
  HttpTlsOptions,
  HttpWhen,
} from './schema.ts';

/** A JSON pointer below `/bindings/<name>/options`. */
export function optionsPointer(binding: string, ...path: readonly string[]): string {
  const escape = (segment: string) => segment.replace(/~/g, '~0').replace(/\//g, '~1');
  return ['', 'bindings', binding, 'options', ...path].map(escape).join('/');
}

export function optionsIssue(binding: string, path: readonly string[], reason: string): ConfigIssue {
  const error = errors.TRIB_HTTP_OPTIONS({ reason });
  return { code: error.code, message: error.message, pointer: optionsPointer(binding, ...path) };
}

/** The `listen` option as a list. */
export function listenList(options: HttpServerOptions): readonly HttpListenOptions[] {
  return Array.isArray(options.listen)
    ? (options.listen as readonly HttpListenOptions[])
    : [options.listen as HttpListenOptions];
}

function vaultIssues(
  name: string,
  tls: HttpTlsOptions | undefined,
  vault: string | undefined,
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const part of ['ca', 'cert', 'key'] as const) {
    const source = tls?.[part];
    if (source !== undefined && 'vault' in source && vault === undefined) {
      issues.push(
        optionsIssue(
          name,
          ['tls', part, 'vault'],
          `tls.${part} names vault alias "${source.vault}", but the binding has no \`vault\``,
        ),
      );
    }
  }
  return issues;
}

/** Parses a trusted-proxy entry (`10.0.0.0/8`, `::1`) into `list`; false when it is not one. */
export function addProxy(list: BlockList, entry: string): boolean {
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (prefix === undefined) {
    list.addAddress(address, type);
    return true;
  }
  const bits = Number(prefix);
  if (!/^\d+$/.test(prefix) || bits > (family === 4 ? 32 : 128)) return false;
  list.addSubnet(address, bits, type);
  return true;
}

export function validateServerOptions(
  config: BindingConfig<HttpServerOptions, HttpWhen>,
  gateway: GatewayConfig,
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const { name, options } = config;
  if (config.exit === undefined && config.routes.length === 0) {
    issues.push({
      code: 'TRIB_CONFIG_MISSING_EXIT',
      message: `http server binding "${name}" needs an exit or routes: where its requests go`,
      pointer: `/bindings/${name}`,
    });
  }
  const list = listenList(options);
  list.forEach((entry, i) => {
    if (entry.tls === true && options.tls === undefined) {
      const path = Array.isArray(options.listen) ? ['listen', String(i), 'tls'] : ['listen', 'tls'];
      issues.push(
        optionsIssue(name, path, "a TLS listener needs the binding's `tls` options (key and cert)"),
      );
    }
  });
  const clientAuth = options.tls?.clientAuth ?? 'none';
  if (clientAuth !== 'none' && options.tls?.ca === undefined) {
    issues.push(
      optionsIssue(
        name,
        ['tls', 'clientAuth'],
        `clientAuth "${clientAuth}" needs \`tls.ca\` to verify client certificates`,
      ),
    );
  }
  issues.push(...vaultIssues(name, options.tls, config.vault));
  if (options.cors?.credentials === true && options.cors.origins === '*') {
    issues.push(
      optionsIssue(
        name,
        ['cors', 'credentials'],
        'credentials cannot be allowed for every origin (`origins: "*"`)',
      ),
    );
  }
  (options.trustedProxies ?? []).forEach((entry, i) => {
    if (!addProxy(new BlockList(), entry)) {
      issues.push(
        optionsIssue(name, ['trustedProxies', String(i)], `"${entry}" is not an IP address or CIDR range`),
      );
    }
  });
  for (const guard of Object.keys(options.authorization ?? {})) {
    if (!Object.hasOwn(gateway.guards, guard)) {
      issues.push(optionsIssue(name, ['authorization', guard], `there is no guard named "${guard}"`));
    }
  }
  return issues;
}

export function validateClientOptions(config: BindingConfig<HttpClientOptions>): ConfigIssue[] {
  const { name, options } = config;
  const issues = vaultIssues(name, options.tls, config.vault);
  if (options.tls !== undefined && options.url.startsWith('http:')) {
    issues.push(optionsIssue(name, ['tls'], '`tls` is set but `url` is not https'));
  }
  return issues;
}
