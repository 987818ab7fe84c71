/**
 * Partition choice for produced records, compatible with the Java client.
 *
 * - A record with an explicit partition goes there.
 * - A keyed record goes to `toPositive(murmur2(key)) % partitions`, exactly as the Java client's
 *   default partitioner (`BuiltInPartitioner.partitionForKey`, `Utils.murmur2`), so that the
 *   gateway and Java producers put the same key on the same partition. (`@platformatic/kafka`'s
 *   own default uses `murmur2(key) >>> 0`, which differs whenever the hash is negative; that is
 *   why the binding always chooses the partition itself.)
 * - Records without a key are spread like the Java client's "uniform sticky" partitioner
 *   (KIP-794): all keyless records of one batch go to one partition, and each batch moves on to
 *   the next partition.
 *
 * @module
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;
const R = 24;

/** Kafka's murmur2 (`org.apache.kafka.common.utils.Utils.murmur2`), as a signed 32-bit int. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> R;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  const rest = length % 4;
  if (rest === 3) h ^= data[whole + 2]! << 16;
  if (rest >= 2) h ^= data[whole + 1]! << 8;
  if (rest >= 1) {
    h ^= data[whole]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** `Utils.toPositive`: clears the sign bit (not `Math.abs`, which differs for MIN_VALUE). */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/** The partition the Java client picks for `key` among `partitions` partitions. */
export function partitionForKey(key: Uint8Array, partitions: number): number {
  return toPositive(murmur2(key)) % partitions;
}

/**
 * Round-robin of "sticky" partitions for keyless records, per topic: {@link next} is called once
 * per batch.
 */
export class StickyPartitions {
  private readonly counters = new Map<string, number>();

  next(topic: string, partitions: number): number {
    const counter = this.counters.get(topic) ?? Math.floor(Math.random() * partitions);
    this.counters.set(topic, (counter + 1) % 0x7fffffff);
    return counter % partitions;
  }
}
