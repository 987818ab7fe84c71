// Library errors → the reasons mappings switch on, and reasons → stream errors.
import {
  AuthenticationError,
  MultipleErrors,
  NetworkError,
  ProtocolError,
  ResponseError,
  TimeoutError,
  UnsupportedApiError,
  UserError,
} from '@platformatic/kafka';
import { describe, expect, it } from 'vitest';
import { classifyError } from '../../src/client/platformatic.ts';
import { streamError, type ClientContext } from '../../src/client/stream/support.ts';
import { resolveClientOptions } from '../../src/config/options.ts';
import { errors } from '../../src/errors.ts';

const systemError = (code: string, message: string) => Object.assign(new Error(message), { code });
/** How the library reports a failed connection after retrying. */
const retried = (...causes: Error[]) =>
  new MultipleErrors('metadata failed 2 times.', [
    new MultipleErrors(
      'Cannot connect to any broker.',
      causes.map((cause) => new NetworkError('Connection to 127.0.0.1:9092 failed.', { cause })),
    ),
  ]);

describe('classifyError', () => {
  it('maps refused and reset connections to unavailable (retriable)', () => {
    const error = classifyError(retried(systemError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:9092')));
    expect(error).toMatchObject({
      reason: 'unavailable',
      retriable: true,
      cause: 'ECONNREFUSED',
      staleMetadata: false,
    });
    expect(classifyError(new NetworkError('Connection closed')).reason).toBe('unavailable');
  });

  it('maps failed SASL authentication to authentication, not retriable', () => {
    const sasl = new AuthenticationError('SASL authentication failed.', {
      cause: new ResponseError(
        36,
        2,
        {
          '': [
            58,
            'Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256',
          ],
        },
        {},
      ),
    });
    const error = classifyError(retried(sasl));
    expect(error).toMatchObject({
      reason: 'authentication',
      retriable: false,
      cause: 'SASL_AUTHENTICATION_FAILED',
    });
    expect(error.message).toMatch(/invalid credentials/);
  });

  it('maps an unverifiable broker certificate to authentication', () => {
    const error = classifyError(
      retried(systemError('SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain')),
    );
    expect(error).toMatchObject({ reason: 'authentication', cause: 'SELF_SIGNED_CERT_IN_CHAIN' });
    expect(error.message).toMatch(/^TLS: /);
    expect(classifyError(new UserError('Broker requires TLS.')).reason).toBe('authentication');
  });

  it('maps authorization errors', () => {
    const error = classifyError(
      new ResponseError(0, 11, { '/responses/0/partitions/0': [29, null] }, {}),
      'orders',
    );
    expect(error).toMatchObject({
      reason: 'authorization',
      cause: 'TOPIC_AUTHORIZATION_FAILED',
      retriable: false,
    });
  });

  it('maps unknown topics: definitive from metadata, retriable after a refresh from a partition error', () => {
    expect(classifyError(new UserError('Unknown topic orders.'))).toMatchObject({
      reason: 'unknown-topic',
      retriable: false,
      message: 'topic "orders" does not exist',
    });
    expect(classifyError(new ProtocolError('UNKNOWN_TOPIC_OR_PARTITION'))).toMatchObject({
      reason: 'unknown-topic',
      retriable: true,
      staleMetadata: true,
    });
  });

  it('maps leadership changes to unavailable with stale metadata', () => {
    expect(classifyError(new ProtocolError('NOT_LEADER_OR_FOLLOWER'))).toMatchObject({
      reason: 'unavailable',
      retriable: true,
      staleMetadata: true,
    });
  });

  it('maps refused records to invalid-record', () => {
    expect(
      classifyError(new ResponseError(0, 11, { '/responses/0/partition_responses/0': [10, null] }, {})),
    ).toMatchObject({
      reason: 'invalid-record',
      cause: 'MESSAGE_TOO_LARGE',
      retriable: false,
    });
  });

  it('maps a commit refused because the generation ended to rebalanced, not retriable', () => {
    // Kafka protocol: OffsetCommit (api key 8), error codes 22, 25 and 27.
    for (const [code, name] of [
      [22, 'ILLEGAL_GENERATION'],
      [25, 'UNKNOWN_MEMBER_ID'],
      [27, 'REBALANCE_IN_PROGRESS'],
    ] as const) {
      expect(
        classifyError(new ResponseError(8, 9, { '/topics/0/partitions/0': [code, null] }, {}), 'orders'),
      ).toMatchObject({ reason: 'rebalanced', cause: name, retriable: false, staleMetadata: false });
    }
  });

  it('tells a request timeout from a connection timeout', () => {
    expect(classifyError(new TimeoutError('Request timed out'))).toMatchObject({
      reason: 'timeout',
      retriable: true,
    });
    expect(classifyError(retried(new TimeoutError('Connection to 10.0.0.1:9092 timed out.')))).toMatchObject({
      reason: 'unavailable',
    });
  });

  it('flags an unsupported protocol version', () => {
    expect(classifyError(new UnsupportedApiError('Unsupported API Fetch.'))).toMatchObject({
      reason: 'internal',
      unsupportedVersion: true,
    });
  });

  it('falls back to internal', () => {
    expect(classifyError(new Error('something odd'))).toMatchObject({
      reason: 'internal',
      message: 'something odd',
    });
    expect(classifyError('a string')).toMatchObject({ reason: 'internal' });
  });
});

describe('streamError', () => {
  const ctx: Pick<ClientContext, 'options' | 'security'> = {
    options: resolveClientOptions({
      servers: ['k1:9092', 'k2:9092'],
      sasl: { mechanism: 'plain', username: 'u', password: 'p4ss' },
    }),
    security: 'SASL PLAIN',
  };
  const scope = { operation: 'fetch', topic: 'orders', ms: 1500 };
  const cases = [
    ['unavailable', 'TRIB_KAFKA_UNAVAILABLE', 503],
    ['timeout', 'TRIB_KAFKA_TIMEOUT', 503],
    ['authentication', 'TRIB_KAFKA_AUTHENTICATION', 503],
    ['authorization', 'TRIB_KAFKA_AUTHORIZATION', 503],
    ['unknown-topic', 'TRIB_KAFKA_UNKNOWN_TOPIC', 404],
    ['invalid-record', 'TRIB_KAFKA_INVALID_RECORD', 400],
    ['invalid-token', 'TRIB_KAFKA_INVALID_TOKEN', 400],
    ['rebalanced', 'TRIB_KAFKA_REBALANCED', 409],
    ['internal', 'TRIB_KAFKA_INTERNAL', 500],
  ] as const;
  for (const [reason, code, status] of cases) {
    it(`turns ${reason} into ${code} (status ${status})`, () => {
      const made = streamError(ctx, { reason, message: 'why', retriable: false }, scope);
      expect(made.code).toBe(code);
      expect(made.ext).toEqual({
        type: 'kafka',
        kind: 'error',
        reason,
        code,
        message: made.message,
        retriable: false,
      });
      expect(errors[code].spec.status).toBe(status);
      expect(made.message).not.toContain('p4ss');
    });
  }

  it('names the mechanism and servers of a refused authentication, and the wait of a timeout', () => {
    expect(
      streamError(ctx, { reason: 'authentication', message: 'bad', retriable: false }, scope).message,
    ).toBe('Kafka refused the gateway credentials (SASL PLAIN on k1:9092,k2:9092): bad');
    expect(streamError(ctx, { reason: 'timeout', message: 'x', retriable: true }, scope).message).toBe(
      'Kafka did not acknowledge within 1500 ms',
    );
  });
});
