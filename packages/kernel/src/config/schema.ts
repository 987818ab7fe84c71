/**
 * The configuration's JSON Schema (draft 2020-12), composed from the kernel's own shape and the
 * fragments of the installed plugins.
 *
 * Composition is by `if`/`then` on a discriminator (`type` for bindings, guards, catalogs and
 * vaults; `kind` inside a binding whose options differ per kind; `model` for models), never
 * `oneOf`: an editor then offers exactly the options of the type at hand, and a validator
 * reports the real mistake instead of one failure per alternative.
 *
 * Fragments are inlined. A fragment may refer to `#/$defs/model` (an inline model of any
 * installed model type); it must not use other root-relative references of its own, since
 * those would resolve against this document. A fragment with its own `$id` is a separate
 * resource and resolves its references itself.
 *
 * @module
 */
import type { PluginRegistry, Registered } from '../engine/registry.ts';
import { BINDING_KINDS, type BindingKind } from '../spi/config.ts';
import type { JsonSchema } from '../spi/schema.ts';
import type { ProvidedKind } from '../spi/plugin.ts';

export const CONFIG_SCHEMA_ID = 'https://tributary.dev/schemas/config.json';

/** The schema of `telemetry.logLevel`; kept in step with `TelemetryConfig`. */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

type Schema = Record<string, unknown>;

/** Builds the full configuration schema for the types installed in `registry`. */
export function composeSchema(registry: PluginRegistry): Record<string, unknown> {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: CONFIG_SCHEMA_ID,
    title: 'Tributary gateway configuration',
    description:
      'One gateway: named bindings wired together by exits and routes, with the guards, catalogs and vaults they use.',
    type: 'object',
    required: ['name', 'bindings'],
    additionalProperties: false,
    properties: {
      $schema: {
        type: 'string',
        description: 'The JSON Schema this file follows, for editors; ignored by the gateway.',
      },
      name: { type: 'string', minLength: 1, title: 'Name', description: 'The name of this gateway.' },
      bindings: {
        type: 'object',
        title: 'Bindings',
        description: 'Protocol endpoints and mappings, by name. Streams flow from a binding to its exits.',
        additionalProperties: { $ref: '#/$defs/binding' },
      },
      guards: section('guard', 'Guards', 'Authenticate credentials and authorize routes, by name.'),
      catalogs: section(
        'catalog',
        'Catalogs',
        'Schema registries that models resolve schemas from, by name.',
      ),
      vaults: section('vault', 'Vaults', 'Keys, certificates and trust anchors for bindings, by name.'),
      telemetry: {
        type: 'object',
        title: 'Telemetry',
        additionalProperties: false,
        properties: {
          logLevel: { enum: [...LOG_LEVELS], description: 'Level of the JSON logs.', default: 'info' },
          redact: {
            type: 'array',
            items: { type: 'string', minLength: 1 },
            description: 'Extra log paths to redact, beyond the defaults (passwords, tokens, keys).',
          },
        },
      },
      plugins: {
        type: 'array',
        title: 'Plugins',
        description: 'Plugin packages to load instead of discovering them from dependencies.',
        items: { type: 'string', minLength: 1 },
        uniqueItems: true,
      },
    },
    $defs: {
      binding: bindingSchema(registry),
      route: routeSchema(),
      guard: resourceSchema(registry, 'guards', 'Guard'),
      catalog: resourceSchema(registry, 'catalogs', 'Catalog'),
      vault: resourceSchema(registry, 'vaults', 'Vault'),
      model: modelSchema(registry),
    },
  };
}

function section(def: string, title: string, description: string): Schema {
  return { type: 'object', title, description, additionalProperties: { $ref: `#/$defs/${def}` } };
}

/** The schema of a type name: a string, with the installed names offered for completion. */
function typeName(types: readonly Registered<ProvidedKind>[], description: string): Schema {
  const names = types.map((entry) => entry.type);
  return { type: 'string', minLength: 1, description, ...(names.length > 0 ? { enum: names } : {}) };
}

const provided = (entry: Registered<ProvidedKind>): string => `Provided by ${entry.plugin.name}.`;

const when = (property: string, value: string): Schema => ({
  properties: { [property]: { const: value } },
  required: [property],
});

function bindingSchema(registry: PluginRegistry): Schema {
  const types = registry.types('bindings');
  return {
    title: 'Binding',
    type: 'object',
    required: ['type', 'kind'],
    additionalProperties: false,
    properties: {
      type: typeName(types, 'The protocol or mapping, e.g. http, http-kafka, kafka.'),
      kind: {
        enum: [...BINDING_KINDS],
        description:
          'The role: server (owns a listener), proxy (maps streams), client (speaks outward), cache, remote_server.',
      },
      options: { type: 'object', description: 'Options of this type and kind.' },
      routes: {
        type: 'array',
        description: 'Where streams go: the first authorized route whose conditions match wins.',
        items: { $ref: '#/$defs/route' },
      },
      exit: { type: 'string', minLength: 1, description: 'The binding streams go to when no route matches.' },
      vault: {
        type: 'string',
        minLength: 1,
        description: 'The vault this binding reads keys and certificates from.',
      },
    },
    ...allOf(
      types.map((entry): Schema => {
        const { factory } = entry;
        const fragments = factory.schema ?? {};
        const properties: Schema = { kind: { enum: [...factory.kinds] } };
        let then: Schema = { description: provided(entry) };
        const options = fragments.options;
        if (options !== undefined && isPerKind(options)) {
          const branches = Object.entries(options).map(([kind, schema]) => ({
            if: when('kind', kind),
            then: optionsBranch(schema),
          }));
          then = { ...then, ...allOf(branches) };
        } else if (options !== undefined) {
          const branch = optionsBranch(options);
          Object.assign(properties, branch['properties']);
          if (branch['required']) then['required'] = branch['required'];
        }
        const route: Schema = {};
        if (fragments.when !== undefined) route['when'] = { type: 'array', items: clone(fragments.when) };
        if (fragments.with !== undefined) route['with'] = clone(fragments.with);
        if (Object.keys(route).length > 0) {
          properties['routes'] = { type: 'array', items: { type: 'object', properties: route } };
        }
        then['properties'] = properties;
        return { if: when('type', entry.type), then };
      }),
    ),
  };
}

/** `options` constrained by `schema`, and required when the schema requires any property. */
function optionsBranch(schema: JsonSchema | undefined): Schema {
  if (schema === undefined) return {};
  const required =
    typeof schema === 'object' && Array.isArray(schema['required']) && schema['required'].length > 0;
  return { properties: { options: clone(schema) }, ...(required ? { required: ['options'] } : {}) };
}

/** A per-kind options record (`{ server: {…}, client: {…} }`) rather than one schema. */
function isPerKind(
  options: JsonSchema | Partial<Record<BindingKind, JsonSchema>>,
): options is Partial<Record<BindingKind, JsonSchema>> {
  if (typeof options !== 'object') return false;
  const keys = Object.keys(options);
  return keys.length > 0 && keys.every((key) => (BINDING_KINDS as readonly string[]).includes(key));
}

function routeSchema(): Schema {
  return {
    title: 'Route',
    type: 'object',
    required: ['exit'],
    additionalProperties: false,
    properties: {
      when: {
        type: 'array',
        description: 'Alternative conditions: the route matches when any entry matches (all of its fields).',
        items: { type: 'object' },
      },
      exit: { type: 'string', minLength: 1, description: 'The binding matching streams go to.' },
      with: {
        description:
          "Per-stream parameters for the exit; strings may use ${params.x}, ${idempotencyKey} and ${guarded['name'].identity}.",
      },
      guarded: {
        type: 'object',
        description: 'Guard name → roles the stream must hold.',
        additionalProperties: { type: 'array', items: { type: 'string' }, uniqueItems: true },
      },
    },
  };
}

function resourceSchema(
  registry: PluginRegistry,
  kind: 'guards' | 'catalogs' | 'vaults',
  title: string,
): Schema {
  const types = registry.types(kind);
  return {
    title,
    type: 'object',
    required: ['type'],
    additionalProperties: false,
    properties: {
      type: typeName(types, `The ${title.toLowerCase()} type.`),
      options: { type: 'object', description: 'Options of this type.' },
    },
    ...allOf(
      types.map((entry): Schema => ({
        if: when('type', entry.type),
        then: { description: provided(entry), ...optionsBranch(entry.factory.schema) },
      })),
    ),
  };
}

function modelSchema(registry: PluginRegistry): Schema {
  const types = registry.types('models');
  return {
    title: 'Model',
    description: 'An inline model: validates and converts payloads.',
    type: 'object',
    required: ['model'],
    properties: { model: typeName(types, 'The model type, e.g. json, avro, protobuf.') },
    ...allOf(
      types
        .filter((entry) => entry.factory.schema !== undefined)
        .map((entry): Schema => ({ if: when('model', entry.type), then: clone(entry.factory.schema) })),
    ),
  };
}

/** `{ allOf }`, or nothing for no branches (an empty `allOf` is not a valid schema). */
const allOf = (branches: readonly Schema[]): Schema => (branches.length > 0 ? { allOf: branches } : {});

function clone(schema: JsonSchema | undefined): JsonSchema {
  return schema === undefined ? true : structuredClone(schema);
}
