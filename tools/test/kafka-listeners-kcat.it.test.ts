// Every listener of both test brokers (4.x and 3.9) carries a real message end to end, checked with
// kcat (librdkafka). Wrong credentials and a missing client certificate are refused.
// kafka-listeners-java.it.test.ts runs the same cases with the official Java client.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { KafkaInfo, ListenerKey } from '../kafka/broker.ts';
import { kcat, kcatArgs, kcatScramWorksWithKafka4, type ClientOptions } from '../kafka/clients.ts';
import { kafkaBrokers, uniqueTopic } from '../it/context.ts';

interface Case {
  label: string;
  listener: ListenerKey;
  mechanism?: ClientOptions['mechanism'];
}

const CASES: Case[] = [
  { label: 'PLAINTEXT', listener: 'plaintext' },
  { label: 'SASL_PLAINTEXT PLAIN', listener: 'saslPlain' },
  { label: 'SASL_PLAINTEXT SCRAM-SHA-256', listener: 'scram256' },
  { label: 'SASL_PLAINTEXT SCRAM-SHA-512', listener: 'scram512' },
  { label: 'SSL', listener: 'tls' },
  { label: 'SSL with client certificate (mTLS)', listener: 'mtls' },
  { label: 'SASL_SSL PLAIN', listener: 'saslSsl', mechanism: 'PLAIN' },
  { label: 'SASL_SSL SCRAM-SHA-256', listener: 'saslSsl', mechanism: 'SCRAM-SHA-256' },
  { label: 'SASL_SSL SCRAM-SHA-512', listener: 'saslSsl', mechanism: 'SCRAM-SHA-512' },
];

const isScram = (c: Case) =>
  c.listener === 'scram256' || c.listener === 'scram512' || c.mechanism?.startsWith('SCRAM');
const major = (k: KafkaInfo) => Number(k.version.split('.')[0]);
const kcatScramOn4 = await kcatScramWorksWithKafka4();
const AUTH_FAILED = /authentication fail|invalid credentials|invalid username or password/i;

function payload(tag: string): string {
  return `tributary ${tag} ${randomBytes(6).toString('hex')} ünïcödé`;
}

function opts(c: Case): ClientOptions {
  return c.mechanism ? { mechanism: c.mechanism } : {};
}

describe.each(kafkaBrokers())('$name', ({ kafka: k }) => {
  // librdkafka < 2.6.1 cannot do SCRAM with Kafka 4.x (see kcatScramWorksWithKafka4); the Java
  // client tests below cover those listeners on 4.x.
  const kcatCan = (c: Case) => !isScram(c) || major(k) < 4 || kcatScramOn4;

  describe('kcat', () => {
    for (const c of CASES) {
      it.skipIf(!kcatCan(c))(`produces and consumes through ${c.label}`, async () => {
        const topic = uniqueTopic(`kcat-${c.listener}`);
        const value = payload(c.label);
        const base = kcatArgs(k, c.listener, opts(c));
        const produced = await kcat([...base, '-P', '-t', topic], value);
        expect(produced.code, produced.stderr).toBe(0);
        const consumed = await kcat([
          ...base,
          '-C',
          '-t',
          topic,
          '-p',
          '0',
          '-o',
          'beginning',
          '-c',
          '1',
          '-e',
          '-q',
        ]);
        expect(consumed.code, consumed.stderr).toBe(0);
        expect(consumed.stdout).toBe(`${value}\n`);
      });
    }

    for (const listener of ['saslPlain', 'scram256', 'scram512'] as const) {
      const c = CASES.find((x) => x.listener === listener);
      it.skipIf(c === undefined || !kcatCan(c))(`refuses a wrong password on ${listener}`, async () => {
        const args = kcatArgs(k, listener, { user: { username: 'alice', password: 'not-the-password' } });
        // A producer gives up at once when every broker refuses it (a metadata request would wait).
        const res = await kcat([...args, '-P', '-t', uniqueTopic('kcat-badpw')], 'x');
        expect(res.code).not.toBe(0);
        expect(res.stderr).toMatch(AUTH_FAILED);
      });
    }

    it('refuses an unknown user on SASL_PLAIN', async () => {
      const args = kcatArgs(k, 'saslPlain', { user: { username: 'mallory', password: 'alice-secret' } });
      const res = await kcat([...args, '-P', '-t', uniqueTopic('kcat-baduser')], 'x');
      expect(res.code).not.toBe(0);
      expect(res.stderr).toMatch(AUTH_FAILED);
    });

    it('refuses a client without certificate on the mTLS listener', async () => {
      const topic = uniqueTopic('kcat-nocert');
      const res = await kcat([...kcatArgs(k, 'mtls', { clientCert: false }), '-P', '-t', topic], 'x');
      expect(res.code).not.toBe(0);
      expect(res.stderr).toMatch(/bad certificate|certificate required|handshake|ssl/i);
      // The same client with its certificate gets the metadata.
      const ok = await kcat([...kcatArgs(k, 'mtls'), '-L', '-m', '15']);
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout).toContain(k.listeners.mtls);
    });

    it('accepts the TLS listener only with the test CA', async () => {
      const args = kcatArgs(k, 'tls');
      const ca = args.findIndex((a) => a.startsWith('ssl.ca.location='));
      expect(ca).toBeGreaterThan(0);
      args.splice(ca - 1, 2);
      // No CA given: librdkafka verifies against the system store, which does not know our CA.
      const res = await kcat([...args, '-P', '-t', uniqueTopic('kcat-noca')], 'x');
      expect(res.code).not.toBe(0);
      expect(res.stderr).toMatch(/certificate verify failed/i);
    });
  });
});
