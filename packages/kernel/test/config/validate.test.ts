import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { parseConfigText } from '../../src/config/source.ts';
import { validateConfig } from '../../src/config/validate.ts';
import { PluginRegistry } from '../../src/engine/registry.ts';
import { errors } from '../../src/errors.ts';
import { isTributaryError, type TributaryError } from '../../src/spi/errors.ts';
import { definePlugin } from '../../src/spi/plugin.ts';
import { brief, check, fixture, yaml } from './helpers.ts';
import { jsonPlugin, registry } from './plugins.ts';

async function loadError(file: string, env: Record<string, string> = {}): Promise<TributaryError> {
  const error: unknown = await loadConfig(file, registry(), { env }).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isTributaryError(error)) throw new Error(`expected a TributaryError, got ${String(error)}`);
  return error;
}

/** `name` + a bindings block, one line per argument, starting at line 3. */
const gateway = (...bindings: string[]) => yaml('name: g', 'bindings:', ...bindings);

describe('a file with several mistakes', () => {
  it('reports every one at once, each with file, line, column and pointer', async () => {
    const file = fixture('mistakes.yaml');
    const error = await loadError(file);
    expect(error.code).toBe('TRIB_CONFIG_INVALID');
    expect(error.message).toBe(`configuration ${file} has 6 problem(s)`);
    expect(error.issues.every((issue) => issue.file === file)).toBe(true);
    expect(error.issues.map(brief)).toEqual([
      '7:13 TRIB_CONFIG_SCHEMA /bindings/north/options/port must be integer',
      '8:7 TRIB_CONFIG_SCHEMA /bindings/north/options/prot unknown property "prot" (did you mean "port"?)',
      '11:11 TRIB_CONFIG_UNKNOWN_TYPE /bindings/api/type no installed plugin provides binding type "web-kafak" (did you mean "web-kafka"?)',
      '15:15 TRIB_CONFIG_DANGLING_EXIT /bindings/api/routes/0/exit exit "kafka_clinet" is not a binding (did you mean "kafka_client"?)',
      '16:20 TRIB_CONFIG_UNKNOWN_GUARD /bindings/api/routes/0/guarded/jwt guard "jwt" is not defined under guards',
      '21:17 TRIB_CONFIG_ENV_MISSING /bindings/kafka_client/options/servers/0 environment variable KAFKA_BOOTSTRAP is not set and has no default',
    ]);
  });

  it('reports an unset variable once, not again as the problem it causes', async () => {
    const error = await loadError(fixture('env-exit.yaml'), { PORT: '8080' });
    expect(error.issues.map(brief)).toEqual([
      '8:11 TRIB_CONFIG_ENV_MISSING /bindings/north/exit environment variable NORTH_EXIT is not set and has no default',
    ]);
  });

  it('loads the same file once the environment is complete', async () => {
    const { config } = await loadConfig(fixture('env-exit.yaml'), registry(), {
      env: { PORT: '8080', NORTH_EXIT: 'api' },
    });
    expect(config.bindings['north']).toEqual({
      name: 'north',
      type: 'web',
      kind: 'server',
      options: { port: 8080 },
      routes: [],
      exit: 'api',
    });
  });

  it('does not validate a document with syntax errors', async () => {
    const error = await loadError(fixture('broken.yaml'));
    expect(error.issues.map((issue) => issue.code)).toEqual([
      'TRIB_CONFIG_SYNTAX',
      'TRIB_CONFIG_SYNTAX',
      'TRIB_CONFIG_SYNTAX',
    ]);
  });
});

describe('unknown types', () => {
  it('reports one issue per use of an unknown type, and no schema noise about it', () => {
    const { issues } = check(
      yaml(
        'name: g',
        'bindings:',
        '  a: { type: webb, kind: server, options: { anything: 1 } }',
        '  b: { type: webb, kind: client }',
        'guards:',
        '  g: { type: tokn }',
        'catalogs:',
        '  c: { type: registry }',
        'vaults:',
        '  v: { type: files }',
      ),
    );
    expect(issues.map(brief)).toEqual([
      '3:14 TRIB_CONFIG_UNKNOWN_TYPE /bindings/a/type no installed plugin provides binding type "webb" (did you mean "web"?)',
      '4:14 TRIB_CONFIG_UNKNOWN_TYPE /bindings/b/type no installed plugin provides binding type "webb" (did you mean "web"?)',
      '6:14 TRIB_CONFIG_UNKNOWN_TYPE /guards/g/type no installed plugin provides guard type "tokn" (did you mean "token"?)',
      '8:14 TRIB_CONFIG_UNKNOWN_TYPE /catalogs/c/type no installed plugin provides catalog type "registry"',
      '10:14 TRIB_CONFIG_UNKNOWN_TYPE /vaults/v/type no installed plugin provides vault type "files"',
    ]);
  });

  it('reports unknown model types wherever a model is configured under bindings', () => {
    const { issues } = check(
      gateway(
        '  p:',
        '    type: web-kafka',
        '    kind: proxy',
        '    routes:',
        '      - exit: p2',
        '        with: { topic: t, value: { model: jsn } }',
        '  p2: { type: web, kind: client, options: { port: 1 } }',
      ),
    );
    expect(issues.map(brief)).toEqual([
      '8:43 TRIB_CONFIG_UNKNOWN_TYPE /bindings/p/routes/0/with/value/model no installed plugin provides model type "jsn" (did you mean "json"?)',
    ]);
  });

  it('asks options.unknownType for a better issue, positioning it when it has no position', () => {
    const calls: unknown[] = [];
    const { issues } = check(
      gateway('  a: { type: mqtt, kind: server }', '  b: { type: other, kind: server }'),
      {
        unknownType(kind, type, pointer) {
          calls.push([kind, type, pointer]);
          if (type !== 'mqtt') return undefined;
          const error = errors.TRIB_PLUGIN_NOT_INSTALLED({
            what: 'binding',
            type,
            pkg: '@tributary/binding-mqtt',
          });
          return { code: error.code, message: error.message, pointer };
        },
      },
    );
    expect(calls).toEqual([
      ['bindings', 'mqtt', '/bindings/a/type'],
      ['bindings', 'other', '/bindings/b/type'],
    ]);
    expect(issues.map(brief)).toEqual([
      '3:14 TRIB_PLUGIN_NOT_INSTALLED /bindings/a/type binding type "mqtt" is provided by @tributary/binding-mqtt, which is not installed: run `npm install @tributary/binding-mqtt`',
      '4:14 TRIB_CONFIG_UNKNOWN_TYPE /bindings/b/type no installed plugin provides binding type "other"',
    ]);
    expect(issues[0]?.file).toBe('gateway.yaml');
  });
});

describe('kinds', () => {
  it('reports a kind the type does not support once, naming the supported ones', () => {
    const { issues } = check(gateway('  a:', '    type: web', '    kind: proxy', '    options: { port: 1 }'));
    expect(issues.map(brief)).toEqual([
      '5:11 TRIB_CONFIG_UNSUPPORTED_KIND /bindings/a/kind web bindings have no kind "proxy" (supported: server, client)',
    ]);
  });

  it('reports a misspelt kind of a known type as unsupported, not as a schema enum error', () => {
    const { issues } = check(gateway('  a: { type: web, kind: servr, options: { port: 1 } }'));
    expect(issues.map(brief)).toEqual([
      '3:25 TRIB_CONFIG_UNSUPPORTED_KIND /bindings/a/kind web bindings have no kind "servr" (supported: server, client)',
    ]);
  });

  it('checks a kind against all kinds when the type is unknown', () => {
    const { issues } = check(gateway('  a: { type: nope, kind: servr }'));
    expect(issues.map(brief)).toEqual([
      '3:14 TRIB_CONFIG_UNKNOWN_TYPE /bindings/a/type no installed plugin provides binding type "nope"',
      '3:26 TRIB_CONFIG_SCHEMA /bindings/a/kind must be one of: server, proxy, client, cache, remote_server',
    ]);
  });

  it('applies the options schema of the binding kind', () => {
    const { issues } = check(
      gateway(
        '  client: { type: queue, kind: client, options: {} }',
        '  cache: { type: queue, kind: cache, options: { servers: [a], bootstrp: [t] } }',
        '  bare: { type: queue, kind: client }',
      ),
    );
    expect(issues.map(brief)).toEqual([
      '3:49 TRIB_CONFIG_SCHEMA /bindings/client/options/servers missing required property "servers"',
      '4:49 TRIB_CONFIG_SCHEMA /bindings/cache/options/servers unknown property "servers"',
      '4:63 TRIB_CONFIG_SCHEMA /bindings/cache/options/bootstrp unknown property "bootstrp" (did you mean "bootstrap"?)',
      '5:9 TRIB_CONFIG_SCHEMA /bindings/bare/options missing required property "options"',
    ]);
  });
});

describe('schema errors', () => {
  it('reports the error inside a type branch without "must match then schema" noise', () => {
    const { issues } = check(
      gateway(
        '  a:',
        '    type: web',
        '    kind: server',
        '    options: { port: 0, secure: yes }',
        '    routes:',
        '      - when: [{ path: 1, methd: GET }]',
        '        exit: a',
        '        with: { topic: [t] }',
        '    color: red',
      ),
    );
    expect(issues.map(brief)).toEqual([
      '6:22 TRIB_CONFIG_SCHEMA /bindings/a/options/port must be >= 1',
      '6:33 TRIB_CONFIG_SCHEMA /bindings/a/options/secure must be boolean',
      '8:24 TRIB_CONFIG_SCHEMA /bindings/a/routes/0/when/0/path must be string',
      '8:27 TRIB_CONFIG_SCHEMA /bindings/a/routes/0/when/0/methd unknown property "methd" (did you mean "method"?)',
      '9:15 TRIB_CONFIG_ROUTE_CYCLE /bindings/a/routes/0/exit routes form a cycle: a → a',
      '10:24 TRIB_CONFIG_SCHEMA /bindings/a/routes/0/with/topic must be string',
      '11:5 TRIB_CONFIG_SCHEMA /bindings/a/color unknown property "color"',
    ]);
  });

  it('reports missing top-level sections and misspelt ones', () => {
    const { issues } = check(yaml('bindngs: {}', 'telemetry: { logLevel: loud }'));
    expect(issues.map(brief)).toEqual([
      '1:1 TRIB_CONFIG_SCHEMA /bindings missing required property "bindings"',
      '1:1 TRIB_CONFIG_SCHEMA /bindngs unknown property "bindngs" (did you mean "bindings"?)',
      '1:1 TRIB_CONFIG_SCHEMA /name missing required property "name"',
      '2:24 TRIB_CONFIG_SCHEMA /telemetry/logLevel must be one of: fatal, error, warn, info, debug, trace, silent',
    ]);
  });

  it('collapses oneOf alternatives to the one meant', () => {
    const alternatives = definePlugin({
      name: '@test/binding-alt',
      spi: '^1.0.0',
      bindings: {
        alt: {
          kinds: ['server'],
          schema: {
            options: {
              type: 'object',
              properties: {
                listen: {
                  oneOf: [
                    {
                      type: 'object',
                      required: ['port'],
                      properties: { port: { type: 'integer' } },
                      additionalProperties: false,
                    },
                    {
                      type: 'object',
                      required: ['path'],
                      properties: { path: { type: 'string' } },
                      additionalProperties: false,
                    },
                    { type: 'string' },
                  ],
                },
                mode: {
                  oneOf: [
                    { type: 'object', required: ['kind'], properties: { kind: { const: 'a' } } },
                    { type: 'object', required: ['kind'], properties: { kind: { const: 'b' } } },
                  ],
                },
                value: { $ref: '#/$defs/model' },
              },
            },
          },
          create: () => ({}),
        },
      },
    });
    const custom = new PluginRegistry();
    custom.add(alternatives);
    custom.add(jsonPlugin);
    const { issues } = check(
      gateway(
        '  s:',
        '    type: alt',
        '    kind: server',
        '    options:',
        '      listen: { port: "80" }',
        '      mode: { kind: c }',
        '      value: { model: json, catalg: {} }',
        '  t: { type: alt, kind: server, options: { listen: 5 } }',
      ),
      { registry: custom },
    );
    expect(issues.map(brief)).toEqual([
      '7:23 TRIB_CONFIG_SCHEMA /bindings/s/options/listen/port must be integer',
      '8:21 TRIB_CONFIG_SCHEMA /bindings/s/options/mode/kind must be one of: a, b',
      '9:29 TRIB_CONFIG_SCHEMA /bindings/s/options/value/catalg unknown property "catalg" (did you mean "catalog"?)',
      '10:52 TRIB_CONFIG_SCHEMA /bindings/t/options/listen must be object or string',
    ]);
  });
});

describe('references between parts', () => {
  it('reports dangling exits, unknown vaults and unknown catalogs where they are named', () => {
    const { issues } = check(
      yaml(
        'name: g',
        'bindings:',
        '  a:',
        '    type: web-kafka',
        '    kind: proxy',
        '    vault: secrets',
        '    exit: nowhere',
        '    routes:',
        '      - exit: elsewhere',
        '        with:',
        '          topic: t',
        '          value:',
        '            model: json',
        '            catalog:',
        '              registy: [{ subject: s }]',
        '  b:',
        '    type: web',
        '    kind: client',
        '    options: { port: 1 }',
        '    exit: a',
        'catalogs:',
        '  registry: { type: inline }',
        'vaults:',
        '  secret: { type: files }',
      ),
      { registry: registryWithVault() },
    );
    expect(issues.map(brief)).toEqual([
      '6:12 TRIB_CONFIG_UNKNOWN_VAULT /bindings/a/vault vault "secrets" is not defined under vaults (did you mean "secret"?)',
      '7:11 TRIB_CONFIG_DANGLING_EXIT /bindings/a/exit exit "nowhere" is not a binding',
      '9:15 TRIB_CONFIG_DANGLING_EXIT /bindings/a/routes/0/exit exit "elsewhere" is not a binding',
      '15:15 TRIB_CONFIG_UNKNOWN_CATALOG /bindings/a/routes/0/with/value/catalog/registy catalog "registy" is not defined under catalogs (did you mean "registry"?)',
    ]);
  });

  it('checks catalogs named by a string `catalog` property', () => {
    const { issues } = check(
      gateway(
        '  p:',
        '    type: web-kafka',
        '    kind: proxy',
        '    routes:',
        '      - exit: c',
        '        with: { topic: t, catalog: schemas }',
        '  c: { type: web, kind: client, options: { port: 1 } }',
      ),
    );
    expect(issues.map(brief)).toEqual([
      '8:36 TRIB_CONFIG_UNKNOWN_CATALOG /bindings/p/routes/0/with/catalog catalog "schemas" is not defined under catalogs',
    ]);
  });

  it('requires an exit or routes of a binding whose factory says so', () => {
    const { issues } = check(gateway('  p:', '    type: web-kafka', '    kind: proxy'));
    expect(issues.map(brief)).toEqual([
      '3:3 TRIB_CONFIG_MISSING_EXIT /bindings/p web-kafka proxy binding "p" needs an exit or routes',
    ]);
  });

  it('names every route cycle once, at the exit that starts it', async () => {
    const error = await loadError(fixture('cycle.yaml'));
    expect(error.issues.map(brief)).toEqual([
      '8:15 TRIB_CONFIG_ROUTE_CYCLE /bindings/a/routes/0/exit routes form a cycle: a → b → a',
      '18:11 TRIB_CONFIG_ROUTE_CYCLE /bindings/c/exit routes form a cycle: c → c',
    ]);
  });

  it('finds a cycle entered from outside it and starts it at its first binding', () => {
    const { issues } = check(
      gateway(
        '  entry: { type: web, kind: server, options: { port: 1 }, exit: x }',
        '  y: { type: web-kafka, kind: proxy, exit: z }',
        '  x: { type: web-kafka, kind: proxy, exit: y }',
        '  z: { type: web-kafka, kind: proxy, exit: x }',
      ),
    );
    expect(issues.map(brief)).toEqual([
      '4:44 TRIB_CONFIG_ROUTE_CYCLE /bindings/y/exit routes form a cycle: y → z → x → y',
    ]);
  });
});

describe('runtime templates in `with`', () => {
  const route = (...withLines: string[]) =>
    yaml(
      'name: g',
      'bindings:',
      '  p:',
      '    type: web-kafka',
      '    kind: proxy',
      '    routes:',
      '      - exit: c',
      '        with:',
      '          topic: t',
      ...withLines,
      '  c: { type: web, kind: client, options: { port: 1 } }',
      'guards:',
      '  jwt0: { type: token, options: { secret: s } }',
    );

  it('accepts the templates the engine resolves', () => {
    const { issues } = check(
      route(
        `          key: "\${params.id}-\${idempotencyKey}-\${guarded['jwt0'].identity}-\${guarded['jwt0'].attributes.sub}"`,
      ),
    );
    expect(issues).toEqual([]);
  });

  it('reports unclosed templates, unknown roots and misused roots', () => {
    const lines = [
      '          key: "${params.id"', // 10
      '          value: { model: json, catalog: {} }', // 11 (valid: no template)
    ];
    expect(check(route(...lines)).issues.map(brief)).toEqual([
      '10:16 TRIB_CONFIG_TEMPLATE /bindings/p/routes/0/with/key malformed template ${params.id: unclosed "${"',
    ]);
    expect(check(route('          key: "${env.KEY}"')).issues.map(brief)).toEqual([
      '10:16 TRIB_CONFIG_TEMPLATE /bindings/p/routes/0/with/key malformed template ${env.KEY}: unknown root "env" (expected one of params, idempotencyKey, correlationId, guarded, vars)',
    ]);
    expect(check(route('          key: "a-${params}"')).issues.map(brief)).toEqual([
      '10:16 TRIB_CONFIG_TEMPLATE /bindings/p/routes/0/with/key malformed template ${params}: expected params.<name>',
    ]);
    expect(check(route(`          key: "\${guarded['jwt0'].name}"`)).issues.map(brief)).toEqual([
      `10:16 TRIB_CONFIG_TEMPLATE /bindings/p/routes/0/with/key malformed template \${guarded['jwt0'].name}: expected guarded['<guard>'] followed by .identity, .attributes.<name> or .roles`,
    ]);
  });

  it('reports a guard a template names but the config does not define', () => {
    expect(check(route(`          key: "\${guarded['jwt1'].identity}"`)).issues.map(brief)).toEqual([
      '10:16 TRIB_CONFIG_UNKNOWN_GUARD /bindings/p/routes/0/with/key guard "jwt1" is not defined under guards (did you mean "jwt0"?)',
    ]);
  });
});

describe('plugin validation', () => {
  it("adds positions to a binding factory's issues", () => {
    const { issues, config } = check(
      gateway(
        '  p:',
        '    type: web-kafka',
        '    kind: proxy',
        '    routes:',
        '      - exit: c',
        '        with: { topic: _internal }',
        '  c: { type: web, kind: client, options: { port: 1 } }',
      ),
    );
    expect(config).toBeUndefined();
    expect(issues).toEqual([
      {
        code: 'TRIB_WEBKAFKA_INTERNAL_TOPIC',
        message: 'topic _internal is internal',
        pointer: '/bindings/p/routes/0/with/topic',
        file: 'gateway.yaml',
        line: 8,
        column: 24,
      },
    ]);
  });

  it('runs only when the schema and cross-checks found nothing', () => {
    const { issues } = check(
      gateway(
        '  p:',
        '    type: web-kafka',
        '    kind: proxy',
        '    routes:',
        '      - exit: c',
        '        with: { topic: _internal }',
        '  c: { type: web, kind: client, options: { port: "1" } }',
      ),
    );
    expect(issues.map((issue) => issue.code)).toEqual(['TRIB_CONFIG_SCHEMA']);
  });

  it('passes model validation the pointer of the model', () => {
    const { issues } = check(
      yaml(
        'name: g',
        'bindings:',
        '  p:',
        '    type: web-kafka',
        '    kind: proxy',
        '    exit: c',
        '    routes:',
        '      - exit: c',
        '        with:',
        '          topic: t',
        '          value: { model: json, catalog: { a: [], b: [] } }',
        '  c: { type: web, kind: client, options: { port: 1 } }',
        'catalogs:',
        '  a: { type: inline }',
        '  b: { type: inline }',
      ),
    );
    expect(issues.map(brief)).toEqual([
      '11:42 TRIB_JSON_ONE_CATALOG /bindings/p/routes/0/with/value/catalog use one catalog',
    ]);
  });

  it('reports a throwing validate as an issue of the plugin', () => {
    const throwing = definePlugin({
      name: '@test/binding-throws',
      spi: '^1.0.0',
      bindings: {
        boom: {
          kinds: ['server'],
          validate() {
            throw new Error('kaboom');
          },
          create: () => ({}),
        },
      },
    });
    const custom = new PluginRegistry();
    custom.add(throwing);
    const { issues } = check(gateway('  b: { type: boom, kind: server }'), { registry: custom });
    expect(issues.map(brief)).toEqual([
      '3:6 TRIB_CONFIG_VALIDATE_FAILED /bindings/b binding "b" could not be validated by @test/binding-throws: kaboom',
    ]);
  });
});

describe('normalised configuration', () => {
  it('fills names and defaults', async () => {
    const { config, source } = await loadConfig(fixture('valid.yaml'), registry(), { env: {} });
    expect(source.file).toBe(fixture('valid.yaml'));
    expect(config).toEqual({
      name: 'items',
      bindings: {
        north: {
          name: 'north',
          type: 'web',
          kind: 'server',
          options: { port: 7114 },
          routes: [],
          exit: 'items_api',
        },
        items_api: {
          name: 'items_api',
          type: 'web-kafka',
          kind: 'proxy',
          options: {},
          routes: [
            {
              when: [{ path: '/items' }],
              exit: 'cache',
              with: {
                topic: 'items',
                key: '${idempotencyKey}',
                value: { model: 'json', catalog: { schemas: [{ subject: 'items-value' }] } },
              },
              guarded: { token0: ['write'] },
            },
            { when: [], exit: 'cache', with: { topic: 'items', key: '${params.id}' } },
          ],
        },
        cache: { name: 'cache', type: 'queue', kind: 'cache', options: {}, routes: [], exit: 'client' },
        client: {
          name: 'client',
          type: 'queue',
          kind: 'client',
          options: { servers: ['localhost:9092'] },
          routes: [],
        },
      },
      guards: { token0: { name: 'token0', type: 'token', options: { secret: 's3cret' } } },
      catalogs: { schemas: { name: 'schemas', type: 'inline', options: {} } },
      vaults: {},
      telemetry: {},
    });
    expect(Object.keys(config.bindings['north']!)).not.toContain('vault');
    expect(Object.keys(config)).not.toContain('plugins');
  });

  it('keeps telemetry and plugins, and ignores $schema', () => {
    const { config, issues } = check(
      yaml(
        '$schema: ./tributary.schema.json',
        'name: g',
        'bindings: {}',
        'telemetry: { logLevel: debug, redact: [req.headers.cookie] }',
        'plugins: ["@tributary/binding-http"]',
      ),
      { registry: new PluginRegistry() },
    );
    expect(issues).toEqual([]);
    expect(config).toEqual({
      name: 'g',
      bindings: {},
      guards: {},
      catalogs: {},
      vaults: {},
      telemetry: { logLevel: 'debug', redact: ['req.headers.cookie'] },
      plugins: ['@tributary/binding-http'],
    });
  });

  it('converts environment values in the configuration, not in the source value', () => {
    const text = gateway(
      '  a:',
      '    type: web',
      '    kind: server',
      '    options:',
      '      port: ${{ env.PORT }}',
    );
    const { source } = parseConfigText(text, 'gateway.yaml', { PORT: '80' });
    const { config } = validateConfig(source, registry());
    expect(config?.bindings['a']?.options).toEqual({ port: 80 });
    expect(source.value).toEqual({
      name: 'g',
      bindings: { a: { type: 'web', kind: 'server', options: { port: '80' } } },
    });
  });
});

function registryWithVault(): PluginRegistry {
  const custom = registry();
  custom.add(
    definePlugin({
      name: '@test/vault-files',
      spi: '^1.0.0',
      vaults: {
        files: {
          create: () => ({ key: () => undefined, certificate: () => undefined, trust: () => undefined }),
        },
      },
    }),
  );
  return custom;
}
