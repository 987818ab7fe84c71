// Runs fixtures/JavaPartitions.java (compiled once per test process against the cached Kafka
// jars): the Java client's partition for each key, the reference for murmur2 compatibility.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fetchKafka, KAFKA_VERSIONS } from '../../../../tools/kafka/fetch.ts';
import { run, runChecked } from '../../../../tools/kafka/util.ts';

const SOURCE = fileURLToPath(new URL('fixtures/JavaPartitions.java', import.meta.url));

let compiled: Promise<string> | undefined;

function classpath(): Promise<string> {
  compiled ??= (async () => {
    const libs = await fetchKafka(KAFKA_VERSIONS.current);
    const out = await mkdtemp(path.join(tmpdir(), 'tributary-java-partitions-'));
    await runChecked('javac', ['-nowarn', '-cp', path.join(libs, '*'), '-d', out, SOURCE]);
    return `${out}${path.delimiter}${path.join(libs, '*')}`;
  })();
  return compiled;
}

export interface JavaPartition {
  readonly key: string;
  /** Where the Java producer put the record. */
  readonly produced: number;
  /** `Utils.toPositive(Utils.murmur2(key)) % partitions`. */
  readonly formula: number;
}

/** Produces `keys` to `topic` with the Java client; returns each key's partition. */
export async function javaPartitions(
  bootstrap: string,
  topic: string,
  partitions: number,
  keys: readonly Uint8Array[],
): Promise<JavaPartition[]> {
  const hex = keys.map((key) => Buffer.from(key).toString('hex'));
  const result = await run(
    'java',
    [
      '-Xmx128m',
      '-XX:TieredStopAtLevel=1',
      '-XX:+UseSerialGC',
      '-Dlog4j2.level=ERROR',
      '-cp',
      await classpath(),
      'JavaPartitions',
      bootstrap,
      topic,
      String(partitions),
      ...hex,
    ],
    { timeoutMs: 90_000 },
  );
  if (result.code !== 0) throw new Error(`JavaPartitions failed (${result.code}): ${result.stderr}`);
  // Not trim(): the line of the empty key starts with the separator.
  return result.stdout
    .trimEnd()
    .split('\n')
    .map((line) => {
      const [key = '', produced = '', formula = ''] = line.split(' ');
      return { key, produced: Number(produced), formula: Number(formula) };
    });
}
