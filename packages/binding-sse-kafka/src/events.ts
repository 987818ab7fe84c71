/**
 * Diagnostic events of @tributary/binding-sse-kafka, emitted on state transitions only (never per
 * stream). The names are stable and listed in README.md and docs/events.md.
 */
import type { DiagnosticEvent } from '@tributary/kernel';

export const EVENTS = {
  unavailable: 'sse-kafka.kafka.unavailable',
  available: 'sse-kafka.kafka.available',
} as const;

/** Event streams started failing with 503 because the Kafka side was unavailable. */
export function kafkaUnavailable(binding: string, reason: string): DiagnosticEvent {
  return {
    name: EVENTS.unavailable,
    level: 'warn',
    message: `sse-kafka binding "${binding}" answers 503: Kafka is unavailable (${reason})`,
    detail: { binding, reason },
  };
}

/** The first event stream began again after a run of 503s. */
export function kafkaAvailable(binding: string, failed: number): DiagnosticEvent {
  return {
    name: EVENTS.available,
    level: 'info',
    message: `sse-kafka binding "${binding}" reaches Kafka again after ${failed} event stream(s) got 503`,
    detail: { binding, failed },
  };
}
