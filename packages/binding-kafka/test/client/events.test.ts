// The connection monitor: one event per transition, probing while Kafka is away.
import { describe, expect, it } from 'vitest';
import type { DiagnosticEvent, Logger } from '@tributary/kernel';
import { ConnectionMonitor, KAFKA_EVENTS } from '../../src/events.ts';
import type { PortError, PortResult } from '../../src/client/port.ts';
import { eventually } from './helpers.ts';

const silent: Logger = {
  fatal: () => undefined,
  error: () => undefined,
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined,
  trace: () => undefined,
  child: () => silent,
};

const error = (reason: PortError['reason'], extra: Partial<PortError> = {}): PortError => ({
  reason,
  message: reason,
  retriable: true,
  staleMetadata: false,
  unsupportedVersion: false,
  ...extra,
});

function monitor(probe: () => Promise<PortResult<void>>) {
  const events: DiagnosticEvent[] = [];
  const m = new ConnectionMonitor({
    events: { emit: (event) => events.push(event) },
    logger: silent,
    servers: ['k1:9092'],
    security: 'SASL SCRAM-SHA-256',
    probe,
    delay: () => 10,
  });
  return { m, events, names: () => events.map((e) => e.name) };
}

describe('ConnectionMonitor', () => {
  it('emits lost once, probes, and emits recovered once', async () => {
    let up = false;
    let probes = 0;
    const { m, events, names } = monitor(() => {
      probes++;
      return Promise.resolve(
        up ? { ok: true, value: undefined } : { ok: false, error: error('unavailable') },
      );
    });
    m.succeeded();
    m.failed(error('unavailable', { cause: 'ECONNREFUSED' }), { operation: 'fetch', topic: 't' });
    m.failed(error('unavailable'), { operation: 'produce', topic: 't' });
    expect(names()).toEqual([KAFKA_EVENTS.connectionLost]);
    expect(events[0]).toMatchObject({ level: 'warn', detail: { servers: 'k1:9092', code: 'ECONNREFUSED' } });
    await eventually(() => probes >= 2, 2_000, 5);
    up = true;
    await eventually(() => m.state === 'up', 2_000, 5);
    expect(names()).toEqual([KAFKA_EVENTS.connectionLost, KAFKA_EVENTS.connectionRecovered]);
    const after = probes;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(probes).toBe(after);
    m.close();
  });

  it('reports refused credentials once, and recovery when they work again', () => {
    const { m, names, events } = monitor(() =>
      Promise.resolve({ ok: false, error: error('authentication', { retriable: false }) }),
    );
    m.failed(error('authentication', { retriable: false, cause: 'SASL_AUTHENTICATION_FAILED' }), {
      operation: 'metadata',
    });
    m.failed(error('authentication', { retriable: false }), { operation: 'fetch' });
    expect(names()).toEqual([KAFKA_EVENTS.authenticationFailed]);
    expect(events[0]).toMatchObject({
      level: 'error',
      detail: { security: 'SASL SCRAM-SHA-256', code: 'SASL_AUTHENTICATION_FAILED' },
    });
    m.succeeded({ operation: 'fetch' });
    expect(names()).toEqual([KAFKA_EVENTS.authenticationFailed, KAFKA_EVENTS.connectionRecovered]);
    m.close();
  });

  it('reports authorization per operation and topic until it succeeds again', () => {
    const { m, names, events } = monitor(() => Promise.resolve({ ok: true, value: undefined }));
    const denied = error('authorization', { retriable: false, cause: 'TOPIC_AUTHORIZATION_FAILED' });
    m.failed(denied, { operation: 'fetch', topic: 'a' });
    m.failed(denied, { operation: 'fetch', topic: 'a' });
    m.failed(denied, { operation: 'produce', topic: 'a' });
    m.succeeded({ operation: 'fetch', topic: 'a' });
    m.failed(denied, { operation: 'fetch', topic: 'a' });
    expect(names()).toEqual(Array(3).fill(KAFKA_EVENTS.authorizationFailed));
    expect(events[0]).toMatchObject({ detail: { operation: 'fetch', resource: 'a' } });
    m.close();
  });

  it('reports an unsupported version once, and ignores what is not a connection problem', () => {
    const { m, names } = monitor(() => Promise.resolve({ ok: true, value: undefined }));
    m.failed(error('internal', { unsupportedVersion: true }), { operation: 'fetch' });
    m.failed(error('internal', { unsupportedVersion: true }), { operation: 'fetch' });
    m.failed(error('unknown-topic'), { operation: 'metadata', topic: 'x' });
    m.failed(error('invalid-record'), { operation: 'produce', topic: 'x' });
    m.failed(error('timeout'), { operation: 'produce', topic: 'x' });
    m.failed(error('unavailable', { staleMetadata: true }), { operation: 'fetch', topic: 'x' });
    m.failed(error('unavailable', { cause: 'CLIENT_CLOSED' }), { operation: 'fetch', topic: 'x' });
    expect(names()).toEqual([KAFKA_EVENTS.versionUnsupported]);
    m.close();
  });
});
