/**
 * The shape of a loaded gateway configuration, after environment interpolation and schema
 * validation. Option, condition and `with` types are owned by each plugin and appear here as
 * type parameters.
 *
 * @module
 */

/** The roles a binding plays; see the architecture docs. */
export type BindingKind = 'server' | 'proxy' | 'client' | 'cache' | 'remote_server';

export const BINDING_KINDS: readonly BindingKind[] = ['server', 'proxy', 'client', 'cache', 'remote_server'];

/**
 * A route: where a stream accepted by a binding goes next.
 *
 * - `when`: alternative conditions; the route matches when any one entry matches (all fields of
 *   that entry). An empty or absent list matches every stream. The meaning of a condition is
 *   the binding's (its `when` schema fragment and the matcher it passes to `resolveRoute`).
 * - `exit`: the binding the stream is opened towards.
 * - `with`: per-stream parameters for the exit, with `${params.x}`, `${idempotencyKey}` and
 *   `${guarded['name'].identity}` / `${guarded['name'].attributes.claim}` templates resolved by the
 *   kernel for each stream.
 * - `guarded`: guard name → roles the stream's session must hold.
 */
export interface RouteConfig<When = unknown, With = unknown> {
  readonly when: readonly When[];
  readonly exit: string;
  readonly with?: With;
  readonly guarded?: Readonly<Record<string, readonly string[]>>;
}

export interface BindingConfig<Options = unknown, When = unknown, With = unknown> {
  /** The binding's key under `bindings`. */
  readonly name: string;
  readonly type: string;
  readonly kind: BindingKind;
  readonly options: Options;
  readonly routes: readonly RouteConfig<When, With>[];
  /** The default exit, used when no route matches. */
  readonly exit?: string;
  /** The name of a vault this binding reads keys and certificates from. */
  readonly vault?: string;
}

export interface GuardConfig<Options = unknown> {
  readonly name: string;
  readonly type: string;
  readonly options: Options;
}

export interface CatalogConfig<Options = unknown> {
  readonly name: string;
  readonly type: string;
  readonly options: Options;
}

export interface VaultConfig<Options = unknown> {
  readonly name: string;
  readonly type: string;
  readonly options: Options;
}

export interface TelemetryConfig {
  /** Log level for the pino logger. */
  readonly logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Extra paths redacted from logs, beyond the defaults (passwords, tokens, keys). */
  readonly redact?: readonly string[];
}

export interface GatewayConfig {
  readonly name: string;
  readonly bindings: Readonly<Record<string, BindingConfig>>;
  readonly guards: Readonly<Record<string, GuardConfig>>;
  readonly catalogs: Readonly<Record<string, CatalogConfig>>;
  readonly vaults: Readonly<Record<string, VaultConfig>>;
  readonly telemetry: TelemetryConfig;
  /** Plugin packages to load explicitly instead of discovering them (bundled deployments). */
  readonly plugins?: readonly string[];
}

/**
 * A problem found in a configuration. Load-time errors carry one or more of these; each names
 * the place in the source file it refers to.
 */
export interface ConfigIssue {
  /** `TRIB_CONFIG_<NAME>`. */
  readonly code: string;
  readonly message: string;
  /** JSON pointer into the configuration, e.g. `/bindings/north_http/options/listen/port`. */
  readonly pointer: string;
  /** Filled in by the kernel from the pointer when the issue comes from a plugin. */
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
}
