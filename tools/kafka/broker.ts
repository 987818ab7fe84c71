// Starts a single-node KRaft Kafka broker (combined broker+controller roles, static quorum) on
// loopback with one listener per security setup the gateway has to speak.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CERT_FILES, ensureCerts, type KafkaCerts } from './certs.ts';
import { fetchKafka, kafkaMajor, resolveKafkaVersion } from './fetch.ts';
import {
  CACHE_DIR,
  canConnect,
  findFreePortBlock,
  poll,
  pruneOldRuns,
  releasePorts,
  run,
  spawnWatchdog,
  stopChild,
  tailFile,
  trackChild,
  waitForExit,
} from './util.ts';

export interface KafkaUser {
  username: string;
  password: string;
}

/** SASL users known to every broker: PLAIN (JAAS) and SCRAM-SHA-256/512 (added at format time). */
export const KAFKA_USERS = {
  alice: { username: 'alice', password: 'alice-secret' },
  bob: { username: 'bob', password: 'bob-secret' },
} as const satisfies Record<string, KafkaUser>;

export type KafkaUsers = { readonly [K in keyof typeof KAFKA_USERS]: KafkaUser };

export type ListenerKey = 'plaintext' | 'saslPlain' | 'scram256' | 'scram512' | 'tls' | 'mtls' | 'saslSsl';

export interface ListenerSpec {
  /** Kafka listener name. */
  name: string;
  securityProtocol: 'PLAINTEXT' | 'SASL_PLAINTEXT' | 'SSL' | 'SASL_SSL';
  saslMechanisms: readonly ('PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512')[];
  /** The listener requires a client certificate (mTLS). */
  clientAuth: boolean;
  /** Suffix of the environment variable (`KAFKA_BOOTSTRAP<suffix>`). */
  envSuffix: string;
}

/** The client listeners, in port order (base port + index). The controller takes the next port. */
export const LISTENERS: { readonly [K in ListenerKey]: ListenerSpec } = {
  plaintext: {
    name: 'PLAINTEXT',
    securityProtocol: 'PLAINTEXT',
    saslMechanisms: [],
    clientAuth: false,
    envSuffix: '',
  },
  saslPlain: {
    name: 'SASL_PLAIN',
    securityProtocol: 'SASL_PLAINTEXT',
    saslMechanisms: ['PLAIN'],
    clientAuth: false,
    envSuffix: '_SASL_PLAIN',
  },
  scram256: {
    name: 'SCRAM256',
    securityProtocol: 'SASL_PLAINTEXT',
    saslMechanisms: ['SCRAM-SHA-256'],
    clientAuth: false,
    envSuffix: '_SCRAM_SHA_256',
  },
  scram512: {
    name: 'SCRAM512',
    securityProtocol: 'SASL_PLAINTEXT',
    saslMechanisms: ['SCRAM-SHA-512'],
    clientAuth: false,
    envSuffix: '_SCRAM_SHA_512',
  },
  tls: { name: 'TLS', securityProtocol: 'SSL', saslMechanisms: [], clientAuth: false, envSuffix: '_TLS' },
  mtls: { name: 'MTLS', securityProtocol: 'SSL', saslMechanisms: [], clientAuth: true, envSuffix: '_MTLS' },
  saslSsl: {
    name: 'SASL_SSL',
    securityProtocol: 'SASL_SSL',
    saslMechanisms: ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'],
    clientAuth: false,
    envSuffix: '_SASL_SSL',
  },
};

export const LISTENER_KEYS = Object.keys(LISTENERS) as ListenerKey[];

export type KafkaListeners = { [K in ListenerKey]: string };

/** Everything a client needs to reach a running broker; plain JSON (safe to pass to vitest `provide`). */
export interface KafkaInfo {
  version: string;
  /** The PLAINTEXT listener, `127.0.0.1:port`. */
  bootstrap: string;
  /** `host:port` per listener. */
  listeners: KafkaListeners;
  /** The (plaintext) KRaft controller listener. */
  controller: string;
  certs: Pick<KafkaCerts, 'ca' | 'clientCert' | 'clientKey' | 'clientKeystore'>;
  users: KafkaUsers;
  /** Folder of this run: server.properties, the data dir and broker.log. */
  runDir: string;
  logFile: string;
}

/** A listener added by `StartKafkaOptions.extraListeners`. */
export interface ExtraListenerSpec {
  /** Kafka listener name, e.g. `OAUTH` (letters, digits, `_`); must differ from the standard ones. */
  name: string;
  securityProtocol: 'PLAINTEXT' | 'SASL_PLAINTEXT' | 'SSL' | 'SASL_SSL';
  /**
   * Properties of this listener, without the `listener.name.<name lower-cased>.` prefix, e.g.
   * `{ 'sasl.enabled.mechanisms': 'OAUTHBEARER', 'oauthbearer.sasl.jaas.config': '...' }`.
   */
  properties?: Record<string, string | number | boolean>;
}

export interface KafkaHandle extends KafkaInfo {
  /** `host:port` of each listener of `StartKafkaOptions.extraListeners`, by name. */
  readonly extraListeners: Readonly<Record<string, string>>;
  /** Pid of the current broker process (changes on resume()). */
  readonly pid: number;
  /** Milliseconds from spawning the broker JVM to readiness (format excluded). */
  startMs: number;
  /** SIGTERM, wait, then SIGKILL. Safe to call more than once. */
  stop(): Promise<void>;
  /**
   * Stops the broker process like stop() but keeps its run folder (data) and ports, so that
   * resume() brings the same broker back: for tests of clients across a broker restart.
   */
  pause(): Promise<void>;
  /** Starts the broker again after pause(), on the same data and ports; resolves when ready. */
  resume(): Promise<void>;
  /** Resolves when the current broker process exits (for whatever reason). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** `KAFKA_BOOTSTRAP`, `KAFKA_BOOTSTRAP_SASL_PLAIN`, ... (see kafkaEnv). */
  env(prefix?: string): Record<string, string>;
  /** The JSON-serialisable part of the handle. */
  info(): KafkaInfo;
}

export interface StartKafkaOptions {
  /** `current` (default), `compat`, or an explicit version such as `4.2.0`. */
  version?: string;
  /** Max time for the broker to become ready (default 90 s). */
  timeoutMs?: number;
  /** Max heap (default `512m`). */
  heap?: string;
  /** Extra or overriding broker properties. */
  properties?: Record<string, string | number | boolean>;
  /** Extra JVM arguments for the broker. */
  jvmArgs?: string[];
  /**
   * Listeners besides the standard ones (e.g. SASL OAUTHBEARER for one test), on the ports after
   * the controller's. Not part of `KafkaInfo`/`env()`: see `KafkaHandle.extraListeners`.
   */
  extraListeners?: readonly ExtraListenerSpec[];
  /** Keep the run folder after stop() (default: removed). */
  keepRunDir?: boolean;
  /** Progress messages. */
  log?: (msg: string) => void;
}

/** Loopback address every launcher binds (also used by cluster.ts). */
export const HOST = '127.0.0.1';
/** The line a broker logs once it serves clients. */
export const READY_LINE = 'Kafka Server started';
const PORT_COUNT = LISTENER_KEYS.length + 1;

/** Environment variables describing a broker; `prefix` defaults to `KAFKA`. */
export function kafkaEnv(info: KafkaInfo, prefix = 'KAFKA'): Record<string, string> {
  const env: Record<string, string> = { [`${prefix}_VERSION`]: info.version };
  for (const key of LISTENER_KEYS)
    env[`${prefix}_BOOTSTRAP${LISTENERS[key].envSuffix}`] = info.listeners[key];
  env[`${prefix}_SSL_CA`] = info.certs.ca;
  env[`${prefix}_SSL_CLIENT_CERT`] = info.certs.clientCert;
  env[`${prefix}_SSL_CLIENT_KEY`] = info.certs.clientKey;
  env[`${prefix}_SASL_USERNAME`] = info.users.alice.username;
  env[`${prefix}_SASL_PASSWORD`] = info.users.alice.password;
  return env;
}

function jaasQuote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function serverProperties(
  basePort: number,
  dataDir: string,
  extra: Record<string, string | number | boolean>,
): Record<string, string> {
  const ctlPort = basePort + LISTENER_KEYS.length;
  const listeners = LISTENER_KEYS.map((k, i) => `${LISTENERS[k].name}://${HOST}:${basePort + i}`);
  const protoMap = [
    ...LISTENER_KEYS.map((k) => `${LISTENERS[k].name}:${LISTENERS[k].securityProtocol}`),
    'CONTROLLER:PLAINTEXT',
  ];
  const plainUsers = Object.values(KAFKA_USERS)
    .map((u) => `user_${u.username}=${jaasQuote(u.password)}`)
    .join(' ');
  const props: Record<string, string> = {
    'process.roles': 'broker,controller',
    'node.id': '1',
    'controller.quorum.voters': `1@${HOST}:${ctlPort}`,
    'controller.listener.names': 'CONTROLLER',
    listeners: [...listeners, `CONTROLLER://${HOST}:${ctlPort}`].join(','),
    // Client listeners only: 3.7/3.8 reject an advertised controller listener.
    'advertised.listeners': listeners.join(','),
    'listener.security.protocol.map': protoMap.join(','),
    'inter.broker.listener.name': 'PLAINTEXT',
    'log.dirs': dataDir,
    // TLS: PEM files, no passwords (the keys are unencrypted PKCS#8).
    'ssl.keystore.type': 'PEM',
    'ssl.keystore.location': CERT_FILES.brokerKeystore,
    'ssl.truststore.type': 'PEM',
    'ssl.truststore.location': CERT_FILES.ca,
    // Single node: replication factor 1 everywhere, one partition for internal topics.
    'num.partitions': '1',
    'default.replication.factor': '1',
    'min.insync.replicas': '1',
    'offsets.topic.replication.factor': '1',
    'offsets.topic.num.partitions': '1',
    'transaction.state.log.replication.factor': '1',
    'transaction.state.log.min.isr': '1',
    'transaction.state.log.num.partitions': '1',
    'share.coordinator.state.topic.replication.factor': '1',
    'share.coordinator.state.topic.min.isr': '1',
    'share.coordinator.state.topic.num.partitions': '1',
    'auto.create.topics.enable': 'true',
    'delete.topic.enable': 'true',
    // Fast tests.
    'group.initial.rebalance.delay.ms': '0',
    'num.network.threads': '2',
    'num.io.threads': '2',
    'num.recovery.threads.per.data.dir': '1',
    'log.cleaner.threads': '1',
    'log.cleaner.dedupe.buffer.size': String(8 * 1024 * 1024),
  };
  for (const key of LISTENER_KEYS) {
    const spec = LISTENERS[key];
    const lname = spec.name.toLowerCase();
    if (spec.clientAuth) props[`listener.name.${lname}.ssl.client.auth`] = 'required';
    if (spec.saslMechanisms.length === 0) continue;
    props[`listener.name.${lname}.sasl.enabled.mechanisms`] = spec.saslMechanisms.join(',');
    for (const mech of spec.saslMechanisms) {
      props[`listener.name.${lname}.${mech.toLowerCase()}.sasl.jaas.config`] =
        mech === 'PLAIN'
          ? `org.apache.kafka.common.security.plain.PlainLoginModule required ${plainUsers};`
          : 'org.apache.kafka.common.security.scram.ScramLoginModule required;';
    }
  }
  for (const [k, v] of Object.entries(extra)) props[k] = String(v);
  return props;
}

function checkExtraListeners(specs: readonly ExtraListenerSpec[]): void {
  const taken = new Set([...LISTENER_KEYS.map((k) => LISTENERS[k].name), 'CONTROLLER']);
  for (const spec of specs) {
    if (!/^[A-Za-z0-9_]+$/.test(spec.name) || taken.has(spec.name.toUpperCase()))
      throw new Error(`extra listener name "${spec.name}" is invalid or already used`);
    taken.add(spec.name.toUpperCase());
  }
}

/** Adds `specs` to `props` on the ports from `firstPort` on; returns their `host:port` by name. */
function addExtraListeners(
  props: Record<string, string>,
  specs: readonly ExtraListenerSpec[],
  firstPort: number,
): Record<string, string> {
  const addresses: Record<string, string> = {};
  specs.forEach((spec, i) => {
    const address = `${HOST}:${firstPort + i}`;
    addresses[spec.name] = address;
    const append = (key: string, item: string) => (props[key] = props[key] ? `${props[key]},${item}` : item);
    append('listeners', `${spec.name}://${address}`);
    append('advertised.listeners', `${spec.name}://${address}`);
    append('listener.security.protocol.map', `${spec.name}:${spec.securityProtocol}`);
    for (const [k, v] of Object.entries(spec.properties ?? {}))
      props[`listener.name.${spec.name.toLowerCase()}.${k}`] = String(v);
  });
  return addresses;
}

export function propertiesText(props: Record<string, string>): string {
  // Only backslashes need escaping in our values (none contain newlines).
  return Object.entries(props)
    .map(([k, v]) => `${k}=${v.replace(/\\/g, '\\\\')}`)
    .join('\n');
}

export const LOG4J1 = `log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.log.LogCleaner=WARN
log4j.logger.org.apache.kafka.storage.internals.log=WARN
log4j.logger.kafka.log=WARN
`;

export const LOG4J2 = `status = warn
appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
logger.storage.name = org.apache.kafka.storage.internals.log
logger.storage.level = WARN
logger.kafkalog.name = kafka.log
logger.kafkalog.level = WARN
`;

/** A Kafka cluster id: 16 random bytes, base64url, not starting with '-' (it is a CLI argument). */
export function clusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

export function javaArgs(libs: string, runDir: string, version: string, heap: string): string[] {
  const logging =
    kafkaMajor(version) < 4
      ? `-Dlog4j.configuration=file:${path.join(runDir, 'log4j.properties')}`
      : `-Dlog4j2.configurationFile=${path.join(runDir, 'log4j2.properties')}`;
  return [
    '-Xms128m',
    `-Xmx${heap}`,
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-XX:+ExitOnOutOfMemoryError',
    // C1 only: the broker starts noticeably faster and test traffic is light.
    '-XX:TieredStopAtLevel=1',
    '-Xss1m',
    '-Djava.awt.headless=true',
    `-Dkafka.logs.dir=${runDir}`,
    logging,
    '-cp',
    path.join(libs, '*'),
  ];
}

class StartError extends Error {
  readonly portClash: boolean;
  constructor(message: string, portClash: boolean) {
    super(message);
    this.portClash = portClash;
  }
}

/** Starts a broker; rejects with the log tail if it does not come up in time. */
export async function startKafka(opts: StartKafkaOptions = {}): Promise<KafkaHandle> {
  const version = resolveKafkaVersion(opts.version);
  const log = opts.log ?? (() => undefined);
  checkExtraListeners(opts.extraListeners ?? []);
  const libs = await fetchKafka(version, log);
  await ensureCerts();
  const runsParent = path.join(CACHE_DIR, 'kafka');
  await pruneOldRuns(runsParent, 'run-');
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(version, libs, opts, log);
    } catch (err) {
      if (err instanceof StartError && err.portClash && attempt < 3) {
        log(`Kafka ${version}: port clash, retrying on other ports`);
        continue;
      }
      throw err;
    }
  }
}

async function startOnce(
  version: string,
  libs: string,
  opts: StartKafkaOptions,
  log: (msg: string) => void,
): Promise<KafkaHandle> {
  const runsParent = path.join(CACHE_DIR, 'kafka');
  await mkdir(runsParent, { recursive: true });
  const runDir = await mkdtemp(path.join(runsParent, `run-${version}-`));
  const dataDir = path.join(runDir, 'data');
  const extraSpecs = opts.extraListeners ?? [];
  const portCount = PORT_COUNT + extraSpecs.length;
  const basePort = await findFreePortBlock(portCount, HOST);
  const props = serverProperties(basePort, dataDir, opts.properties ?? {});
  const extraListeners = addExtraListeners(props, extraSpecs, basePort + PORT_COUNT);
  const propsFile = path.join(runDir, 'server.properties');
  await writeFile(propsFile, propertiesText(props) + '\n');
  await writeFile(path.join(runDir, 'log4j.properties'), LOG4J1);
  await writeFile(path.join(runDir, 'log4j2.properties'), LOG4J2);
  const args = javaArgs(libs, runDir, version, opts.heap ?? '512m');
  const cleanup = async () => {
    releasePorts(basePort, portCount);
    if (!opts.keepRunDir) await rm(runDir, { recursive: true, force: true });
  };

  // Format the metadata dir, adding the SCRAM users (KRaft has no other way before the broker runs).
  const scram = Object.values(KAFKA_USERS).flatMap((u) =>
    ['SCRAM-SHA-256', 'SCRAM-SHA-512'].flatMap((m) => [
      '--add-scram',
      `${m}=[name=${u.username},password=${u.password}]`,
    ]),
  );
  const fmt = await run('java', [
    ...args.filter((a) => !a.startsWith('-Xms')),
    'kafka.tools.StorageTool',
    'format',
    '-t',
    clusterId(),
    '-c',
    propsFile,
    ...scram,
  ]);
  if (fmt.code !== 0) {
    const out = `${fmt.stdout}\n${fmt.stderr}`.trim();
    await cleanup();
    throw new Error(`Kafka ${version}: storage format failed (exit ${fmt.code ?? fmt.signal}):\n${out}`);
  }

  const logFile = path.join(runDir, 'broker.log');
  const readyCount = () =>
    existsSync(logFile) ? readFileSync(logFile, 'utf8').split(READY_LINE).length - 1 : 0;
  const spawnBroker = () => {
    const fd = openSync(logFile, 'a');
    const spawned = spawn('java', [...args, ...(opts.jvmArgs ?? []), 'kafka.Kafka', propsFile], {
      cwd: runDir,
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    trackChild(spawned);
    return spawned;
  };
  /** Waits until the broker logged its ready line once more than `before` times. */
  const waitReady = (spawned: ReturnType<typeof spawnBroker>, before: number, timeoutMs: number) =>
    poll<'ready' | 'exited'>(
      () => {
        if (spawned.exitCode !== null || spawned.signalCode !== null) return 'exited';
        if (readyCount() > before) return 'ready';
        return undefined;
      },
      timeoutMs,
      100,
    );
  const t0 = Date.now();
  let child = spawnBroker();
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  if (child.pid === undefined) {
    const err = await spawnError;
    await cleanup();
    throw new Error(`Kafka ${version}: cannot run java: ${err.message}`);
  }
  const pid = child.pid;
  spawnWatchdog(pid);
  log(`Kafka ${version}: starting (pid ${pid}, ports ${basePort}-${basePort + portCount - 1})`);

  const timeoutMs = opts.timeoutMs ?? 90_000;
  const outcome = await waitReady(child, 0, timeoutMs);
  if (outcome !== 'ready') {
    await stopChild(child, 5000);
    const tail = tailFile(logFile, 80);
    await cleanup();
    const why =
      outcome === 'exited'
        ? `exited with ${child.exitCode ?? child.signalCode}`
        : `not ready within ${Math.round(timeoutMs / 1000)} s`;
    throw new StartError(
      `Kafka ${version} broker ${why}. Last lines of broker.log:\n${tail}`,
      /Address already in use|BindException/.test(tail),
    );
  }
  if (!(await canConnect(basePort, HOST, 5000))) {
    await stopChild(child, 5000);
    const tail = tailFile(logFile, 80);
    await cleanup();
    throw new Error(
      `Kafka ${version}: logged "${READY_LINE}" but ${HOST}:${basePort} refuses connections:\n${tail}`,
    );
  }
  const startMs = Date.now() - t0;
  log(`Kafka ${version}: ready in ${(startMs / 1000).toFixed(1)} s on ${HOST}:${basePort}`);

  const listeners = Object.fromEntries(
    LISTENER_KEYS.map((k, i) => [k, `${HOST}:${basePort + i}`]),
  ) as KafkaListeners;
  const info: KafkaInfo = {
    version,
    bootstrap: listeners.plaintext,
    listeners,
    controller: `${HOST}:${basePort + LISTENER_KEYS.length}`,
    certs: {
      ca: CERT_FILES.ca,
      clientCert: CERT_FILES.clientCert,
      clientKey: CERT_FILES.clientKey,
      clientKeystore: CERT_FILES.clientKeystore,
    },
    users: structuredClone(KAFKA_USERS),
    runDir,
    logFile,
  };
  let stopping: Promise<void> | undefined;
  const exitOf = (spawned: typeof child) =>
    waitForExit(spawned).then(() => ({ code: spawned.exitCode, signal: spawned.signalCode }));
  let exited = exitOf(child);
  return {
    ...info,
    extraListeners,
    get pid() {
      return child.pid ?? pid;
    },
    startMs,
    get exited() {
      return exited;
    },
    info: () => structuredClone(info),
    env: (prefix?: string) => kafkaEnv(info, prefix),
    stop: () => {
      stopping ??= (async () => {
        await stopChild(child, 20_000);
        await cleanup();
        log(`Kafka ${version}: stopped`);
      })();
      return stopping;
    },
    pause: async () => {
      await stopChild(child, 20_000);
      log(`Kafka ${version}: paused`);
    },
    resume: async () => {
      if (stopping) throw new Error(`Kafka ${version}: stopped for good, cannot resume`);
      if (child.exitCode === null && child.signalCode === null) return;
      const before = readyCount();
      child = spawnBroker();
      exited = exitOf(child);
      if (child.pid !== undefined) spawnWatchdog(child.pid);
      const resumed = await waitReady(child, before, timeoutMs);
      if (resumed !== 'ready') {
        throw new Error(
          `Kafka ${version}: did not come back after resume. Last lines of broker.log:\n${tailFile(logFile, 80)}`,
        );
      }
      log(`Kafka ${version}: resumed (pid ${child.pid})`);
    },
  };
}
