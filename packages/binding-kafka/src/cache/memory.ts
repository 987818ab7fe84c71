import type { TopicCache } from './topic.ts';

/**
 * The cache's memory budget, shared by all its topics. When an append takes the total over the
 * budget, the oldest records of the largest partition logs are evicted until the total is back
 * under 90 % of it; subscribers that still needed them read them from Kafka again (refetch).
 * Evicting rather than spilling to disk keeps the gateway stateless (see docs/adr).
 */
export class CacheMemory {
  readonly budget: number;
  private readonly topics = new Set<TopicCache>();
  private total = 0;
  /** Bytes evicted to stay within budget, for diagnostics. */
  evicted = 0;

  constructor(budget: number) {
    this.budget = budget;
  }

  get used(): number {
    return this.total;
  }

  track(topic: TopicCache): void {
    this.topics.add(topic);
  }

  untrack(topic: TopicCache): void {
    this.topics.delete(topic);
    this.recount();
  }

  /** A topic's logs grew (or shrank) by `delta` bytes; evicts when over budget. */
  add(delta: number): void {
    this.total += delta;
    if (this.total <= this.budget) return;
    const target = this.budget * 0.9;
    const logs = [...this.topics].flatMap((topic) => [...topic.allLogs()]).sort((a, b) => b.bytes - a.bytes);
    for (const log of logs) {
      if (this.total <= target) break;
      const keep = Math.max(0, log.bytes - (this.total - target));
      const released = log.evict(keep);
      this.total -= released;
      this.evicted += released;
    }
  }

  private recount(): void {
    let total = 0;
    for (const topic of this.topics) total += topic.bytes;
    this.total = total;
  }
}
