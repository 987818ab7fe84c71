// Every security listener of the test broker carries a produce + fetch round trip through the
// gateway; wrong credentials and an unverifiable broker certificate are refused, never acked.
import { randomBytes } from 'node:crypto';
import { relative } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TestHarness } from '@tributary/kernel/testkit';
import type { ListenerKey } from '../../../../tools/kafka/broker.ts';
import { kafka, uniqueTopic } from '../../../../tools/it/context.ts';
import type { KafkaClientOptions, KafkaSaslMechanism } from '../../src/config/options.ts';
import {
  close,
  createTopic,
  dec,
  failure,
  open,
  produce,
  securityOptions,
  startGateway,
  waitRecords,
  type GatewayExtras,
} from './helpers.ts';

interface Case {
  readonly label: string;
  readonly listener: ListenerKey;
  readonly mechanism?: KafkaSaslMechanism;
}

const CASES: Case[] = [
  { label: 'SASL_PLAINTEXT PLAIN', listener: 'saslPlain', mechanism: 'plain' },
  { label: 'SASL_PLAINTEXT SCRAM-SHA-256', listener: 'scram256', mechanism: 'scram-sha-256' },
  { label: 'SASL_PLAINTEXT SCRAM-SHA-512', listener: 'scram512', mechanism: 'scram-sha-512' },
  { label: 'SSL (private CA)', listener: 'tls' },
  { label: 'SSL with client certificate (mTLS)', listener: 'mtls' },
  { label: 'SASL_SSL PLAIN', listener: 'saslSsl', mechanism: 'plain' },
  { label: 'SASL_SSL SCRAM-SHA-256', listener: 'saslSsl', mechanism: 'scram-sha-256' },
  { label: 'SASL_SSL SCRAM-SHA-512', listener: 'saslSsl', mechanism: 'scram-sha-512' },
];

describe('security', () => {
  let harness: TestHarness | undefined;
  afterEach(async () => {
    await harness?.stop();
    harness = undefined;
  });

  const roundTrip = async (options: KafkaClientOptions, extras: GatewayExtras = {}) => {
    const k = kafka();
    const topic = uniqueTopic('security');
    await createTopic(k, topic, 1);
    harness = await startGateway(options, {
      env: { KAFKA_TEST_PASSWORD: k.users.alice.password },
      ...extras,
    });
    const value = `secured ${randomBytes(4).toString('hex')}`;
    const { peer, answers } = await produce(harness, topic, [{ key: 'k', value }]);
    expect(answers.map((a) => a.kind)).toEqual(['ack']);
    await close(peer);
    const fetch = open(
      harness,
      { capability: 'fetch', topic, start: 'historical' },
      { initialWindow: 65536, autoWindow: true },
    );
    expect((await waitRecords(fetch, 1)).map((r) => dec(r.value))).toEqual([value]);
    await close(fetch);
    // Credentials never reach the log.
    expect(JSON.stringify(harness.logs)).not.toContain(k.users.alice.password);
    expect(
      harness.events.filter((e) => e.name.startsWith('kafka.') && e.name !== 'kafka.connection.recovered'),
    ).toEqual([]);
  };

  for (const c of CASES) {
    it(`produces and fetches through ${c.label}`, async () => {
      await roundTrip(securityOptions(kafka(), c.listener, c.mechanism));
    });
  }

  it('reads TLS material from a vault, and relative file paths from the configuration directory', async () => {
    const k = kafka();
    const cwd = process.cwd();
    await roundTrip(
      {
        servers: [k.listeners.mtls],
        tls: { ca: { file: relative(cwd, k.certs.ca) }, cert: { vault: 'client' }, key: { vault: 'client' } },
      },
      {
        top: {
          vaults: {
            certs: {
              type: 'filesystem',
              options: { certificates: { client: k.certs.clientCert }, keys: { client: k.certs.clientKey } },
            },
          },
        },
        binding: { vault: 'certs' },
      },
    );
  });

  for (const listener of ['saslPlain', 'scram256'] as const) {
    it(`refuses a wrong password on ${listener}: an authentication event and failures, never an ack`, async () => {
      const k = kafka();
      const topic = uniqueTopic('security-badpw');
      await createTopic(k, topic, 1);
      const options = securityOptions(k, listener, listener === 'saslPlain' ? 'plain' : 'scram-sha-256');
      harness = await startGateway(options, { env: { KAFKA_TEST_PASSWORD: 'not-the-password' } });
      const { peer, answers } = await produce(harness, topic, [{ value: 'x' }, { value: 'y' }]);
      expect(answers.map((a) => (a.kind === 'nack' ? a.error.reason : 'ack'))).toEqual([
        'authentication',
        'authentication',
      ]);
      const first = answers[0]!;
      expect(first.kind === 'nack' && first.error.code).toBe('TRIB_KAFKA_AUTHENTICATION');
      await close(peer);
      const fetch = open(
        harness,
        { capability: 'fetch', topic, start: 'historical' },
        { initialWindow: 65536 },
      );
      const failed = await failure(fetch);
      expect(failed.code).toBe('TRIB_KAFKA_AUTHENTICATION');
      expect(failed.ext?.reason).toBe('authentication');
      const events = harness.events.filter((e) => e.name === 'kafka.authentication.failed');
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ source: 'kafka_client', level: 'error' });
      expect(JSON.stringify(harness.events)).not.toContain('not-the-password');
      expect(JSON.stringify(harness.logs)).not.toContain('not-the-password');
    });
  }

  it('refuses a broker whose certificate it cannot verify (no CA given)', async () => {
    const k = kafka();
    const topic = uniqueTopic('security-noca');
    await createTopic(k, topic, 1);
    harness = await startGateway({ servers: [k.listeners.tls], tls: {} });
    const { peer, answers } = await produce(harness, topic, [{ value: 'x' }]);
    const answer = answers[0]!;
    expect(answer.kind).toBe('nack');
    expect(answer.kind === 'nack' && answer.error.reason).toBe('authentication');
    expect(answer.kind === 'nack' && answer.error.message).toMatch(/certificate/);
    await close(peer);
    expect(harness.events.map((e) => e.name)).toContain('kafka.authentication.failed');
  });

  it('is refused by the mTLS listener without a client certificate', async () => {
    const k = kafka();
    const topic = uniqueTopic('security-nocert');
    await createTopic(k, topic, 1);
    harness = await startGateway({ servers: [k.listeners.mtls], tls: { ca: { file: k.certs.ca } } });
    const { peer, answers } = await produce(harness, topic, [{ value: 'x' }]);
    expect(answers[0]!.kind).toBe('nack');
    await close(peer);
  });
});
