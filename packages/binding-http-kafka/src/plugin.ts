/**
 * The module the kernel imports (`@tributary/binding-http-kafka/plugin`): the `http-kafka`
 * proxy, mapping HTTP requests onto Kafka produce, fetch and request-reply.
 */
import { definePlugin, type BindingFactory } from '@tributary/kernel';
import {
  optionsSchema,
  validate,
  whenSchema,
  withSchema,
  type HttpKafkaOptions,
  type HttpKafkaWhen,
  type HttpKafkaWith,
} from './config/schema.ts';
import { HttpKafkaProxy } from './stream/proxy.ts';

const httpKafka: BindingFactory<HttpKafkaOptions, HttpKafkaWhen, HttpKafkaWith> = {
  kinds: ['proxy'],
  schema: { options: optionsSchema, when: whenSchema, with: withSchema, requiresExit: true },
  validate,
  create: (ctx) => new HttpKafkaProxy(ctx),
};

export const plugin = definePlugin({
  name: '@tributary/binding-http-kafka',
  spi: '^1.0.0',
  bindings: { 'http-kafka': httpKafka },
});

export default plugin;
