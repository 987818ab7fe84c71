/**
 * Validation of a parsed configuration against the composed schema and the cross-references
 * between its parts, reporting every problem at once with its position.
 *
 * @module
 */
import type { ValidateFunction } from 'ajv/dist/2020.js';
import type { ConfigIssue, GatewayConfig } from '../spi/config.ts';
import type { Plugin, ProvidedKind } from '../spi/plugin.ts';
import type { ModelConfig } from '../spi/model.ts';
import { singular, type PluginRegistry } from '../engine/registry.ts';
import { errors } from '../errors.ts';
import { createAjv, translateErrors } from './ajv.ts';
import { crossChecks } from './checks.ts';
import { dedupeIssues, makeIssue, positionIssue, sortIssues } from './issues.ts';
import { normaliseConfig } from './normalise.ts';
import { childPointer, parsePointer, setValueAt, valueAt } from './pointer.ts';
import { composeSchema } from './schema.ts';
import type { ConfigSource } from './source.ts';
import { usedTypes } from './used-types.ts';

export interface ValidateOptions {
  /**
   * Hint for a type no installed plugin provides: returns an issue (e.g.
   * `TRIB_PLUGIN_NOT_INSTALLED` naming the package to add) or undefined for the default
   * `TRIB_CONFIG_UNKNOWN_TYPE`. `pointer` is the node naming the type; the issue is positioned
   * from its own pointer when it carries no position.
   */
  unknownType?(kind: ProvidedKind, type: string, pointer: string): ConfigIssue | undefined;
}

export interface ValidationResult {
  /** Present exactly when `issues` is empty. */
  readonly config?: GatewayConfig;
  /** Sorted by position. */
  readonly issues: ConfigIssue[];
}

/**
 * Validates `source.value`:
 * 1. against the schema composed from `registry` (Ajv, all errors, translated and de-noised);
 * 2. cross-references: unknown types, unsupported kinds, dangling exits, unknown guards,
 *    vaults and catalogs, missing exits, route cycles, malformed templates;
 * 3. only when 1 and 2 found nothing: each factory's own `validate`.
 * Every issue carries file, line, column and pointer. Whole-value `${{ env.X }}` strings are
 * converted to the number, integer or boolean the schema asks for (see
 * {@link ConfigSource.interpolated}); nothing else is coerced.
 */
export function validateConfig(
  source: ConfigSource,
  registry: PluginRegistry,
  options: ValidateOptions = {},
): ValidationResult {
  const { schema, validate } = validatorFor(registry);
  const data = structuredClone(source.value);
  const schemaErrors = runWithCoercion(validate, data, source.interpolated ?? new Set());
  const checked = crossChecks(data, registry, source, options);
  const schemaIssues = translateErrors(schemaErrors, schema)
    .filter((problem) => !checked.superseded.has(problem.pointer))
    .map((problem) =>
      makeIssue(errors.TRIB_CONFIG_SCHEMA, { reason: problem.message }, problem.pointer, source, problem.at),
    );
  let issues = dedupeIssues([...schemaIssues, ...checked.issues]);
  if (issues.length > 0) return { issues: sortIssues(issues) };

  const config = normaliseConfig(data);
  issues = pluginIssues(config, data, registry).map((issue) => positionIssue(issue, source));
  return issues.length > 0 ? { issues: sortIssues(issues) } : { config, issues: [] };
}

interface Compiled {
  readonly plugins: readonly Plugin[];
  readonly schema: Record<string, unknown>;
  readonly validate: ValidateFunction;
}

const compiled = new WeakMap<PluginRegistry, Compiled>();

/** The compiled schema for the registry's current plugins, compiled once per plugin set. */
function validatorFor(registry: PluginRegistry): Compiled {
  const plugins = registry.all();
  const cached = compiled.get(registry);
  if (
    cached &&
    cached.plugins.length === plugins.length &&
    cached.plugins.every((p, i) => p === plugins[i])
  ) {
    return cached;
  }
  const schema = composeSchema(registry);
  let validate: ValidateFunction;
  try {
    validate = createAjv().compile(schema);
  } catch (error) {
    throw blameFragment(registry) ?? error;
  }
  const entry = { plugins, schema, validate };
  compiled.set(registry, entry);
  return entry;
}

/** `TRIB_PLUGIN_INVALID` for the first plugin fragment that does not compile on its own. */
function blameFragment(registry: PluginRegistry): Error | undefined {
  const fragments: { plugin: Plugin; what: string; schema: unknown }[] = [];
  for (const entry of registry.types('bindings')) {
    const schema = entry.factory.schema ?? {};
    const what = `binding type "${entry.type}"`;
    fragments.push({ plugin: entry.plugin, what: `${what} options`, schema: schema.options });
    fragments.push({ plugin: entry.plugin, what: `${what} when`, schema: schema.when });
    fragments.push({ plugin: entry.plugin, what: `${what} with`, schema: schema.with });
  }
  for (const kind of ['guards', 'catalogs', 'vaults', 'models'] as const) {
    for (const entry of registry.types(kind)) {
      fragments.push({
        plugin: entry.plugin,
        what: `${singular(kind)} type "${entry.type}"`,
        schema: entry.factory.schema,
      });
    }
  }
  for (const { plugin, what, schema } of fragments) {
    if (schema === undefined) continue;
    try {
      createAjv().compile({ $defs: { model: true }, allOf: [schema] });
    } catch (error) {
      const reason = `schema of ${what}: ${error instanceof Error ? error.message : String(error)}`;
      return errors.TRIB_PLUGIN_INVALID({ pkg: plugin.name, reason }, { cause: error });
    }
  }
  return undefined;
}

/**
 * Validates, converting whole-value environment strings where the schema reports a type error
 * for them, and validates again (a conversion can change which `if` branches apply). Stops
 * when a pass converts nothing.
 */
function runWithCoercion(validate: ValidateFunction, data: unknown, interpolated: ReadonlySet<string>) {
  for (let pass = 0; ; pass++) {
    if (validate(data)) return [];
    const found = validate.errors ?? [];
    if (interpolated.size === 0 || pass >= 3) return found;
    let converted = false;
    for (const error of found) {
      if (error.keyword !== 'type' || !interpolated.has(error.instancePath)) continue;
      const current = valueAt(data, error.instancePath);
      if (typeof current !== 'string') continue;
      const wanted = String((error.params as Record<string, unknown>)['type']).split(',');
      const value = convert(current, wanted);
      if (value !== undefined && setValueAt(data, error.instancePath, value)) converted = true;
    }
    if (!converted) return found;
  }
}

function convert(text: string, types: readonly string[]): number | boolean | undefined {
  const trimmed = text.trim();
  if (types.includes('integer') && /^-?\d+$/.test(trimmed)) return Number(trimmed);
  if (types.includes('number') && /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(trimmed))
    return Number(trimmed);
  if (types.includes('boolean') && (trimmed === 'true' || trimmed === 'false')) return trimmed === 'true';
  return undefined;
}

/**
 * The factories' own checks. A throwing `validate` is a plugin bug; it is reported as an
 * issue on the item being validated rather than aborting the whole validation.
 */
function pluginIssues(config: GatewayConfig, data: unknown, registry: PluginRegistry): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const run = (
    plugin: Plugin,
    what: string,
    name: string,
    pointer: string,
    check: () => readonly ConfigIssue[],
  ) => {
    try {
      issues.push(...check());
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      issues.push(
        makeIssue(errors.TRIB_CONFIG_VALIDATE_FAILED, { pkg: plugin.name, what, name, reason }, pointer),
      );
    }
  };
  for (const binding of Object.values(config.bindings)) {
    const entry = registry.get('bindings', binding.type);
    if (entry?.factory.validate) {
      const { factory } = entry;
      run(entry.plugin, 'binding', binding.name, childPointer('/bindings', binding.name), () =>
        factory.validate ? factory.validate(binding, config) : [],
      );
    }
  }
  for (const kind of ['guards', 'catalogs', 'vaults'] as const) {
    for (const resource of Object.values(config[kind])) {
      const entry = registry.get(kind, resource.type);
      if (entry?.factory.validate) {
        const factory: { validate?(config: typeof resource): readonly ConfigIssue[] } = entry.factory;
        run(entry.plugin, singular(kind), resource.name, childPointer(`/${kind}`, resource.name), () =>
          factory.validate ? factory.validate(resource) : [],
        );
      }
    }
  }
  for (const [type, pointers] of usedTypes(data).models) {
    const entry = registry.get('models', type);
    if (!entry?.factory.validate) continue;
    const { factory } = entry;
    for (const pointer of pointers) {
      const at = parsePointer(pointer)
        .slice(0, -1)
        .reduce((base, segment) => childPointer(base, segment), '');
      const model = valueAt(data, at) as ModelConfig;
      run(entry.plugin, 'model', type, at, () => (factory.validate ? factory.validate(model, at) : []));
    }
  }
  return issues;
}
