// Kafka's own authorizer refusing the gateway's principal: the binding reports it as an
// authorization failure (event + nack/abort with reason `authorization`), never an ack, and
// carries on for what the principal may do.
import { afterEach, describe, expect, it } from 'vitest';
import { AclOperations, AclPermissionTypes, ResourcePatternTypes, ResourceTypes } from '@platformatic/kafka';
import type { TestHarness } from '@tributary/kernel/testkit';
import { startKafka, type KafkaHandle } from '../../../../tools/kafka/broker.ts';
import { uniqueTopic } from '../../../../tools/it/context.ts';
import {
  close,
  createTopic,
  eventually,
  failure,
  open,
  produce,
  startGateway,
  withAdmin,
} from './helpers.ts';

describe('authorization', () => {
  let broker: KafkaHandle | undefined;
  let harness: TestHarness | undefined;
  afterEach(async () => {
    await harness?.stop();
    harness = undefined;
    await broker?.stop();
    broker = undefined;
  });

  it('reports a topic the principal may not write or read as an authorization failure', async () => {
    // A broker of its own with the KRaft authorizer. Resources without ACLs stay open, so the
    // plaintext admin (ANONYMOUS) can set up; the topic below allows alice only.
    broker = await startKafka({
      heap: '384m',
      properties: {
        'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
        'allow.everyone.if.no.acl.found': true,
        'super.users': 'User:ANONYMOUS',
      },
    });
    const guarded = uniqueTopic('authz');
    const open_ = uniqueTopic('authz-open');
    await createTopic(broker, guarded, 1);
    await createTopic(broker, open_, 1);
    await withAdmin(broker, (admin) =>
      admin.createAcls({
        creations: [
          {
            resourceType: ResourceTypes.TOPIC,
            resourceName: guarded,
            resourcePatternType: ResourcePatternTypes.LITERAL,
            principal: `User:${broker!.users.alice.username}`,
            host: '*',
            operation: AclOperations.ALL,
            permissionType: AclPermissionTypes.ALLOW,
          },
        ],
      }),
    );

    harness = await startGateway(
      {
        servers: [broker.listeners.saslPlain],
        sasl: {
          mechanism: 'plain',
          username: broker.users.bob.username,
          password: '${{ env.KAFKA_TEST_PASSWORD }}',
        },
        produce: { idempotent: false, acks: 'all' },
      },
      { env: { KAFKA_TEST_PASSWORD: broker.users.bob.password } },
    );

    // ACLs take effect asynchronously: wait until bob is refused.
    let answers: Awaited<ReturnType<typeof produce>>['answers'] = [];
    await eventually(async () => {
      const result = await produce(harness!, guarded, [{ value: 'not for bob' }]);
      await close(result.peer);
      answers = result.answers;
      return answers[0]?.kind === 'nack';
    }, 20_000);
    const nack = answers[0]!;
    expect(nack.kind === 'nack' && nack.error.reason).toBe('authorization');
    expect(nack.kind === 'nack' && nack.error.code).toBe('TRIB_KAFKA_AUTHORIZATION');

    const fetch = open(
      harness,
      { capability: 'fetch', topic: guarded, start: 'historical' },
      { initialWindow: 65536 },
    );
    const failed = await failure(fetch);
    expect(failed.ext?.reason).toBe('authorization');
    expect(harness.events.some((e) => e.name === 'kafka.authorization.failed')).toBe(true);

    // The same principal still writes where it may.
    const allowed = await produce(harness, open_, [{ value: 'fine' }]);
    expect(allowed.answers.map((a) => a.kind)).toEqual(['ack']);
  });
});
