import { EventEmitter } from 'node:events';
import type { DependencyContainer } from 'tsyringe';
import type { BindingContext, BindingHandler } from '../spi/binding.ts';
import type { BindingConfig, GatewayConfig } from '../spi/config.ts';
import type { DiagnosticEvent, Logger, PluginContext } from '../spi/context.ts';
import type { GuardHandler } from '../spi/guard.ts';
import type { CatalogHandler } from '../spi/catalog.ts';
import type { VaultHandler } from '../spi/vault.ts';
import type { ModelConfig, ModelHandler } from '../spi/model.ts';
import type { Plugin } from '../spi/plugin.ts';
import { errors } from '../errors.ts';
import type { PluginRegistry } from '../engine/registry.ts';
import { StreamEngine } from '../engine/engine.ts';
import { resolveRoute } from '../engine/routes.ts';
import { resolveTemplates } from '../engine/templates.ts';
import { startOrder, stableEqual } from './order.ts';

export interface GatewayOptions {
  readonly config: GatewayConfig;
  readonly registry: PluginRegistry;
  readonly logger: Logger;
  readonly container: DependencyContainer;
  readonly configDir: string;
  /** Time box for each start step. */
  readonly startTimeoutMs?: number;
}

export type GatewayState = 'created' | 'starting' | 'running' | 'stopping' | 'stopped';

/** A diagnostic event with the name of the binding, guard… that emitted it. */
export interface SourcedEvent extends DiagnosticEvent {
  readonly source: string;
}

interface LiveBinding {
  config: BindingConfig;
  readonly handler: BindingHandler;
}

async function timeBox<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(onTimeout()), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

const reasonOf = (cause: unknown) => (cause instanceof Error ? cause.message : String(cause));

/**
 * A running configuration: guards, catalogs, vaults and bindings created from the registry's
 * factories and wired through the stream engine.
 *
 * Start: vaults, guards, catalogs, then bindings exits-first; ready once all have started and
 * every readiness hold has settled. Stop: entries first, each binding stops accepting, drains
 * until the deadline, then what is left is aborted. Reload applies a new configuration binding
 * by binding: route-only changes apply in place, other changes restart only that binding.
 */
export class Gateway extends EventEmitter<{ event: [SourcedEvent]; ready: []; state: [GatewayState] }> {
  readonly engine: StreamEngine;
  private config: GatewayConfig;
  private readonly registry: PluginRegistry;
  private readonly logger: Logger;
  private readonly root: DependencyContainer;
  private readonly configDir: string;
  private readonly startTimeoutMs: number;
  private readonly containers = new Map<Plugin, DependencyContainer>();
  private readonly bindings = new Map<string, LiveBinding>();
  private readonly guards = new Map<string, GuardHandler>();
  private readonly catalogs = new Map<string, CatalogHandler>();
  private readonly vaults = new Map<string, VaultHandler>();
  private holds: Promise<unknown>[] = [];
  private started: string[] = [];
  private currentState: GatewayState = 'created';
  private isReady = false;

  constructor(options: GatewayOptions) {
    super();
    this.config = options.config;
    this.registry = options.registry;
    this.logger = options.logger;
    this.root = options.container;
    this.configDir = options.configDir;
    this.startTimeoutMs = options.startTimeoutMs ?? 120_000;
    this.engine = new StreamEngine(this.logger);
  }

  get state(): GatewayState {
    return this.currentState;
  }

  /** True once every binding started and every readiness hold settled. */
  get ready(): boolean {
    return this.isReady;
  }

  get configuration(): GatewayConfig {
    return this.config;
  }

  /** The live handler of a binding, for tests and diagnostics. */
  binding(name: string): BindingHandler | undefined {
    return this.bindings.get(name)?.handler;
  }

  /** A running guard, for bindings' diagnostics and tests. */
  guard(name: string): GuardHandler | undefined {
    return this.guards.get(name);
  }

  private setState(state: GatewayState): void {
    this.currentState = state;
    this.emit('state', state);
  }

  async start(): Promise<void> {
    if (this.currentState !== 'created') throw new Error(`gateway already ${this.currentState}`);
    this.setState('starting');
    try {
      await this.startResources(
        this.config,
        Object.keys(this.config.vaults),
        Object.keys(this.config.guards),
        Object.keys(this.config.catalogs),
      );
      for (const name of startOrder(this.config.bindings))
        await this.startBinding(this.config.bindings[name]!);
    } catch (error) {
      await this.stop(5_000);
      throw error;
    }
    this.setState('running');
    const holds = this.holds;
    this.holds = [];
    await Promise.allSettled(holds);
    this.isReady = true;
    this.logger.info({ gateway: this.config.name, bindings: this.started.length }, 'gateway ready');
    this.emit('ready');
  }

  /** Stops everything, entries first, giving open streams `deadlineMs` to finish. */
  async stop(deadlineMs = 10_000): Promise<void> {
    if (this.currentState === 'stopped' || this.currentState === 'stopping') return;
    this.setState('stopping');
    this.isReady = false;
    const signal = AbortSignal.timeout(deadlineMs);
    for (const name of [...this.started].reverse()) await this.stopBinding(name, signal);
    await this.stopResources([...this.catalogs.keys()], [...this.guards.keys()], [...this.vaults.keys()]);
    this.setState('stopped');
    this.logger.info({ gateway: this.config.name }, 'gateway stopped');
  }

  /**
   * Applies a new (already validated) configuration. Bindings whose type, kind, options and
   * vault are unchanged keep running with their open streams; their routes and exit are swapped
   * in place. Others are stopped (draining until `deadlineMs`) and started anew.
   */
  async reload(
    next: GatewayConfig,
    deadlineMs = 10_000,
  ): Promise<{ restarted: string[]; updated: string[] }> {
    const previous = this.config;
    const changed = <T>(a: Readonly<Record<string, T>>, b: Readonly<Record<string, T>>) =>
      Object.keys({ ...a, ...b }).filter((name) => !stableEqual(a[name], b[name]));
    const vaults = changed(previous.vaults, next.vaults);
    const guards = changed(previous.guards, next.guards);
    const catalogs = changed(previous.catalogs, next.catalogs);

    const restart = new Set<string>();
    const updated: string[] = [];
    for (const name of Object.keys({ ...previous.bindings, ...next.bindings })) {
      const before = previous.bindings[name];
      const after = next.bindings[name];
      if (!before || !after) {
        restart.add(name);
        continue;
      }
      const sameShape =
        before.type === after.type &&
        before.kind === after.kind &&
        stableEqual(before.options, after.options) &&
        before.vault === after.vault &&
        !(after.vault !== undefined && vaults.includes(after.vault));
      if (!sameShape) restart.add(name);
      else if (!stableEqual(before, after)) updated.push(name);
    }

    const signal = AbortSignal.timeout(deadlineMs);
    for (const name of [...this.started].reverse())
      if (restart.has(name)) await this.stopBinding(name, signal);
    this.config = next;
    await this.stopResources(catalogs, guards, vaults);
    await this.startResources(
      next,
      vaults.filter((n) => n in next.vaults),
      guards.filter((n) => n in next.guards),
      catalogs.filter((n) => n in next.catalogs),
    );
    for (const name of updated) {
      const live = this.bindings.get(name);
      if (live) live.config = next.bindings[name]!;
    }
    for (const name of startOrder(next.bindings)) {
      if (restart.has(name) && next.bindings[name]) await this.startBinding(next.bindings[name]);
    }
    const holds = this.holds;
    this.holds = [];
    await Promise.allSettled(holds);
    const restarted = [...restart].filter((name) => name in next.bindings);
    this.logger.info({ restarted, updated }, 'configuration reloaded');
    return { restarted, updated };
  }

  // --- resources ---

  private containerFor(plugin: Plugin): DependencyContainer {
    let container = this.containers.get(plugin);
    if (!container) {
      container = this.root.createChildContainer();
      plugin.register?.(container);
      this.containers.set(plugin, container);
    }
    return container;
  }

  private pluginContext(plugin: Plugin, source: string, kind: string): PluginContext {
    const logger = this.logger.child({ [kind]: source });
    return {
      container: this.containerFor(plugin),
      logger,
      configDir: this.configDir,
      events: {
        emit: (event: DiagnosticEvent) => {
          logger[event.level]({ event: event.name, ...event.detail }, event.message);
          this.emit('event', { ...event, source });
        },
      },
      holdReadiness: (label: string, until: Promise<unknown>) => {
        logger.info({ hold: label }, 'readiness held');
        this.holds.push(
          until.then(
            () => logger.info({ hold: label }, 'readiness released'),
            (cause: unknown) => logger.error({ hold: label, err: cause }, 'readiness hold failed'),
          ),
        );
      },
    };
  }

  private async startResources(
    config: GatewayConfig,
    vaults: readonly string[],
    guards: readonly string[],
    catalogs: readonly string[],
  ): Promise<void> {
    const start = async (what: string, name: string, work: () => Promise<void>) => {
      try {
        await timeBox(work(), this.startTimeoutMs, () =>
          errors.TRIB_LIFECYCLE_START_TIMEOUT({ what, name, ms: this.startTimeoutMs }),
        );
      } catch (cause) {
        throw errors.TRIB_LIFECYCLE_START_FAILED({ what, name, reason: reasonOf(cause) }, { cause });
      }
    };
    for (const name of vaults) {
      const vault = config.vaults[name]!;
      const entry = this.registry.get('vaults', vault.type)!;
      await start('vault', name, async () => {
        const handler = await entry.factory.create(this.pluginContext(entry.plugin, name, 'vault'), vault);
        await handler.start?.();
        this.vaults.set(name, handler);
      });
    }
    for (const name of guards) {
      const guard = config.guards[name]!;
      const entry = this.registry.get('guards', guard.type)!;
      await start('guard', name, async () => {
        const handler = await entry.factory.create(this.pluginContext(entry.plugin, name, 'guard'), guard);
        await handler.start?.();
        this.guards.set(name, handler);
      });
    }
    for (const name of catalogs) {
      const catalog = config.catalogs[name]!;
      const entry = this.registry.get('catalogs', catalog.type)!;
      await start('catalog', name, async () => {
        const handler = await entry.factory.create(
          this.pluginContext(entry.plugin, name, 'catalog'),
          catalog,
        );
        await handler.start?.();
        this.catalogs.set(name, handler);
      });
    }
  }

  private async stopResources(
    catalogs: readonly string[],
    guards: readonly string[],
    vaults: readonly string[],
  ) {
    const stop = async (what: string, name: string, handler: { stop?(): Promise<void> } | undefined) => {
      try {
        await handler?.stop?.();
      } catch (cause) {
        this.logger.error({ err: cause, [what]: name }, `${what} failed to stop`);
      }
    };
    for (const name of catalogs) {
      await stop('catalog', name, this.catalogs.get(name));
      this.catalogs.delete(name);
    }
    for (const name of guards) {
      await stop('guard', name, this.guards.get(name));
      this.guards.delete(name);
    }
    for (const name of vaults) this.vaults.delete(name);
  }

  // --- bindings ---

  private bindingContext(config: BindingConfig, plugin: Plugin): BindingContext {
    const name = config.name;
    const base = this.pluginContext(plugin, name, 'binding');
    const live = () => this.bindings.get(name)?.config ?? config;
    const current = () => this.config;
    return {
      ...base,
      name,
      get config() {
        return live();
      },
      get gateway() {
        return current();
      },
      open: (exit, options, handler) => this.engine.open(name, exit, options, handler),
      resolveRoute: (match, authorization, vars) => resolveRoute(live(), match, authorization, vars),
      resolveTemplates: (value, params, authorization, vars) =>
        resolveTemplates(value, params, authorization, vars),
      guard: (guard) => this.guards.get(guard),
      catalog: (catalog) => this.catalogs.get(catalog),
      vault: () => {
        const vault = live().vault;
        return vault === undefined ? undefined : this.vaults.get(vault);
      },
      model: (model: ModelConfig): ModelHandler => {
        const entry = this.registry.get('models', model.model);
        if (!entry) throw errors.TRIB_CONFIG_UNKNOWN_TYPE({ what: 'model', type: model.model, hint: '' });
        return entry.factory.create(
          {
            ...this.pluginContext(entry.plugin, `${name}:${model.model}`, 'model'),
            catalog: (c) => this.catalogs.get(c),
          },
          model,
        );
      },
    };
  }

  private async startBinding(config: BindingConfig): Promise<void> {
    const entry = this.registry.get('bindings', config.type);
    if (!entry) throw errors.TRIB_CONFIG_UNKNOWN_TYPE({ what: 'binding', type: config.type, hint: '' });
    const name = config.name;
    try {
      await timeBox(
        (async () => {
          const handler = await entry.factory.create(this.bindingContext(config, entry.plugin));
          this.bindings.set(name, { config, handler });
          this.engine.register(name, handler);
          await handler.start?.();
        })(),
        this.startTimeoutMs,
        () => errors.TRIB_LIFECYCLE_START_TIMEOUT({ what: 'binding', name, ms: this.startTimeoutMs }),
      );
    } catch (cause) {
      this.engine.unregister(name);
      this.bindings.delete(name);
      throw errors.TRIB_LIFECYCLE_START_FAILED({ what: 'binding', name, reason: reasonOf(cause) }, { cause });
    }
    this.started.push(name);
    this.logger.debug({ binding: name, type: config.type, kind: config.kind }, 'binding started');
  }

  private async stopBinding(name: string, signal: AbortSignal): Promise<void> {
    const live = this.bindings.get(name);
    this.started = this.started.filter((n) => n !== name);
    if (!live) return;
    this.engine.quiesce(name);
    try {
      await live.handler.stop?.(signal);
    } catch (cause) {
      this.logger.error({ err: cause, binding: name }, 'binding failed to stop');
    }
    const aborted = await this.engine.drain(name, signal);
    if (aborted > 0) this.logger.warn({ binding: name, aborted }, 'streams aborted at the stop deadline');
    this.engine.unregister(name);
    this.bindings.delete(name);
  }
}
