import type { BindingContext, BindingHandler, Extension, Stream, StreamHandler } from '@tributary/kernel';
import type { KafkaAckEx, KafkaBeginEx } from '../index.ts';
import { CacheMemory } from './memory.ts';
import { relay } from './relay.ts';
import type { KafkaCacheOptions } from './schema.ts';
import { TopicCache, type TopicStats } from './topic.ts';

const MiB = 1024 * 1024;

const isKafkaBegin = (ext: Extension | undefined): ext is KafkaBeginEx =>
  ext?.type === 'kafka' &&
  typeof (ext as KafkaBeginEx).capability === 'string' &&
  typeof (ext as KafkaBeginEx).topic === 'string';

/**
 * The `kafka` cache: serves fetch streams from one upstream fetch per topic, and passes produce,
 * meta and describe streams through to its exit (the Kafka client).
 */
export class KafkaCacheBinding implements BindingHandler {
  private readonly ctx: BindingContext<KafkaCacheOptions>;
  private readonly topics = new Map<string, TopicCache>();
  private readonly memory: CacheMemory;
  private readonly tokenKey: Uint8Array | undefined;
  private progress: NodeJS.Timeout | undefined;

  constructor(ctx: BindingContext<KafkaCacheOptions>) {
    this.ctx = ctx;
    const options = ctx.config.options;
    this.memory = new CacheMemory(options.memory?.budgetBytes ?? 256 * MiB);
    this.tokenKey =
      options.token?.key === undefined ? undefined : new TextEncoder().encode(options.token.key);
  }

  private get exit(): string {
    // Validation guarantees an exit for a cache.
    return this.ctx.config.exit ?? this.ctx.config.routes[0]?.exit ?? '';
  }

  /** The cache of `name`, created on first use. */
  topic(name: string): TopicCache {
    let topic = this.topics.get(name);
    if (!topic) {
      const options = this.ctx.config.options;
      topic = new TopicCache(this.ctx, {
        exit: this.exit,
        settings: options.topics?.find((t) => t.name === name) ?? { name },
        memory: this.memory,
        tokenKey: this.tokenKey,
        backlogLimit: options.memory?.subscriberBacklogBytes ?? 256 * 1024,
        window: options.window ?? 4 * MiB,
        reconnectMs: options.reconnectMs ?? 1_000,
      });
      this.memory.track(topic);
      this.topics.set(name, topic);
    }
    return topic;
  }

  /** Bytes of records held, for diagnostics and tests. */
  get memoryUsed(): number {
    return this.memory.used;
  }

  /** Diagnostics per topic. */
  stats(): TopicStats[] {
    return [...this.topics.values()].map((topic) => topic.stats());
  }

  accept(stream: Stream, begin: Extension | undefined): StreamHandler | null {
    if (!isKafkaBegin(begin)) return null;
    switch (begin.capability) {
      case 'fetch':
        // The cache holds what every reader may see; transactional isolation goes to Kafka itself.
        if (begin.isolation === 'read_committed') return relay(this.ctx, this.exit, stream, begin);
        return this.topic(begin.topic).subscribe(stream, begin);
      // Writes, metadata and group membership (whose offsets live in Kafka) are the client's.
      case 'produce':
        return relay(this.ctx, this.exit, stream, begin, (ext) => this.onProduceAnswer(begin.topic, ext));
      case 'meta':
      case 'describe':
      case 'group':
        return relay(this.ctx, this.exit, stream, begin);
    }
  }

  /** Remembers acknowledged writes of cached topics, so that reads after them include them. */
  private onProduceAnswer(topic: string, ext: Extension | undefined): void {
    const ack = ext as KafkaAckEx | undefined;
    if (ack?.type !== 'kafka' || ack.kind !== 'ack') return;
    this.topics.get(topic)?.acknowledged(ack.partition, ack.offset);
  }

  start(): Promise<void> {
    const bootstrap = this.ctx.config.options.bootstrap ?? [];
    if (bootstrap.length === 0) return Promise.resolve();
    const topics = bootstrap.map((name) => this.topic(name));
    for (const topic of topics) topic.start();
    const started = Date.now();
    this.progress = setInterval(() => {
      for (const topic of topics) {
        if (topic.isHydrated) continue;
        this.ctx.logger.info(
          {
            topic: topic.topic,
            records: topic.appended,
            bytes: topic.bytes,
            seconds: Math.round((Date.now() - started) / 1000),
          },
          topic.failure ? `hydrating (Kafka: ${topic.failure.message})` : 'hydrating',
        );
      }
    }, 2_000);
    this.progress.unref();
    for (const topic of topics) {
      this.ctx.holdReadiness(
        `bootstrap ${topic.topic}`,
        topic.ready.then(() =>
          this.ctx.logger.info({ topic: topic.topic, records: topic.appended }, 'bootstrap topic hydrated'),
        ),
      );
    }
    void Promise.all(topics.map((t) => t.ready)).finally(() => clearInterval(this.progress));
    return Promise.resolve();
  }

  stop(): Promise<void> {
    clearInterval(this.progress);
    for (const topic of this.topics.values()) topic.stop();
    return Promise.resolve();
  }
}
