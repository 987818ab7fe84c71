// Typed access, inside integration tests, to the services started by tools/it/global-setup.ts.
//
//   import { kafka, uniqueTopic } from '../../tools/it/context.ts';
//   const broker = kafka(); // { bootstrap, listeners: { plaintext, saslPlain, ... }, certs, users, version }
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import type { ApicurioInfo, KafkaInfo } from './provided.ts';

export type { ApicurioInfo, KafkaInfo };
export type { KafkaListeners, KafkaUser, KafkaUsers, ListenerKey } from '../kafka/broker.ts';

/** The current Kafka 4.x broker. */
export function kafka(): KafkaInfo {
  return inject('kafka');
}

/** Whether the Kafka 3.9 broker runs (it does unless TRIBUTARY_IT_SKIP_COMPAT=1). */
export function hasKafkaCompat(): boolean {
  return inject('kafkaCompat') !== null;
}

/** The Kafka 3.9 broker; throws when it was skipped (guard with hasKafkaCompat() / describe.skipIf). */
export function kafkaCompat(): KafkaInfo {
  const info = inject('kafkaCompat');
  if (info === null) throw new Error('the Kafka 3.9 broker was skipped (TRIBUTARY_IT_SKIP_COMPAT=1)');
  return info;
}

/** Every running broker, labelled, for tests that run against each: `describe.each(kafkaBrokers())`. */
export function kafkaBrokers(): { name: string; kafka: KafkaInfo }[] {
  const list = [{ name: `kafka ${kafka().version}`, kafka: kafka() }];
  const compat = inject('kafkaCompat');
  if (compat !== null) list.push({ name: `kafka ${compat.version}`, kafka: compat });
  return list;
}

/** Apicurio Registry: `url` (APIs at /apis/registry/v3, /apis/registry/v2, /apis/ccompat/v7). */
export function apicurio(): ApicurioInfo {
  return inject('apicurio');
}

/** A topic name no other test uses: `<prefix>-<time>-<random>`, restricted to Kafka's legal characters. */
export function uniqueTopic(prefix = 'it'): string {
  const clean = prefix.replace(/[^a-zA-Z0-9._-]/g, '-').slice(0, 180);
  return `${clean}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}
