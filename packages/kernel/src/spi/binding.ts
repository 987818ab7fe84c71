/**
 * Bindings: the protocol endpoints and mappings a configuration wires together.
 *
 * A plugin provides a {@link BindingFactory} per `type`. The kernel calls `create` once per
 * configured binding with a {@link BindingContext}, starts bindings exits-first, and hands each
 * stream opened towards a binding to its handler's `accept`.
 *
 * Route resolution belongs to the kernel (first authorized match in config order); the meaning
 * of a `when` condition belongs to the binding, which passes a matcher to
 * {@link BindingContext.resolveRoute}.
 *
 * @module
 */
import type { BindingConfig, BindingKind, ConfigIssue, GatewayConfig, RouteConfig } from './config.ts';
import type { PluginContext } from './context.ts';
import type { Authorization, Extension, Stream, StreamHandler } from './stream.ts';
import type { GuardHandler } from './guard.ts';
import type { CatalogHandler } from './catalog.ts';
import type { ModelConfig, ModelHandler } from './model.ts';
import type { VaultHandler } from './vault.ts';
import type { JsonSchema } from './schema.ts';

/** Path or other parameters a condition captured (e.g. `{ id: '42' }` for `/items/{id}`). */
export type RouteParams = Readonly<Record<string, string>>;

/**
 * Decides whether one `when` entry matches the stream at hand. Returns the captured parameters
 * when it matches (an empty object when there are none), `undefined` otherwise. Pure and
 * synchronous.
 */
export type ConditionMatcher<When> = (when: When) => RouteParams | undefined;

/** Values available to `with` templates besides route params and guard sessions. */
export interface TemplateVars {
  readonly idempotencyKey?: string;
  readonly [name: string]: string | undefined;
}

export interface ResolvedRoute<With = unknown> {
  /** Index of the route in config order; -1 for the binding's default `exit`. */
  readonly index: number;
  readonly exit: string;
  readonly params: RouteParams;
  /** The route's `with`, templates resolved; undefined when the route has none. */
  readonly with: With | undefined;
}

export type RouteResolution<With = unknown> =
  | { readonly ok: true; readonly route: ResolvedRoute<With> }
  /**
   * `no-match`: no route matched and there is no default exit (→ 404).
   * `unauthorized`: a matching route needs a guard session the stream lacks (→ 401).
   * `forbidden`: matching routes exist but the session lacks their roles (→ 403).
   */
  | {
      readonly ok: false;
      readonly reason: 'no-match' | 'unauthorized' | 'forbidden';
      /** Guards of the refusing routes, for challenges (e.g. `WWW-Authenticate`). */
      readonly guards: readonly string[];
    };

/** Options for opening a stream towards another binding. */
export interface OpenOptions {
  /** The initial half's begin extension. */
  readonly ext?: Extension;
  /** Guard sessions to carry; defaults to none. Proxies pass on the accepted stream's. */
  readonly authorization?: Authorization;
}

export interface BindingContext<Options = unknown, When = unknown, With = unknown> extends PluginContext {
  /** The binding's name (its key under `bindings`). */
  readonly name: string;
  /** The binding's current configuration; routes may change on reload without a restart. */
  readonly config: BindingConfig<Options, When, With>;
  /** The whole configuration, read-only, for bindings that look at their neighbours. */
  readonly gateway: GatewayConfig;
  /**
   * Opens a stream towards `exit` and sends the initial begin. `handler` receives the reply
   * half and the reset of the initial half. Never throws: when `exit` is unknown or refuses the
   * stream, `handler.onReset` is called (on a microtask) with the reason.
   */
  open(exit: string, options: OpenOptions, handler: StreamHandler): Stream;
  /**
   * Picks the route for a stream: the first route (config order) with a matching `when` entry
   * whose `guarded` roles the authorization satisfies; otherwise the default `exit`.
   * Templates in `with` are resolved against the captured params, `vars` and the sessions.
   */
  resolveRoute(
    match: ConditionMatcher<When>,
    authorization?: Authorization,
    vars?: TemplateVars,
  ): RouteResolution<With>;
  /** Resolves `${…}` templates in any value (strings inside objects and arrays too). */
  resolveTemplates<T>(value: T, params: RouteParams, authorization?: Authorization, vars?: TemplateVars): T;
  /** A configured guard by name; undefined when unknown (config validation prevents this). */
  guard(name: string): GuardHandler | undefined;
  catalog(name: string): CatalogHandler | undefined;
  /** The binding's vault (its `vault` option), if any. */
  vault(): VaultHandler | undefined;
  /** Creates a model handler from inline model config (the model's `start` is the caller's). */
  model(config: ModelConfig): ModelHandler;
}

/**
 * A live binding. Every method is optional except what the binding's kinds need: anything that
 * streams are opened towards implements `accept`.
 */
export interface BindingHandler {
  /**
   * A stream was opened towards this binding; `begin` is the initial half's begin extension.
   * Returns the handler for the stream's frames, or `null` to refuse it (the kernel resets the
   * opener with `TRIB_STREAM_REFUSED`). Must not throw.
   */
  accept?(stream: Stream, begin: Extension | undefined): StreamHandler | null;
  /** Binds listeners, connects, hydrates. Exits are started before the bindings that use them. */
  start?(): Promise<void>;
  /**
   * Stops accepting new work, then lets open streams finish until `signal` aborts (the
   * shutdown deadline), after which the kernel aborts what is left.
   */
  stop?(signal: AbortSignal): Promise<void>;
}

export interface BindingFactory<Options = unknown, When = unknown, With = unknown> {
  readonly kinds: readonly BindingKind[];
  /**
   * Schema fragments: `options` for the binding's `options` (per kind when they differ),
   * `when` for one route condition, `with` for a route's `with`.
   */
  readonly schema?: {
    readonly options?: JsonSchema | Partial<Record<BindingKind, JsonSchema>>;
    readonly when?: JsonSchema;
    readonly with?: JsonSchema;
    /** True when the binding needs routes or an exit (proxies); the kernel checks it. */
    readonly requiresExit?: boolean;
  };
  /** Cross-field checks after schema validation; issues point into the configuration. */
  validate?(config: BindingConfig<Options, When, With>, gateway: GatewayConfig): readonly ConfigIssue[];
  create(ctx: BindingContext<Options, When, With>): BindingHandler | Promise<BindingHandler>;
}

export type { RouteConfig };
