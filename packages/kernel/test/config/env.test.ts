import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/source.ts';
import { brief, check, yaml } from './helpers.ts';

const parse = (text: string, env: Record<string, string>) => parseConfigText(text, 'g.yaml', env);

describe('${{ env.NAME }} interpolation', () => {
  it('replaces a whole value and values embedded in longer strings', () => {
    const { source, issues } = parse(
      yaml(
        'host: ${{ env.HOST }}',
        'url: http://${{env.HOST}}:${{ env.PORT }}/items',
        // Inside flow collections YAML reads `{` and `}` as structure: quote there.
        'list: ["a-${{ env.HOST }}"]',
      ),
      { HOST: 'kafka', PORT: '9092' },
    );
    expect(issues).toEqual([]);
    expect(source.value).toEqual({ host: 'kafka', url: 'http://kafka:9092/items', list: ['a-kafka'] });
  });

  it('uses a default in single or double quotes only when the variable is unset', () => {
    const { source, issues } = parse(
      yaml(
        `a: \${{ env.UNSET ?? 'one' }}`,
        `b: '\${{ env.UNSET ?? "two words" }}'`,
        `c: "x\${{ env.SET ?? 'unused' }}"`,
        `d: "[\${{ env.EMPTY ?? 'unused' }}]"`,
        `e: "\${{ env.UNSET ?? '' }}"`,
      ),
      { SET: 'set', EMPTY: '' },
    );
    expect(issues).toEqual([]);
    expect(source.value).toEqual({ a: 'one', b: 'two words', c: 'xset', d: '[]', e: '' });
  });

  it('reports a missing variable at its scalar, together with every other one', () => {
    const { source, issues } = parse(
      yaml(
        'name: x', //
        'bindings:',
        '  a:',
        '    servers: ["${{ env.KAFKA }}", "b:${{ env.PORT }}"]',
        '    other: ok ${{ env.KAFKA }}',
      ),
      {},
    );
    expect(issues.map(brief)).toEqual([
      '4:15 TRIB_CONFIG_ENV_MISSING /bindings/a/servers/0 environment variable KAFKA is not set and has no default',
      '4:35 TRIB_CONFIG_ENV_MISSING /bindings/a/servers/1 environment variable PORT is not set and has no default',
      '5:12 TRIB_CONFIG_ENV_MISSING /bindings/a/other environment variable KAFKA is not set and has no default',
    ]);
    expect(issues[0]?.file).toBe('g.yaml');
    // The expression stays as written; loadConfig drops validation issues on that value.
    expect((source.value as { bindings: { a: { other: string } } }).bindings.a.other).toBe(
      'ok ${{ env.KAFKA }}',
    );
  });

  it('reports malformed expressions with the text as written', () => {
    const { issues } = parse(
      yaml(
        'a: ${{ env.1X }}', //
        'b: ${{ HOST }}',
        'c: ${{ env.A ?? unquoted }}',
        'd: "x ${{ env.A"',
        'e: ${{ env.OK }} and ${{ env.A ?? "x" ',
      ),
      { OK: 'ok' },
    );
    expect(issues.map(brief)).toEqual([
      '1:4 TRIB_CONFIG_ENV_SYNTAX /a malformed interpolation ${{ env.1X }}',
      '2:4 TRIB_CONFIG_ENV_SYNTAX /b malformed interpolation ${{ HOST }}',
      '3:4 TRIB_CONFIG_ENV_SYNTAX /c malformed interpolation ${{ env.A ?? unquoted }}',
      '4:4 TRIB_CONFIG_ENV_SYNTAX /d malformed interpolation ${{ env.A',
      '5:4 TRIB_CONFIG_ENV_SYNTAX /e malformed interpolation ${{ env.A ?? "x"',
    ]);
  });

  it('never interpolates the value of a variable again', () => {
    const { source, issues } = parse(yaml('a: ${{ env.A }}', 'b: "<${{ env.B }}>"'), {
      A: '${{ env.SECRET }}',
      B: '${params.id}',
      SECRET: 'leaked',
    });
    expect(issues).toEqual([]);
    expect(source.value).toEqual({ a: '${{ env.SECRET }}', b: '<${params.id}>' });
  });

  it('leaves runtime templates and mapping keys alone', () => {
    const text = yaml(
      'with:',
      '  key: "${params.id}"',
      '  idem: "${idempotencyKey}"',
      `  who: "\${guarded['jwt0'].identity}-\${{ env.ZONE }}"`,
      '  ${{ env.ZONE }}: literal key',
    );
    const { source, issues } = parse(text, { ZONE: 'eu' });
    expect(issues).toEqual([]);
    expect(source.value).toEqual({
      with: {
        key: '${params.id}',
        idem: '${idempotencyKey}',
        who: "${guarded['jwt0'].identity}-eu",
        '${{ env.ZONE }}': 'literal key',
      },
    });
  });
});

describe('typed values from the environment', () => {
  const server = (port: string, ...extra: string[]) =>
    yaml(
      'name: x',
      'bindings:',
      '  north:',
      '    type: web',
      '    kind: server',
      '    options:',
      `      port: ${port}`,
      ...extra,
    );

  it('converts a whole-value variable to the integer or boolean the schema wants', () => {
    const { config, issues } = check(
      server('${{ env.PORT }}', '      secure: "${{ env.TLS }}"', '      host: ${{ env.PORT }}'),
      {
        env: { PORT: '7114', TLS: 'true' },
      },
    );
    expect(issues).toEqual([]);
    expect(config?.bindings['north']?.options).toEqual({ port: 7114, secure: true, host: '7114' });
  });

  it('still reports a literal string where a number belongs', () => {
    const { issues } = check(server('"7114"'));
    expect(issues.map(brief)).toEqual([
      '7:13 TRIB_CONFIG_SCHEMA /bindings/north/options/port must be integer',
    ]);
  });

  it('does not convert embedded or non-numeric values', () => {
    expect(check(server('"${{ env.PORT }}0"'), { env: { PORT: '80' } }).issues.map(brief)).toEqual([
      '7:13 TRIB_CONFIG_SCHEMA /bindings/north/options/port must be integer',
    ]);
    expect(check(server('${{ env.PORT }}'), { env: { PORT: '80.5' } }).issues.map(brief)).toEqual([
      '7:13 TRIB_CONFIG_SCHEMA /bindings/north/options/port must be integer',
    ]);
  });

  it('validates the converted value against the rest of the schema', () => {
    expect(check(server('${{ env.PORT }}'), { env: { PORT: '70000' } }).issues.map(brief)).toEqual([
      '7:13 TRIB_CONFIG_SCHEMA /bindings/north/options/port must be <= 65535',
    ]);
  });
});
