import { describe, expect, it } from 'vitest';
import { routeFilters } from '../../src/index.ts';

const enc = (text: string) => new TextEncoder().encode(text);

describe('routeFilters', () => {
  it('keeps key and header conditions of each filter', () => {
    const filters = routeFilters(
      [{ key: 'AAPL', headers: { tag: 'nasdaq' } }, { key: 'MSFT' }],
      [{ key: '${params.key}', headers: { tag: '${params.tag}' } }, { key: 'MSFT' }],
    );
    expect(filters).toEqual([
      { conditions: [{ key: enc('AAPL') }, { header: { name: 'tag', value: enc('nasdaq') } }] },
      { conditions: [{ key: enc('MSFT') }] },
    ]);
  });

  it('turns a condition whose template resolved to nothing into a contradiction: matches nothing', () => {
    // `${guarded['g'].identity}` without identity resolves to null; a missing param drops the field.
    const filters = routeFilters(
      [{ key: null }, { headers: {} }],
      [{ key: "${guarded['g'].identity}" }, { headers: { owner: '${params.owner}' } }],
    );
    const empty = enc('');
    const owner = { header: { name: 'owner', value: empty } };
    // A contradiction: not even a record whose key or header is empty matches.
    expect(filters).toEqual([
      { conditions: [{ key: empty }, { not: { key: empty } }] },
      { conditions: [owner, { not: owner }] },
    ]);
    expect(routeFilters(undefined, undefined)).toBeUndefined();
  });
});
