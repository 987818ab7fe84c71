// Every listener of both test brokers (4.x and 3.9) carries a real message end to end, checked with
// the official Java client (tools/kafka/java/KafkaCheck.java, kafka-clients of the current version).
// Wrong credentials and a missing client certificate are refused.
import { randomBytes } from 'node:crypto';
import { describe, it } from 'vitest';
import type { ListenerKey } from '../kafka/broker.ts';
import { javaClientConfig, javaProduce, javaRoundtrip, type ClientOptions } from '../kafka/clients.ts';
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

function payload(tag: string): string {
  return `tributary ${tag} ${randomBytes(6).toString('hex')} ünïcödé`;
}

function opts(c: Case): ClientOptions {
  return c.mechanism ? { mechanism: c.mechanism } : {};
}

// Each case starts its own JVM; running them concurrently keeps both cores busy.
describe.each(kafkaBrokers())('$name', ({ kafka: k }) => {
  describe.concurrent('Java client', () => {
    for (const c of CASES) {
      it(`produces and consumes through ${c.label}`, async ({ expect }) => {
        const topic = uniqueTopic(`java-${c.listener}`);
        const value = payload(c.label);
        const res = await javaRoundtrip(javaClientConfig(k, c.listener, opts(c)), topic, value);
        expect(res.code, res.stderr).toBe(0);
        // The producer's acknowledgement (partition 0, offset 0), then what a fresh consumer read.
        expect(res.stdout).toBe(`OK 0 0\n${value}\n`);
      });
    }

    for (const listener of ['scram256', 'scram512'] as const) {
      it(`refuses a wrong password on ${listener}`, async ({ expect }) => {
        const conf = javaClientConfig(k, listener, {
          user: { username: 'alice', password: 'not-the-password' },
        });
        const res = await javaProduce(conf, uniqueTopic('java-badpw'), 'x');
        expect(res.code).toBe(1);
        expect(res.stderr).toMatch(/SaslAuthenticationException/);
      });
    }

    it('refuses a client without certificate on the mTLS listener', async ({ expect }) => {
      const conf = javaClientConfig(k, 'mtls', { clientCert: false });
      const res = await javaProduce(conf, uniqueTopic('java-nocert'), 'x');
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(/SSLHandshakeException|SslAuthenticationException/);
    });
  });
});
