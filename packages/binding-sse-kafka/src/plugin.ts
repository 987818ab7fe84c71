/**
 * The module the kernel imports (`@tributary/binding-sse-kafka/plugin`): the `sse-kafka` proxy,
 * fanning Kafka records out to Server-Sent Events clients.
 */
import { definePlugin, type BindingFactory } from '@tributary/kernel';
import {
  optionsSchema,
  validate,
  whenSchema,
  withSchema,
  type SseKafkaOptions,
  type SseKafkaWhen,
  type SseKafkaWith,
} from './config/schema.ts';
import { SseKafkaProxy } from './stream/proxy.ts';

const sseKafka: BindingFactory<SseKafkaOptions, SseKafkaWhen, SseKafkaWith> = {
  kinds: ['proxy'],
  schema: { options: optionsSchema, when: whenSchema, with: withSchema, requiresExit: true },
  validate,
  create: (ctx) => new SseKafkaProxy(ctx),
};

export const plugin = definePlugin({
  name: '@tributary/binding-sse-kafka',
  spi: '^1.0.0',
  bindings: { 'sse-kafka': sseKafka },
});

export default plugin;
