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

/** The value at a path of property names / indexes inside a JSON value; undefined when absent. */
function at(value: unknown, ...path: (string | number)[]): unknown {
  let current = value;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

/** The `then` of the `if` branch in the `allOf` at `path` whose `property` is `value`. */
function branch(value: unknown, property: string, wanted: string): unknown {
  const branches = value;
  if (!Array.isArray(branches)) return undefined;
  const found: unknown = branches.find((b) => at(b, 'if', 'properties', property, 'const') === wanted);
  return at(found, 'then');
}

describe('composeSchema', () => {
  const schema = composeSchema(registry());
  const defs = (...path: (string | number)[]) => at(schema, '$defs', ...path);

  it('is a valid draft 2020-12 schema that compiles in strict mode', () => {
    const ajv = new Ajv2020({ strict: true });
    expect(ajv.validateSchema(schema)).toBe(true);
    expect(() => ajv.compile(schema)).not.toThrow();
    expect(schema['$schema']).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema['$id']).toBe(CONFIG_SCHEMA_ID);
  });

  it('also compiles with no plugins installed', () => {
    const empty = composeSchema(new PluginRegistry());
    expect(() => new Ajv2020({ strict: true }).compile(empty)).not.toThrow();
    expect(at(empty, '$defs', 'binding', 'properties', 'type')).not.toHaveProperty('enum');
    expect(at(empty, '$defs', 'binding')).not.toHaveProperty('allOf');
  });

  it('describes the kernel-owned shape, closed to unknown properties', () => {
    expect(schema['required']).toEqual(['name', 'bindings']);
    expect(Object.keys(at(schema, 'properties') as object)).toEqual([
      '$schema',
      'name',
      'bindings',
      'guards',
      'catalogs',
      'vaults',
      'telemetry',
      'plugins',
    ]);
    expect(schema['additionalProperties']).toBe(false);
    for (const def of ['binding', 'route', 'guard', 'catalog', 'vault']) {
      expect(defs(def, 'additionalProperties')).toBe(false);
    }
    expect(at(schema, 'properties', 'telemetry', 'additionalProperties')).toBe(false);
    expect(at(schema, 'properties', 'bindings', 'additionalProperties')).toEqual({ $ref: '#/$defs/binding' });
    expect(Object.keys(defs('binding', 'properties') as object)).toEqual([
      'type',
      'kind',
      'options',
      'routes',
      'exit',
      'vault',
    ]);
    expect(defs('binding', 'required')).toEqual(['type', 'kind']);
    expect(Object.keys(defs('route', 'properties') as object)).toEqual(['when', 'exit', 'with', 'guarded']);
    expect(defs('route', 'required')).toEqual(['exit']);
    expect(defs('route', 'properties', 'guarded', 'additionalProperties', 'items')).toEqual({
      type: 'string',
    });
    expect(defs('binding', 'title')).toBe('Binding');
    expect(typeof defs('binding', 'properties', 'kind', 'description')).toBe('string');
  });

  it('offers the installed type names', () => {
    expect(defs('binding', 'properties', 'type', 'enum')).toEqual(['web', 'web-kafka', 'queue']);
    expect(defs('guard', 'properties', 'type', 'enum')).toEqual(['token']);
    expect(defs('catalog', 'properties', 'type', 'enum')).toEqual(['inline']);
    expect(defs('model', 'properties', 'model', 'enum')).toEqual(['json']);
  });

  it("applies each binding type's fragments in its branch", () => {
    const webBranch = branch(defs('binding', 'allOf'), 'type', 'web');
    expect(at(webBranch, 'properties', 'kind')).toEqual({ enum: ['server', 'client'] });
    expect(at(webBranch, 'properties', 'options')).toEqual(web.schema?.options);
    expect(at(webBranch, 'required')).toEqual(['options']);
    expect(at(webBranch, 'properties', 'routes', 'items', 'properties', 'when', 'items')).toEqual(
      web.schema?.when,
    );
    expect(at(webBranch, 'properties', 'routes', 'items', 'properties', 'with')).toEqual(web.schema?.with);

    const proxy = branch(defs('binding', 'allOf'), 'type', 'web-kafka');
    expect(at(proxy, 'properties', 'kind')).toEqual({ enum: ['proxy'] });
    expect(at(proxy, 'properties')).not.toHaveProperty('options');
    expect(at(proxy, 'properties', 'routes', 'items', 'properties', 'with')).toEqual(webKafka.schema?.with);
  });

  it('nests per-kind options under the kind', () => {
    const queueBranch = branch(defs('binding', 'allOf'), 'type', 'queue');
    const options = queue.schema?.options;
    expect(branch(at(queueBranch, 'allOf'), 'kind', 'client')).toEqual({
      properties: { options: at(options, 'client') },
      required: ['options'],
    });
    expect(branch(at(queueBranch, 'allOf'), 'kind', 'cache')).toEqual({
      properties: { options: at(options, 'cache') },
    });
  });

  it('keys models by their model name and resource options by type', () => {
    expect(branch(defs('model', 'allOf'), 'model', 'json')).toEqual(jsonPlugin.models.json.schema);
    expect(at(branch(defs('guard', 'allOf'), 'type', 'token'), 'properties', 'options')).toEqual(
      tokenPlugin.guards.token.schema,
    );
    expect(at(branch(defs('catalog', 'allOf'), 'type', 'inline'), 'properties', 'options')).toEqual(
      inlinePlugin.catalogs.inline.schema,
    );
  });

  it('copies fragments rather than sharing them', () => {
    const webBranch = branch(defs('binding', 'allOf'), 'type', 'web');
    expect(at(webBranch, 'properties', 'options')).not.toBe(web.schema?.options);
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
