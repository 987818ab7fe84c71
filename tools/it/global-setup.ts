// vitest globalSetup of the `it` project: starts Kafka (current 4.x), Kafka 3.9 (compat) and Apicurio
// Registry in parallel once per run, provides their connection info to the tests (see context.ts),
// and stops them all on teardown.
//
// TRIBUTARY_IT_SKIP_COMPAT=1 skips the 3.9 broker (quicker local loops); CI runs both.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startApicurio, type ApicurioHandle } from '../apicurio/index.ts';
import { startKafka, type KafkaHandle } from '../kafka/broker.ts';
import { KAFKA_VERSIONS } from '../kafka/fetch.ts';
import { CACHE_DIR } from '../kafka/util.ts';
import type {} from './provided.ts';

const log = (msg: string) => process.stderr.write(`[it] ${msg}\n`);

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Topic locks of example smoke tests (tools/it/example.ts) left by an interrupted run.
  rmSync(join(CACHE_DIR, 'it-locks'), { recursive: true, force: true });
  const skipCompat = process.env['TRIBUTARY_IT_SKIP_COMPAT'] === '1';
  const t0 = Date.now();
  const started: { stop(): Promise<void> }[] = [];
  const track = <T extends { stop(): Promise<void> }>(p: Promise<T>): Promise<T> =>
    p.then((h) => {
      started.push(h);
      return h;
    });
  const results = await Promise.allSettled([
    track(startKafka({ version: KAFKA_VERSIONS.current, log })),
    skipCompat ? Promise.resolve(undefined) : track(startKafka({ version: KAFKA_VERSIONS.compat, log })),
    track(startApicurio({ log })),
  ]);
  const teardown = async () => {
    await Promise.allSettled(started.map((h) => h.stop()));
  };
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failures.length > 0) {
    await teardown();
    throw new Error(
      `integration services failed to start:\n${failures
        .map((f) => (f.reason instanceof Error ? f.reason.message : String(f.reason)))
        .join('\n\n')}`,
    );
  }
  const [kafka, kafkaCompat, apicurio] = results.map((r) =>
    r.status === 'fulfilled' ? r.value : undefined,
  ) as [KafkaHandle, KafkaHandle | undefined, ApicurioHandle];
  log(
    `services up in ${((Date.now() - t0) / 1000).toFixed(1)} s: Kafka ${kafka.version} ${kafka.bootstrap}` +
      (kafkaCompat ? `, Kafka ${kafkaCompat.version} ${kafkaCompat.bootstrap}` : ', Kafka 3.9 skipped') +
      `, Apicurio ${apicurio.version} ${apicurio.url}`,
  );

  project.provide('kafka', kafka.info());
  project.provide('kafkaCompat', kafkaCompat ? kafkaCompat.info() : null);
  project.provide('apicurio', apicurio.info());
  // Also as environment variables, for tests that spawn processes (forked workers inherit them).
  Object.assign(process.env, kafka.env('KAFKA'), apicurio.env());
  if (kafkaCompat) Object.assign(process.env, kafkaCompat.env('KAFKA_COMPAT'));

  return teardown;
}
