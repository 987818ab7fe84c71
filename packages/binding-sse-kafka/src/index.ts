/**
 * `@tributary/binding-sse-kafka`: the `sse-kafka` proxy. It accepts `sse` streams (see
 * `@tributary/binding-sse`) and opens `kafka` fetch streams (see `@tributary/binding-kafka`);
 * other plugins use only its option types.
 *
 * @module
 */
export type { SseKafkaOptions, SseKafkaWhen, SseKafkaWith, SseKafkaFilter } from './config/schema.ts';
