import { describe, expect, it } from 'vitest';
import { parseConfigText, readConfigFile } from '../../src/config/source.ts';
import { isTributaryError } from '../../src/spi/errors.ts';
import { brief, fixture, yaml } from './helpers.ts';

describe('parsing YAML', () => {
  it('reports every syntax error with its position and the pointer of the node around it', async () => {
    const file = fixture('broken.yaml');
    const { issues } = await readConfigFile(file, {});
    expect(issues.every((issue) => issue.file === file)).toBe(true);
    expect(issues.map(brief)).toEqual([
      '5:5 TRIB_CONFIG_SYNTAX /bindings/a/type syntax error: Map keys must be unique',
      '7:3 TRIB_CONFIG_SYNTAX /bindings/a/options syntax error: Flow map in block collection must be sufficiently indented and end with a }',
      '8:1 TRIB_CONFIG_SYNTAX /bindings/b syntax error: Missing closing "quote',
    ]);
  });

  it('reads a valid document', () => {
    const { source, issues } = parseConfigText(yaml('name: x', 'bindings: {}'), 'g.yaml', {});
    expect(issues).toEqual([]);
    expect(source.value).toEqual({ name: 'x', bindings: {} });
    expect(source.file).toBe('g.yaml');
  });

  it('rejects a second document', () => {
    const { issues } = parseConfigText(yaml('name: a', '---', 'name: b'), 'g.yaml', {});
    expect(issues.map((issue) => [issue.code, issue.line, issue.column])).toEqual([
      ['TRIB_CONFIG_SYNTAX', 2, 1],
    ]);
    expect(issues[0]?.message).toMatch(/multiple documents/);
  });

  it('resolves anchors, aliases and merge keys', () => {
    const { source, issues } = parseConfigText(
      yaml('defaults: &d { kind: server, options: { port: 1 } }', 'a: { <<: *d, type: web }', 'b: *d'),
      'g.yaml',
      {},
    );
    expect(issues).toEqual([]);
    expect(source.value).toMatchObject({
      a: { kind: 'server', options: { port: 1 }, type: 'web' },
      b: { kind: 'server', options: { port: 1 } },
    });
  });
});

describe('parsing JSON', () => {
  it('applies JSON rules to .json files and positions every error', async () => {
    const file = fixture('broken.json');
    const { issues } = await readConfigFile(file, {});
    expect(issues.map(brief)).toEqual([
      '3:3 TRIB_CONFIG_SYNTAX /name syntax error: Map keys must be unique',
      '4:22 TRIB_CONFIG_SYNTAX /bindings/a syntax error: Unresolved plain scalar "tru"',
    ]);
  });

  it('reads valid JSON and locates its nodes', async () => {
    const { source, issues } = await readConfigFile(fixture('valid.json'), {});
    expect(issues).toEqual([]);
    expect(source.value).toEqual({
      name: 'json',
      bindings: { north: { type: 'web', kind: 'server', options: { port: 8080 } } },
    });
    expect(source.locate('/bindings/north/options/port')).toEqual({ line: 4, column: 70 });
  });

  it('reads JSON content under any extension, and YAML flow style as YAML', () => {
    const json = parseConfigText('{ "name": "x", "bindings": {} }', 'gateway.conf', {});
    expect(json.issues).toEqual([]);
    expect(json.source.value).toEqual({ name: 'x', bindings: {} });
    const flow = parseConfigText('{ name: x, enabled: true }', 'gateway.conf', {});
    expect(flow.issues).toEqual([]);
    expect(flow.source.value).toEqual({ name: 'x', enabled: true });
    const duplicate = parseConfigText('{ "a": 1, "a": 2 }', 'gateway.conf', {});
    expect(duplicate.issues.map(brief)).toEqual([
      '1:11 TRIB_CONFIG_SYNTAX /a syntax error: Map keys must be unique',
    ]);
  });
});

describe('locate', () => {
  const { source } = parseConfigText(
    yaml(
      'name: x', //                                   1
      'bindings:', //                                 2
      '  north:', //                                  3
      '    type: web', //                             4
      '    options:', //                              5
      '      port: 80', //                            6
      '    routes:', //                               7
      '      - exit: a', //                           8
      '        with: { topic: t }', //                9
      '  "a/b~c": { type: web }', //                  10
      '  empty:', //                                  11
    ),
    'g.yaml',
    {},
  );

  it('positions scalars at their value and keys on request', () => {
    expect(source.locate('/bindings/north/type')).toEqual({ line: 4, column: 11 });
    expect(source.locate('/bindings/north/type', 'key')).toEqual({ line: 4, column: 5 });
  });

  it('positions block collections and empty values at their key', () => {
    expect(source.locate('/bindings/north/options')).toEqual({ line: 5, column: 5 });
    expect(source.locate('/bindings/empty')).toEqual({ line: 11, column: 3 });
  });

  it('walks sequences, flow maps and escaped names', () => {
    expect(source.locate('/bindings/north/routes/0')).toEqual({ line: 8, column: 9 });
    expect(source.locate('/bindings/north/routes/0/with/topic')).toEqual({ line: 9, column: 24 });
    expect(source.locate('/bindings/a~1b~0c/type')).toEqual({ line: 10, column: 20 });
  });

  it('falls back to the nearest existing ancestor', () => {
    expect(source.locate('/bindings/north/options/host')).toEqual({ line: 5, column: 5 });
    expect(source.locate('/bindings/north/routes/3/exit')).toEqual({ line: 7, column: 5 });
    expect(source.locate('/bindings/a~1b~0c/kind')).toEqual({ line: 10, column: 12 });
    expect(source.locate('')).toEqual({ line: 1, column: 1 });
  });
});

describe('readConfigFile', () => {
  it('throws TRIB_CONFIG_READ_FAILED for an unreadable file', async () => {
    const file = fixture('missing.yaml');
    const error: unknown = await readConfigFile(file, {}).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isTributaryError(error)).toBe(true);
    if (!isTributaryError(error)) return;
    expect(error.code).toBe('TRIB_CONFIG_READ_FAILED');
    expect(error.message).toContain(file);
    expect(error.message).toContain('ENOENT');
  });
});
