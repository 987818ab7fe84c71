// The connection monitor: one event per transition, probing while Kafka is away.
import { describe, expect, it } from 'vitest';
import type { DiagnosticEvent, Logger } from '@tributary/kernel';
import { ConnectionMonitor, KAFKA_EVENTS } from '../../src/events.ts';
import { observePort } from '../../src/client/observed.ts';
import type {
  GroupMemberEvents,
  KafkaGroupMember,
  KafkaPort,
  PortError,
  PortResult,
} from '../../src/client/port.ts';
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

describe('observePort: group members', () => {
  it('reports heartbeats, joins and commits to the monitor; a refused commit is not a lost connection', async () => {
    let probeUp = false;
    const { m, names } = monitor(() =>
      Promise.resolve(
        probeUp
          ? { ok: true as const, value: undefined }
          : { ok: false as const, error: error('unavailable') },
      ),
    );
    let events: GroupMemberEvents | undefined;
    let commitResult: PortResult<void> = { ok: false, error: error('rebalanced', { retriable: false }) };
    // A port that has only what the wrapper forwards; its member reports what the test says.
    const port = {
      groupMember: (_topic: string, _groupId: string, e: GroupMemberEvents): KafkaGroupMember => {
        events = e;
        return {
          join: () => Promise.resolve({ ok: true, value: undefined }),
          committed: () => Promise.resolve({ ok: true, value: new Map() }),
          commit: () => Promise.resolve(commitResult),
          leave: () => Promise.resolve(),
        };
      },
    } as unknown as KafkaPort;
    const seen: string[] = [];
    const member = observePort(port, m).groupMember!('orders', 'g', {
      assigned: (partitions) => seen.push(`assigned ${partitions.join(',')}`),
      background: (outcome) => seen.push(`background ${outcome.ok}`),
      failed: (e) => seen.push(`failed ${e.reason}`),
    });
    expect((await member.join()).ok).toBe(true);
    expect(m.state).toBe('up');
    expect((await member.commit([{ partition: 0, offset: 1n }])).ok).toBe(false);
    expect(m.state).toBe('up');
    events!.background({ ok: false, error: error('unavailable', { cause: 'ECONNREFUSED' }) });
    expect(names()).toEqual([KAFKA_EVENTS.connectionLost]);
    commitResult = { ok: true, value: undefined };
    events!.background({ ok: true, value: undefined });
    expect(names()).toEqual([KAFKA_EVENTS.connectionLost, KAFKA_EVENTS.connectionRecovered]);
    events!.assigned([0, 2]);
    expect(seen).toEqual(['background false', 'background true', 'assigned 0,2']);
    probeUp = true;
    m.close();
  });
});
