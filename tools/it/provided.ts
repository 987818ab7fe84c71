// Types of the values tools/it/global-setup.ts hands to integration tests through vitest's
// provide/inject. Imported (type-only) by global-setup.ts and context.ts.
import type { ApicurioInfo } from '../apicurio/index.ts';
import type { KafkaInfo } from '../kafka/broker.ts';

export type { ApicurioInfo, KafkaInfo };

declare module 'vitest' {
  interface ProvidedContext {
    /** The current Kafka 4.x broker (KAFKA_VERSIONS.current). */
    kafka: KafkaInfo;
    /** The Kafka 3.9 broker (KAFKA_VERSIONS.compat); null when TRIBUTARY_IT_SKIP_COMPAT=1. */
    kafkaCompat: KafkaInfo | null;
    /** Apicurio Registry (in-memory). */
    apicurio: ApicurioInfo;
  }
}
