import 'reflect-metadata';
import { container as rootContainer, type DependencyContainer } from 'tsyringe';
import { dirname, resolve } from 'node:path';
import type { ConfigIssue, GatewayConfig } from '../spi/config.ts';
import type { Logger } from '../spi/context.ts';
import type { Plugin, ProvidedKind } from '../spi/plugin.ts';
import { PROVIDED_KINDS } from '../spi/plugin.ts';
import { errors } from '../errors.ts';
import { PluginRegistry } from '../engine/registry.ts';
import { plugin as kernelPlugin } from '../plugin.ts';
import { createLogger } from '../logging/logger.ts';
import {
  composeSchema,
  parseConfigText,
  readConfigFile,
  usedTypes,
  validateConfig,
  type ConfigSource,
  type Env,
  type UsedTypes,
} from '../config/index.ts';
import { discover, findAppDir, importPluginByName, loadPlugins, type Discovery } from '../discovery/index.ts';
import { Gateway } from './gateway.ts';

/** Tokens under which the kernel registers its own services in the root container. */
export const TOKENS = {
  logger: Symbol.for('tributary.logger'),
  registry: Symbol.for('tributary.registry'),
} as const;

export interface KernelOptions {
  /** Where plugins are discovered from (the application's package.json). Default: the config's directory, walking up. */
  readonly appDir?: string;
  /** Discover plugins from the application's dependencies (default true). */
  readonly discover?: boolean;
  readonly env?: Env;
  readonly logger?: Logger;
  /** The root DI container; a child of tsyringe's global container by default. */
  readonly container?: DependencyContainer;
  /** Time box for each start step. */
  readonly startTimeoutMs?: number;
}

export interface LoadedConfig {
  readonly config: GatewayConfig;
  readonly source: ConfigSource;
}

/**
 * The front door: discovers plugins, loads and validates configurations, and runs gateways.
 *
 * ```ts
 * const kernel = createKernel();
 * const gateway = await kernel.start('gateway.yaml');
 * ```
 */
export class Kernel {
  readonly registry = new PluginRegistry();
  readonly container: DependencyContainer;
  private readonly explicit = new Set<Plugin>();
  private discovery: Promise<Discovery> | undefined;
  private logger: Logger | undefined;

  private readonly options: KernelOptions;

  constructor(options: KernelOptions = {}) {
    this.options = options;
    this.container = options.container ?? rootContainer.createChildContainer();
    this.logger = options.logger;
    this.registry.add(kernelPlugin);
  }

  /** Registers a plugin directly (bundled deployments, tests). Its types win over discovery. */
  use(plugin: Plugin): this {
    this.registry.add(plugin);
    this.explicit.add(plugin);
    return this;
  }

  /** Reads, interpolates and validates a configuration file, loading the plugins it uses. */
  async load(file: string): Promise<LoadedConfig> {
    const absolute = resolve(file);
    const { source, issues } = await readConfigFile(absolute, this.options.env ?? process.env);
    return this.validate(source, issues, this.options.appDir ?? findAppDir(dirname(absolute)));
  }

  /** Same as {@link load} for configuration text (tests, embedded use). */
  async loadText(text: string, file = 'gateway.yaml'): Promise<LoadedConfig> {
    const { source, issues } = parseConfigText(text, file, this.options.env ?? process.env);
    return this.validate(source, issues, this.options.appDir ?? findAppDir(process.cwd()));
  }

  private async validate(
    source: ConfigSource,
    parseIssues: readonly ConfigIssue[],
    appDir: string,
  ): Promise<LoadedConfig> {
    // After a syntax error the parser's recovery would only invent follow-on problems.
    if (parseIssues.some((issue) => issue.code === errors.TRIB_CONFIG_SYNTAX.code)) {
      throw errors.TRIB_CONFIG_INVALID(
        { file: source.file, count: parseIssues.length },
        { issues: parseIssues },
      );
    }
    const used = usedTypes(source.value);
    const missing = this.missingTypes(used);
    const pluginIssues = new Map<string, ConfigIssue>();
    const explicitList = (source.value as { plugins?: unknown } | null)?.plugins;
    if (Array.isArray(explicitList)) {
      for (const name of explicitList)
        if (typeof name === 'string') this.registry.add(await importPluginByName(name, appDir));
    } else if (missing && this.options.discover !== false) {
      const found = await this.discover(appDir);
      const { issues } = await loadPlugins(found, this.missingTypes(used) ?? used, this.registry);
      for (const issue of issues) pluginIssues.set(issue.pointer, issue);
    }
    const { config, issues } = validateConfig(source, this.registry, {
      unknownType: (_kind, _type, pointer) => pluginIssues.get(pointer),
    });
    // An unset variable already explains whatever its empty value breaks further down.
    const explained = new Set(parseIssues.map((issue) => issue.pointer));
    const all = [...parseIssues, ...issues.filter((issue) => !explained.has(issue.pointer))];
    if (all.length > 0 || !config) {
      throw errors.TRIB_CONFIG_INVALID({ file: source.file, count: all.length }, { issues: all });
    }
    return { config, source };
  }

  /** The used types no registered plugin provides, or undefined when none are missing. */
  private missingTypes(used: UsedTypes): UsedTypes | undefined {
    let any = false;
    const out = {} as Record<ProvidedKind, Map<string, readonly string[]>>;
    for (const kind of PROVIDED_KINDS) {
      out[kind] = new Map();
      for (const [type, pointers] of used[kind]) {
        if (!this.registry.get(kind, type)) {
          out[kind].set(type, pointers);
          any = true;
        }
      }
    }
    return any ? out : undefined;
  }

  private discover(appDir: string): Promise<Discovery> {
    this.discovery ??= discover(appDir);
    return this.discovery;
  }

  /** Discovery results for the application at `appDir` (for `tributary plugins`). */
  installed(appDir: string): Promise<Discovery> {
    return this.discover(appDir);
  }

  /** The configuration schema composed from every installed plugin (imports them all). */
  async schema(appDir: string): Promise<Record<string, unknown>> {
    if (this.options.discover !== false) {
      const found = await this.discover(appDir);
      const everything = {} as Record<ProvidedKind, Map<string, readonly string[]>>;
      for (const kind of PROVIDED_KINDS) everything[kind] = new Map();
      for (const installed of found.installed) {
        if (!installed.spiCompatible) continue;
        for (const kind of PROVIDED_KINDS) {
          for (const type of installed.manifest.provides[kind] ?? []) {
            if (!this.registry.get(kind, type)) everything[kind].set(type, []);
          }
        }
      }
      await loadPlugins(found, everything, this.registry);
    }
    return composeSchema(this.registry);
  }

  /** Creates (but does not start) a gateway for a loaded configuration. */
  createGateway(loaded: LoadedConfig): Gateway {
    const { config, source } = loaded;
    this.logger ??= createLogger({
      ...(config.telemetry.logLevel === undefined ? {} : { level: config.telemetry.logLevel }),
      redact: config.telemetry.redact ?? [],
    });
    this.container.register(TOKENS.logger, { useValue: this.logger });
    this.container.register(TOKENS.registry, { useValue: this.registry });
    return new Gateway({
      config,
      registry: this.registry,
      logger: this.logger,
      container: this.container,
      configDir: dirname(resolve(source.file)),
      ...(this.options.startTimeoutMs === undefined ? {} : { startTimeoutMs: this.options.startTimeoutMs }),
    });
  }

  /** Loads `file` and starts a gateway on it. */
  async start(file: string): Promise<Gateway> {
    const gateway = this.createGateway(await this.load(file));
    await gateway.start();
    return gateway;
  }
}

export function createKernel(options: KernelOptions = {}): Kernel {
  return new Kernel(options);
}
