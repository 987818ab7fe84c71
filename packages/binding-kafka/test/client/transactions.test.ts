import { describe, expect, it } from 'vitest';
import { AbortedTransactions, type BatchView } from '../../src/client/transactions.ts';

const data = (lastOffset: bigint, producerId: bigint, transactional = true): BatchView => ({
  lastOffset,
  producerId,
  transactional,
  control: false,
  abortMarker: false,
});
const marker = (lastOffset: bigint, producerId: bigint, abort: boolean): BatchView => ({
  lastOffset,
  producerId,
  transactional: true,
  control: true,
  abortMarker: abort,
});

describe('aborted transactions (read_committed)', () => {
  it('skips the batches of an aborted transaction up to its marker, and nothing else', () => {
    // Producer 7 commits (0-1, marker 2), producer 9 aborts (3-4, marker 5), producer 7 again (6).
    const filter = new AbortedTransactions([{ producerId: 9n, firstOffset: 3n }]);
    const batches = [
      data(1n, 7n),
      marker(2n, 7n, false),
      data(4n, 9n),
      marker(5n, 9n, true),
      data(6n, 9n),
      data(7n, -1n, false),
    ];
    expect(batches.map((batch) => filter.skip(batch))).toEqual([false, false, true, true, false, false]);
  });

  it('tells interleaved producers apart', () => {
    const filter = new AbortedTransactions([
      { producerId: 2n, firstOffset: 1n },
      { producerId: 3n, firstOffset: 10n },
    ]);
    expect(
      [data(0n, 1n), data(1n, 2n), data(2n, 1n), marker(3n, 2n, true), data(11n, 3n), data(12n, 2n)].map(
        (b) => filter.skip(b),
      ),
    ).toEqual([false, true, false, true, true, false]);
  });

  it('does nothing without aborted transactions', () => {
    const filter = new AbortedTransactions(null);
    expect([data(0n, 1n), marker(1n, 1n, false)].map((b) => filter.skip(b))).toEqual([false, false]);
  });
});
