import { describe, expect, it } from 'vitest';
import { compilePathPattern } from '../../src/engine/paths.ts';

describe('compilePathPattern', () => {
  it('captures decoded segments and matches whole paths only', () => {
    const pattern = compilePathPattern('/events/{key}/{tag}');
    expect(pattern('/events/AAPL/nasdaq')).toEqual({ key: 'AAPL', tag: 'nasdaq' });
    expect(pattern('/events/a%20b/x')).toEqual({ key: 'a b', tag: 'x' });
    expect(pattern('/events/AAPL')).toBeUndefined();
    expect(pattern('/events/AAPL/nasdaq/more')).toBeUndefined();
    expect(pattern('/events/%E0%A4%A/x')).toBeUndefined();
  });

  it('stops captures at the given characters', () => {
    expect(compilePathPattern('/items/{id}')('/items/a;b')).toEqual({ id: 'a;b' });
    expect(compilePathPattern('/items/{id}', '/;?')('/items/a;b')).toBeUndefined();
    expect(compilePathPattern('/items/{id};cid={c}', '/;?')('/items/a;cid=1-x')).toEqual({
      id: 'a',
      c: '1-x',
    });
  });
});
