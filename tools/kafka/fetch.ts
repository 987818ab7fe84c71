// Downloads the Kafka broker jars (plus a logging backend) from Maven Central into the cache.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { copyRuntimeDependencies, type MavenDependency } from './maven.ts';
import { CACHE_DIR, isDir, populateOnce } from './util.ts';

/**
 * The two broker versions the project tests against: the newest 4.x release and the newest 3.9 patch
 * (Kafka 4.0 removed old protocol request versions, KIP-896, so both sides matter).
 */
export const KAFKA_VERSIONS = { current: '4.4.0', compat: '3.9.2' } as const;

export type KafkaVersionAlias = keyof typeof KAFKA_VERSIONS;

/** Maps `current` / `compat` / an explicit `x.y.z` to a version number. */
export function resolveKafkaVersion(v: string | undefined): string {
  if (v === undefined || v === '' || v === 'current') return KAFKA_VERSIONS.current;
  if (v === 'compat') return KAFKA_VERSIONS.compat;
  if (!/^\d+\.\d+\.\d+$/.test(v)) throw new Error(`bad Kafka version "${v}" (use current, compat or x.y.z)`);
  return v;
}

export function kafkaMajor(version: string): number {
  return Number(version.split('.')[0]);
}

export function kafkaCacheDir(version: string): string {
  return path.join(CACHE_DIR, 'kafka', version);
}

export function kafkaLibsDir(version: string): string {
  return path.join(kafkaCacheDir(version), 'libs');
}

/**
 * The broker POM leaves the logging backend out. Kafka (3.x and 4.x alike) logs through slf4j 1.7,
 * so 3.x gets the reload4j binding and 4.x the log4j2 slf4j-1.x binding (log4j-slf4j-impl).
 */
export function loggingDependencies(version: string): MavenDependency[] {
  if (kafkaMajor(version) < 4) {
    return [
      { groupId: 'org.slf4j', artifactId: 'slf4j-reload4j', version: '1.7.36' },
      { groupId: 'ch.qos.reload4j', artifactId: 'reload4j', version: '1.2.25' },
    ];
  }
  const [, minor] = version.split('.').map(Number);
  const log4j = (minor ?? 0) <= 1 ? '2.24.3' : '2.25.3';
  return ['log4j-slf4j-impl', 'log4j-core', 'log4j-api'].map((artifactId) => ({
    groupId: 'org.apache.logging.log4j',
    artifactId,
    version: log4j,
  }));
}

function hasJars(dir: string): boolean {
  return isDir(dir) && readdirSync(dir).some((f) => f.endsWith('.jar'));
}

/** Ensures the jars for `version` are in `.cache/kafka/<version>/libs`; returns that folder. */
export async function fetchKafka(
  version: string,
  log: (msg: string) => void = () => undefined,
): Promise<string> {
  const libs = kafkaLibsDir(version);
  if (hasJars(libs)) return libs;
  log(`fetching Kafka ${version} jars from Maven Central (once) ...`);
  await populateOnce(libs, async (tmp) => {
    await copyRuntimeDependencies(
      [{ groupId: 'org.apache.kafka', artifactId: 'kafka_2.13', version }, ...loggingDependencies(version)],
      tmp,
    );
    if (!hasJars(tmp)) throw new Error(`mvn copied no jars for Kafka ${version}`);
  });
  log(`Kafka ${version} jars in ${path.relative(process.cwd(), libs) || libs}`);
  return libs;
}
