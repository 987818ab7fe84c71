import { describe, expect, it } from 'vitest';
import { formatIssues } from '../../src/config/format.ts';
import type { ConfigIssue } from '../../src/spi/config.ts';

const issues: ConfigIssue[] = [
  {
    code: 'TRIB_CONFIG_DANGLING_EXIT',
    message: 'exit "x" is not a binding',
    pointer: '/bindings/a/exit',
    file: 'gateway.yaml',
    line: 12,
    column: 11,
  },
  {
    code: 'TRIB_CONFIG_SCHEMA',
    message: 'must be integer',
    pointer: '/bindings/a/options/port',
    file: 'gateway.yaml',
    line: 7,
    column: 13,
  },
  {
    code: 'TRIB_CONFIG_SCHEMA',
    message: 'missing required property "name"',
    pointer: '/name',
    file: 'gateway.yaml',
    line: 1,
    column: 1,
  },
  { code: 'TRIB_X_PLUGIN', message: 'no position', pointer: '' },
];

describe('formatIssues', () => {
  it('prints one line per issue sorted by position, then a summary', () => {
    expect(formatIssues(issues, { color: false })).toBe(
      [
        'gateway.yaml:1:1  TRIB_CONFIG_SCHEMA  missing required property "name"  (/name)',
        'gateway.yaml:7:13  TRIB_CONFIG_SCHEMA  must be integer  (/bindings/a/options/port)',
        'gateway.yaml:12:11  TRIB_CONFIG_DANGLING_EXIT  exit "x" is not a binding  (/bindings/a/exit)',
        '<config>  TRIB_X_PLUGIN  no position',
        '4 problems',
      ].join('\n'),
    );
  });

  it('uses ANSI colours only when asked', () => {
    const plain = formatIssues(issues.slice(1, 2), { color: false });
    expect(plain).not.toContain('\u001b[');
    expect(plain).toBe(
      'gateway.yaml:7:13  TRIB_CONFIG_SCHEMA  must be integer  (/bindings/a/options/port)\n1 problem',
    );
    expect(formatIssues(issues.slice(1, 2), { color: true })).toBe(
      '\u001b[36mgateway.yaml:7:13\u001b[0m  \u001b[31mTRIB_CONFIG_SCHEMA\u001b[0m  must be integer  ' +
        '\u001b[2m(/bindings/a/options/port)\u001b[0m\n\u001b[1m\u001b[31m1 problem\u001b[0m\u001b[0m',
    );
  });

  it('says so when there is nothing to report', () => {
    expect(formatIssues([], { color: true })).toBe('no problems');
  });
});
