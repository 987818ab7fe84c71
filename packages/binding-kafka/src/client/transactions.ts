/**
 * Hiding aborted transactions from a `read_committed` fetch.
 *
 * The broker serves a `read_committed` fetch up to the last stable offset, but it does not
 * remove the records of aborted transactions: it lists, per partition, the producers whose
 * transactions were aborted in the returned range and the offset where each began, and the
 * client drops their batches until it meets the producer's ABORT marker (Kafka protocol: Fetch
 * `aborted_transactions`, KIP-98). This is the algorithm of the Java client's `CompletedFetch`.
 *
 * @module
 */

/** What the filter needs to know about one record batch. */
export interface BatchView {
  readonly lastOffset: bigint;
  /** -1 when the batch has no producer id. */
  readonly producerId: bigint;
  readonly transactional: boolean;
  readonly control: boolean;
  /** A control batch whose marker is ABORT (control record type 0). */
  readonly abortMarker: boolean;
}

export interface AbortedTransaction {
  readonly producerId: bigint;
  readonly firstOffset: bigint;
}

/**
 * Decides, batch by batch in offset order, which batches of one partition's fetch response
 * belong to aborted transactions. Control batches are never delivered either way; the caller
 * drops them itself.
 */
export class AbortedTransactions {
  private readonly pending: AbortedTransaction[];
  private readonly aborted = new Set<bigint>();

  constructor(list: readonly AbortedTransaction[] | null | undefined) {
    this.pending = [...(list ?? [])].sort((a, b) =>
      a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0,
    );
  }

  /** True when `batch` holds records of an aborted transaction. Call once per batch, in order. */
  skip(batch: BatchView): boolean {
    if (batch.producerId < 0n) return false;
    // Transactions that began at or before this batch's end become candidates.
    while (this.pending.length > 0 && this.pending[0]!.firstOffset <= batch.lastOffset) {
      this.aborted.add(this.pending.shift()!.producerId);
    }
    if (batch.control && batch.abortMarker) {
      // The marker ends the aborted transaction: later batches of the producer are live again.
      this.aborted.delete(batch.producerId);
      return true;
    }
    return batch.transactional && this.aborted.has(batch.producerId);
  }
}
