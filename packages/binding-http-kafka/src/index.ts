/**
 * `@tributary/binding-http-kafka`: the `http-kafka` proxy. It accepts `http` streams (see
 * `@tributary/binding-http`) and opens `kafka` streams (see `@tributary/binding-kafka`); other
 * plugins use only its option types.
 *
 * @module
 */
export type {
  HttpKafkaOptions,
  HttpKafkaWhen,
  HttpKafkaWith,
  HttpKafkaProduceWith,
  HttpKafkaFetchWith,
  HttpKafkaFilter,
} from './config/schema.ts';
