// Client settings for each listener of a broker started by startKafka(), plus two independent
// reference clients for tests: kcat (librdkafka) and KafkaCheck.java (the official Java client).
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LISTENERS, type KafkaInfo, type KafkaUser, type ListenerKey } from './broker.ts';
import { KAFKA_VERSIONS, fetchKafka } from './fetch.ts';
import { CACHE_DIR, populateOnce, run, runChecked, type RunResult } from './util.ts';

export interface ClientOptions {
  /** SASL user (default alice). Ignored on listeners without SASL. */
  user?: KafkaUser;
  /** SASL mechanism on listeners that offer several (SASL_SSL); default: the listener's first. */
  mechanism?: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512';
  /** Present the client certificate (default: only on the mTLS listener). */
  clientCert?: boolean;
}

function mechanismFor(listener: ListenerKey, opts: ClientOptions): string | undefined {
  const spec = LISTENERS[listener];
  if (spec.saslMechanisms.length === 0) return undefined;
  const mech = opts.mechanism ?? spec.saslMechanisms[0];
  if (mech === undefined || !spec.saslMechanisms.includes(mech)) {
    throw new Error(`listener ${listener} does not offer SASL mechanism ${String(mech)}`);
  }
  return mech;
}

/** librdkafka (kcat, node-rdkafka, confluent-kafka-*) settings for `listener`. */
export function librdkafkaConfig(
  info: KafkaInfo,
  listener: ListenerKey,
  opts: ClientOptions = {},
): Record<string, string> {
  const spec = LISTENERS[listener];
  const conf: Record<string, string> = {
    'bootstrap.servers': info.listeners[listener],
    'security.protocol': spec.securityProtocol.toLowerCase(),
  };
  const mech = mechanismFor(listener, opts);
  if (mech) {
    const user = opts.user ?? info.users.alice;
    conf['sasl.mechanisms'] = mech;
    conf['sasl.username'] = user.username;
    conf['sasl.password'] = user.password;
  }
  if (spec.securityProtocol === 'SSL' || spec.securityProtocol === 'SASL_SSL') {
    conf['ssl.ca.location'] = info.certs.ca;
    if (opts.clientCert ?? spec.clientAuth) {
      conf['ssl.certificate.location'] = info.certs.clientCert;
      conf['ssl.key.location'] = info.certs.clientKey;
    }
  }
  return conf;
}

function jaasQuote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** Java client (kafka-clients) settings for `listener`. */
export function javaClientConfig(
  info: KafkaInfo,
  listener: ListenerKey,
  opts: ClientOptions = {},
): Record<string, string> {
  const spec = LISTENERS[listener];
  const conf: Record<string, string> = {
    'bootstrap.servers': info.listeners[listener],
    'security.protocol': spec.securityProtocol,
  };
  const mech = mechanismFor(listener, opts);
  if (mech) {
    const user = opts.user ?? info.users.alice;
    const module =
      mech === 'PLAIN'
        ? 'org.apache.kafka.common.security.plain.PlainLoginModule'
        : 'org.apache.kafka.common.security.scram.ScramLoginModule';
    conf['sasl.mechanism'] = mech;
    conf['sasl.jaas.config'] =
      `${module} required username=${jaasQuote(user.username)} password=${jaasQuote(user.password)};`;
  }
  if (spec.securityProtocol === 'SSL' || spec.securityProtocol === 'SASL_SSL') {
    conf['ssl.truststore.type'] = 'PEM';
    conf['ssl.truststore.location'] = info.certs.ca;
    if (opts.clientCert ?? spec.clientAuth) {
      conf['ssl.keystore.type'] = 'PEM';
      conf['ssl.keystore.location'] = info.certs.clientKeystore;
    }
  }
  return conf;
}

/** `kcat` arguments (`-b ... -X k=v ...`) for `listener`. */
export function kcatArgs(info: KafkaInfo, listener: ListenerKey, opts: ClientOptions = {}): string[] {
  const conf = librdkafkaConfig(info, listener, opts);
  const args = ['-b', conf['bootstrap.servers'] ?? ''];
  for (const [k, v] of Object.entries(conf)) if (k !== 'bootstrap.servers') args.push('-X', `${k}=${v}`);
  return args;
}

// ---- KafkaCheck.java, compiled once against the current version's kafka-clients ----

const JAVA_SOURCE = fileURLToPath(new URL('java/KafkaCheck.java', import.meta.url));

let classpath: Promise<string> | undefined;

/** Compiles KafkaCheck.java (once per source version) and returns the classpath to run it. */
export function kafkaCheckClasspath(): Promise<string> {
  classpath ??= (async () => {
    const libs = await fetchKafka(KAFKA_VERSIONS.current);
    const hash = createHash('sha256').update(readFileSync(JAVA_SOURCE)).update(KAFKA_VERSIONS.current);
    const out = path.join(CACHE_DIR, 'kafka', 'kafka-check', hash.digest('hex').slice(0, 12));
    if (!existsSync(path.join(out, 'KafkaCheck.class'))) {
      await populateOnce(out, async (tmp) => {
        await runChecked('javac', ['-nowarn', '-cp', path.join(libs, '*'), '-d', tmp, JAVA_SOURCE]);
      });
      // Builds of older sources are of no more use.
      for (const old of readdirSync(path.dirname(out))) {
        if (old !== path.basename(out) && !old.includes('.tmp-')) {
          await rm(path.join(path.dirname(out), old), { recursive: true, force: true });
        }
      }
    }
    return `${out}${path.delimiter}${path.join(libs, '*')}`;
  })();
  classpath.catch(() => (classpath = undefined));
  return classpath;
}

function settingArgs(conf: Record<string, string>): string[] {
  return Object.entries(conf).map(([k, v]) => `${k}=${v}`);
}

const JAVA_OPTS = [
  '-Xmx128m',
  '-XX:TieredStopAtLevel=1',
  '-XX:+UseSerialGC',
  '-Dlog4j2.level=ERROR',
  '-Dsun.stdout.encoding=UTF-8',
  '-Dsun.stderr.encoding=UTF-8',
];
// Java decodes its arguments with the locale's charset: make it UTF-8 whatever the caller's locale.
const JAVA_ENV = { ...process.env, LC_ALL: 'C.UTF-8' };

/** Produces one record with the official Java client; exit code 0 means acknowledged. */
export async function javaProduce(
  conf: Record<string, string>,
  topic: string,
  value: string,
): Promise<RunResult> {
  const cp = await kafkaCheckClasspath();
  return run('java', [...JAVA_OPTS, '-cp', cp, 'KafkaCheck', 'produce', topic, value, ...settingArgs(conf)], {
    timeoutMs: 90_000,
    env: JAVA_ENV,
  });
}

/**
 * Produces one record, then reads partition 0 from the beginning with a separate consumer, in one
 * JVM (faster than javaProduce + javaConsume). stdout: `OK <partition> <offset>`, then the value read.
 */
export async function javaRoundtrip(
  conf: Record<string, string>,
  topic: string,
  value: string,
  timeoutMs = 30_000,
): Promise<RunResult> {
  const cp = await kafkaCheckClasspath();
  return run(
    'java',
    [
      ...JAVA_OPTS,
      '-cp',
      cp,
      'KafkaCheck',
      'roundtrip',
      topic,
      value,
      ...settingArgs({ ...conf, 'check.timeout.ms': String(timeoutMs) }),
    ],
    { timeoutMs: timeoutMs + 90_000, env: JAVA_ENV },
  );
}

/** Reads `count` records of partition 0 from the beginning with the official Java client. */
export async function javaConsume(
  conf: Record<string, string>,
  topic: string,
  count = 1,
  timeoutMs = 30_000,
): Promise<RunResult> {
  const cp = await kafkaCheckClasspath();
  return run(
    'java',
    [
      ...JAVA_OPTS,
      '-cp',
      cp,
      'KafkaCheck',
      'consume',
      topic,
      String(count),
      ...settingArgs({ ...conf, 'check.timeout.ms': String(timeoutMs) }),
    ],
    { timeoutMs: timeoutMs + 60_000, env: JAVA_ENV },
  );
}

// ---- kcat ----

/** Runs kcat with `args` (stdin from `input`), killed after `timeoutMs`. */
export function kcat(args: readonly string[], input?: string, timeoutMs = 60_000): Promise<RunResult> {
  return run('kcat', args, input === undefined ? { timeoutMs } : { input, timeoutMs });
}

let librdkafka: Promise<string | undefined> | undefined;

/** The librdkafka version kcat is linked with (e.g. `2.0.2`), or undefined if kcat is missing. */
export function kcatLibrdkafkaVersion(): Promise<string | undefined> {
  librdkafka ??= run('kcat', ['-V']).then(
    (r) => /librdkafka (\d+\.\d+\.\d+)/.exec(r.stdout + r.stderr)?.[1],
    () => undefined,
  );
  return librdkafka;
}

/**
 * Whether kcat can authenticate with SCRAM against Kafka 4.x. librdkafka before 2.6.1 repeats the
 * client nonce in the SCRAM client-final-message; 4.x brokers check the nonce strictly (RFC 5802)
 * and answer "invalid credentials". Debian 12's kcat links librdkafka 2.0.2.
 */
export async function kcatScramWorksWithKafka4(): Promise<boolean> {
  const v = await kcatLibrdkafkaVersion();
  if (v === undefined) return false;
  const [a = 0, b = 0, c = 0] = v.split('.').map(Number);
  return a > 2 || (a === 2 && (b > 6 || (b === 6 && c >= 1)));
}
