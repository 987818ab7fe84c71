/**
 * Small fake plugins for the config tests: binding types with schema fragments, a guard, a
 * catalog and a model.
 */
import { PluginRegistry } from '../../src/engine/registry.ts';
import type { BindingFactory } from '../../src/spi/binding.ts';
import type { ConfigIssue } from '../../src/spi/config.ts';
import type { ModelConfig } from '../../src/spi/model.ts';
import { definePlugin } from '../../src/spi/plugin.ts';

const noop = () => ({});

export const web: BindingFactory = {
  kinds: ['server', 'client'],
  schema: {
    options: {
      type: 'object',
      required: ['port'],
      additionalProperties: false,
      properties: {
        port: { type: 'integer', minimum: 1, maximum: 65535 },
        host: { type: 'string' },
        secure: { type: 'boolean' },
      },
    },
    when: {
      type: 'object',
      additionalProperties: false,
      properties: { path: { type: 'string' }, method: { enum: ['GET', 'POST'] } },
    },
    with: { type: 'object', additionalProperties: false, properties: { topic: { type: 'string' } } },
  },
  create: noop,
};

/** A proxy: needs an exit; its `with` names a topic and may carry an inline model. */
export const webKafka: BindingFactory<unknown, { path?: string }, { topic: string }> = {
  kinds: ['proxy'],
  schema: {
    requiresExit: true,
    when: { type: 'object', additionalProperties: false, properties: { path: { type: 'string' } } },
    with: {
      type: 'object',
      required: ['topic'],
      additionalProperties: false,
      properties: {
        topic: { type: 'string' },
        key: { type: 'string' },
        value: { $ref: '#/$defs/model' },
        catalog: { type: 'string' },
      },
    },
  },
  validate(config): ConfigIssue[] {
    return config.routes.flatMap((route, index) =>
      route.with?.topic.startsWith('_')
        ? [
            {
              code: 'TRIB_WEBKAFKA_INTERNAL_TOPIC',
              message: `topic ${route.with.topic} is internal`,
              pointer: `/bindings/${config.name}/routes/${index}/with/topic`,
            },
          ]
        : [],
    );
  },
  create: noop,
};

/** Options differ per kind. */
export const queue: BindingFactory = {
  kinds: ['client', 'cache'],
  schema: {
    options: {
      client: {
        type: 'object',
        required: ['servers'],
        additionalProperties: false,
        properties: { servers: { type: 'array', items: { type: 'string' }, minItems: 1 } },
      },
      cache: {
        type: 'object',
        additionalProperties: false,
        properties: { bootstrap: { type: 'array', items: { type: 'string' } } },
      },
    },
  },
  create: noop,
};

export const webPlugin = definePlugin({
  name: '@test/binding-web',
  spi: '^1.0.0',
  bindings: { web, 'web-kafka': webKafka },
});

export const queuePlugin = definePlugin({ name: '@test/binding-queue', spi: '^1.0.0', bindings: { queue } });

export const tokenPlugin = definePlugin({
  name: '@test/guard-token',
  spi: '^1.0.0',
  guards: {
    token: {
      schema: {
        type: 'object',
        required: ['secret'],
        additionalProperties: false,
        properties: { secret: { type: 'string' }, roles: { type: 'array', items: { type: 'string' } } },
      },
      create: () => ({ authorize: () => Promise.reject(new Error('not used')) }),
    },
  },
});

export const inlinePlugin = definePlugin({
  name: '@test/catalog-inline',
  spi: '^1.0.0',
  catalogs: {
    inline: {
      schema: { type: 'object', properties: { subjects: { type: 'object' } }, additionalProperties: false },
      create: () => ({
        resolve: () => Promise.reject(new Error('not used')),
        lookup: () => undefined,
      }),
    },
  },
});

export const jsonPlugin = definePlugin({
  name: '@test/model-json',
  spi: '^1.0.0',
  models: {
    json: {
      schema: {
        type: 'object',
        required: ['model'],
        additionalProperties: false,
        properties: {
          model: { const: 'json' },
          catalog: {
            type: 'object',
            additionalProperties: { type: 'array', items: { type: 'object' } },
          },
        },
      },
      validate(config: ModelConfig, pointer: string): ConfigIssue[] {
        const catalogs = Object.keys((config['catalog'] as Record<string, unknown> | undefined) ?? {});
        return catalogs.length > 1
          ? [{ code: 'TRIB_JSON_ONE_CATALOG', message: 'use one catalog', pointer: `${pointer}/catalog` }]
          : [];
      },
      create: () => ({ validate: () => ({ ok: true as const, value: undefined }) }),
    },
  },
});

export function registry(): PluginRegistry {
  const registry = new PluginRegistry();
  for (const plugin of [webPlugin, queuePlugin, tokenPlugin, inlinePlugin, jsonPlugin]) registry.add(plugin);
  return registry;
}
