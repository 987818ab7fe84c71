import { describe, expect, it } from 'vitest';
import { murmur2, partitionForKey, StickyPartitions, toPositive } from '../../src/client/partitioner.ts';
import { enc } from './helpers.ts';

describe('Java-compatible partitioner', () => {
  // The vectors of the Java client's own test (org.apache.kafka.common.utils.UtilsTest#testMurmur2).
  const JAVA_VECTORS: [Uint8Array, number][] = [
    [enc('21'), -973932308],
    [enc('foobar'), -790332482],
    [enc('a-little-bit-long-string'), -985981536],
    [enc('a-little-bit-longer-string'), -1486304829],
    [enc('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'), -58897971],
    [new Uint8Array([97, 98, 99]), 479470107],
  ];

  for (const [key, hash] of JAVA_VECTORS) {
    it(`murmur2(${JSON.stringify(Buffer.from(key).toString())}) is ${hash}`, () => {
      expect(murmur2(key)).toBe(hash);
    });
  }

  it('clears the sign bit like Utils.toPositive (not Math.abs)', () => {
    expect(toPositive(-1)).toBe(0x7fffffff);
    expect(toPositive(-2147483648)).toBe(0);
    expect(toPositive(5)).toBe(5);
  });

  it('picks toPositive(murmur2(key)) % partitions', () => {
    // -790332482 & 0x7fffffff = 1357151166, % 7 = 0, where the unsigned hash would give 2.
    expect(partitionForKey(enc('foobar'), 7)).toBe(0);
    expect((-790332482 >>> 0) % 7).toBe(2);
    expect(partitionForKey(enc('21'), 3)).toBe(toPositive(-973932308) % 3);
    // Every tail length (0 to 3 bytes past a multiple of four) is covered by the Java vectors
    // above; the empty key hashes too.
    expect(partitionForKey(new Uint8Array(0), 7)).toBe(toPositive(murmur2(new Uint8Array(0))) % 7);
  });

  it('gives keyless batches one partition each, moving on per batch', () => {
    const sticky = new StickyPartitions();
    const picks = Array.from({ length: 6 }, () => sticky.next('t', 3));
    expect(new Set(picks).size).toBe(3);
    expect(picks[1]).toBe((picks[0]! + 1) % 3);
    expect(picks[3]).toBe(picks[0]);
  });
});
