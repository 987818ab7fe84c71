/**
 * Diagnostic events of @tributary/binding-http-kafka, emitted on state transitions only (never
 * per request). The names are stable and listed in README.md and docs/events.md.
 */
import type { DiagnosticEvent } from '@tributary/kernel';

export const EVENTS = {
  unavailable: 'http-kafka.kafka.unavailable',
  available: 'http-kafka.kafka.available',
} as const;

/** Requests started failing with 503 because the Kafka side was unavailable. */
export function kafkaUnavailable(binding: string, reason: string): DiagnosticEvent {
  return {
    name: EVENTS.unavailable,
    level: 'warn',
    message: `http-kafka binding "${binding}" answers 503: Kafka is unavailable (${reason})`,
    detail: { binding, reason },
  };
}

/** The first request succeeded again after a run of 503s. */
export function kafkaAvailable(binding: string, failed: number): DiagnosticEvent {
  return {
    name: EVENTS.available,
    level: 'info',
    message: `http-kafka binding "${binding}" reaches Kafka again after ${failed} request(s) got 503`,
    detail: { binding, failed },
  };
}
