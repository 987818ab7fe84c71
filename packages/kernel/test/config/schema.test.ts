import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { CONFIG_SCHEMA_ID, composeSchema } from '../../src/config/schema.ts';
import { validateConfig } from '../../src/config/validate.ts';
import { parseConfigText } from '../../src/config/source.ts';
import { usedTypes } from '../../src/config/used-types.ts';
import { PluginRegistry } from '../../src/engine/registry.ts';
import { isTributaryError } from '../../src/spi/errors.ts';
import { definePlugin } from '../../src/spi/plugin.ts';
import { inlinePlugin, jsonPlugin, queue, registry, tokenPlugin, web, webKafka } from './plugins.ts';

type Schema = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- walking JSON

/** The `then` of the `if` branch in `branches` whose discriminator `property` is `value`. */
function branch(branches: Schema[] | undefined, property: string, value: string): Schema | undefined {
  return branches?.find((b) => b['if']?.properties?.[property]?.const === value)?.['then'];
}

describe('composeSchema', () => {
  const schema = composeSchema(registry()) as Schema;

  it('is a valid draft 2020-12 schema that compiles in strict mode', () => {
    const ajv = new Ajv2020({ strict: true });
    expect(ajv.validateSchema(schema)).toBe(true);
    expect(() => ajv.compile(schema)).not.toThrow();
    expect(schema['$schema']).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema['$id']).toBe(CONFIG_SCHEMA_ID);
  });

  it('also compiles with no plugins installed', () => {
    const empty = composeSchema(new PluginRegistry()) as Schema;
    expect(() => new Ajv2020({ strict: true }).compile(empty)).not.toThrow();
    expect(empty['$defs'].binding.properties.type).not.toHaveProperty('enum');
  });

  it('describes the kernel-owned shape, closed to unknown properties', () => {
    expect(schema['required']).toEqual(['name', 'bindings']);
    expect(Object.keys(schema['properties'])).toEqual([
      '$schema',
      'name',
      'bindings',
      'guards',
      'catalogs',
      'vaults',
      'telemetry',
      'plugins',
    ]);
    const { binding, route, guard } = schema['$defs'];
    expect(schema['additionalProperties']).toBe(false);
    expect(binding.additionalProperties).toBe(false);
    expect(route.additionalProperties).toBe(false);
    expect(guard.additionalProperties).toBe(false);
    expect(schema['properties'].telemetry.additionalProperties).toBe(false);
    expect(Object.keys(binding.properties)).toEqual(['type', 'kind', 'options', 'routes', 'exit', 'vault']);
    expect(Object.keys(route.properties)).toEqual(['when', 'exit', 'with', 'guarded']);
    expect(route.required).toEqual(['exit']);
    expect(route.properties.guarded.additionalProperties.items).toEqual({ type: 'string' });
    expect(binding.title).toBe('Binding');
    expect(typeof binding.properties.kind.description).toBe('string');
  });

  it('offers the installed type names', () => {
    const defs = schema['$defs'];
    expect(defs.binding.properties.type.enum).toEqual(['web', 'web-kafka', 'queue']);
    expect(defs.guard.properties.type.enum).toEqual(['token']);
    expect(defs.catalog.properties.type.enum).toEqual(['inline']);
    expect(defs.model.properties.model.enum).toEqual(['json']);
  });

  it("applies each binding type's fragments in its branch", () => {
    const branches = schema['$defs'].binding.allOf as Schema[];
    const webBranch = branch(branches, 'type', 'web')!;
    expect(webBranch['properties'].kind).toEqual({ enum: ['server', 'client'] });
    expect(webBranch['properties'].options).toEqual(web.schema?.options);
    expect(webBranch['required']).toEqual(['options']);
    expect(webBranch['properties'].routes.items.properties.when.items).toEqual(web.schema?.when);
    expect(webBranch['properties'].routes.items.properties.with).toEqual(web.schema?.with);

    const proxy = branch(branches, 'type', 'web-kafka')!;
    expect(proxy['properties'].kind).toEqual({ enum: ['proxy'] });
    expect(proxy['properties']).not.toHaveProperty('options');
    expect(proxy['properties'].routes.items.properties.with).toEqual(webKafka.schema?.with);
  });

  it('nests per-kind options under the kind', () => {
    const queueBranch = branch(schema['$defs'].binding.allOf, 'type', 'queue')!;
    const options = queue.schema?.options as Schema;
    expect(branch(queueBranch['allOf'], 'kind', 'client')).toEqual({
      properties: { options: options['client'] },
      required: ['options'],
    });
    expect(branch(queueBranch['allOf'], 'kind', 'cache')).toEqual({
      properties: { options: options['cache'] },
    });
  });

  it('keys models by their model name and resource options by type', () => {
    const defs = schema['$defs'];
    expect(branch(defs.model.allOf, 'model', 'json')).toEqual(jsonPlugin.models.json.schema);
    expect(branch(defs.guard.allOf, 'type', 'token')?.['properties'].options).toEqual(
      tokenPlugin.guards.token.schema,
    );
    expect(branch(defs.catalog.allOf, 'type', 'inline')?.['properties'].options).toEqual(
      inlinePlugin.catalogs.inline.schema,
    );
  });

  it('copies fragments rather than sharing them', () => {
    const webBranch = branch(schema['$defs'].binding.allOf, 'type', 'web')!;
    expect(webBranch['properties'].options).not.toBe(web.schema?.options);
  });

  it('names the plugin whose fragment does not compile', () => {
    const bad = definePlugin({
      name: '@test/binding-bad',
      spi: '^1.0.0',
      bindings: {
        bad: {
          kinds: ['server'],
          schema: { options: { type: 'object', minProperties: 'two' } },
          create: () => ({}),
        },
      },
    });
    const custom = new PluginRegistry();
    custom.add(bad);
    const { source } = parseConfigText('name: x\nbindings: {}\n', 'g.yaml', {});
    let caught: unknown;
    try {
      validateConfig(source, custom);
    } catch (error) {
      caught = error;
    }
    expect(isTributaryError(caught) && caught.code).toBe('TRIB_PLUGIN_INVALID');
    expect((caught as Error).message).toMatch(
      /^package @test\/binding-bad is not a valid Tributary plugin: schema of binding type "bad" options: /,
    );
  });
});

describe('usedTypes', () => {
  it('lists every type with the pointers naming it', () => {
    const used = usedTypes({
      name: 'x',
      bindings: {
        a: { type: 'http', kind: 'server' },
        'b/c': { type: 'http', routes: [{ with: { value: { model: 'avro' }, key: { model: 'json' } } }] },
        d: { type: 'kafka', options: { value: { model: 'avro' }, model: 42 } },
        e: 'not an object',
      },
      guards: { jwt0: { type: 'jwt' } },
      catalogs: { reg: { type: 'schema-registry' }, bad: { type: 1 } },
      vaults: { v: { type: 'filesystem' } },
    });
    expect(Object.fromEntries(used.bindings)).toEqual({
      http: ['/bindings/a/type', '/bindings/b~1c/type'],
      kafka: ['/bindings/d/type'],
    });
    expect(Object.fromEntries(used.models)).toEqual({
      avro: ['/bindings/b~1c/routes/0/with/value/model', '/bindings/d/options/value/model'],
      json: ['/bindings/b~1c/routes/0/with/key/model'],
    });
    expect(Object.fromEntries(used.guards)).toEqual({ jwt: ['/guards/jwt0/type'] });
    expect(Object.fromEntries(used.catalogs)).toEqual({ 'schema-registry': ['/catalogs/reg/type'] });
    expect(Object.fromEntries(used.vaults)).toEqual({ filesystem: ['/vaults/v/type'] });
  });

  it('tolerates values of any shape', () => {
    for (const value of [null, 'text', [], { bindings: [] }]) {
      const used = usedTypes(value);
      expect([
        used.bindings.size,
        used.guards.size,
        used.catalogs.size,
        used.vaults.size,
        used.models.size,
      ]).toEqual([0, 0, 0, 0, 0]);
    }
  });
});
