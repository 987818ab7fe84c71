// Starts a KRaft Kafka cluster of several processes on loopback: every node has the combined
// broker+controller roles and is a voter of a static controller quorum, with a plaintext client
// listener and a controller listener of its own. For tests of clients across leader changes and
// broker failures (startKafka is the single-node broker with every security setup).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { HOST, LOG4J1, LOG4J2, READY_LINE, clusterId, javaArgs, propertiesText } from './broker.ts';
import { fetchKafka, resolveKafkaVersion } from './fetch.ts';
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

export interface StartKafkaClusterOptions {
  /** Number of nodes (default 3). A paused node needs a majority of the others to stay up. */
  brokers?: number;
  /** `current` (default), `compat`, or an explicit version such as `4.2.0`. */
  version?: string;
  /** Extra or overriding properties, for every node. */
  properties?: Record<string, string | number | boolean>;
  /** Max heap of each node (default `256m`). */
  heap?: string;
  /** Extra JVM arguments for every node. */
  jvmArgs?: string[];
  /** Max time for the cluster to become ready, and for a node to come back (default 120 s). */
  timeoutMs?: number;
  /** Keep the run folder after stop() (default: removed). */
  keepRunDir?: boolean;
  /** Progress messages. */
  log?: (msg: string) => void;
}

/** One node, as plain JSON. */
export interface KafkaClusterNodeInfo {
  /** `node.id` = broker id in metadata (1-based). */
  id: number;
  /** Its PLAINTEXT listener, `127.0.0.1:port`. */
  address: string;
  /** Its controller listener. */
  controller: string;
  runDir: string;
  logFile: string;
}

export interface KafkaClusterInfo {
  version: string;
  /** Every node's PLAINTEXT listener, comma-separated (a client's bootstrap list). */
  bootstrap: string;
  nodes: KafkaClusterNodeInfo[];
  runDir: string;
}

export interface KafkaClusterNode extends KafkaClusterNodeInfo {
  /** Pid of the node's current process (changes on resume()). */
  readonly pid: number;
  /** False between pause() and resume(). */
  readonly running: boolean;
  /** Resolves when the node's current process exits. */
  readonly exited: Promise<void>;
  /**
   * Stops the node (SIGTERM: a controlled shutdown, so its partition leaderships move to other
   * replicas first), keeping its data and ports for resume().
   */
  pause(): Promise<void>;
  /** Starts the node again on the same data and ports; resolves when it serves clients again. */
  resume(): Promise<void>;
}

export interface KafkaClusterHandle extends KafkaClusterInfo {
  readonly brokers: readonly KafkaClusterNode[];
  /** The node with this `node.id`; throws for an unknown id. */
  broker(id: number): KafkaClusterNode;
  /** Kills every node (SIGKILL: the data is thrown away) and removes the run folder. Idempotent. */
  stop(): Promise<void>;
  /** The JSON-serialisable part of the handle. */
  info(): KafkaClusterInfo;
}

/** Two ports per node: `base + 2i` the client listener, `base + 2i + 1` the controller. */
const PORTS_PER_NODE = 2;

function nodeProperties(
  id: number,
  count: number,
  basePort: number,
  dataDir: string,
  extra: Record<string, string | number | boolean>,
): Record<string, string> {
  const clientPort = (n: number) => basePort + PORTS_PER_NODE * (n - 1);
  const voters = Array.from({ length: count }, (_, i) => `${i + 1}@${HOST}:${clientPort(i + 1) + 1}`);
  const replication = String(Math.min(3, count));
  const minIsr = String(Math.min(2, count));
  const props: Record<string, string> = {
    'process.roles': 'broker,controller',
    'node.id': String(id),
    'controller.quorum.voters': voters.join(','),
    'controller.listener.names': 'CONTROLLER',
    listeners: `PLAINTEXT://${HOST}:${clientPort(id)},CONTROLLER://${HOST}:${clientPort(id) + 1}`,
    'advertised.listeners': `PLAINTEXT://${HOST}:${clientPort(id)}`,
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name': 'PLAINTEXT',
    'log.dirs': dataDir,
    // Replicated by default (up to 3 copies), writes with acks=all need two in sync.
    'num.partitions': '1',
    'default.replication.factor': replication,
    'min.insync.replicas': minIsr,
    'offsets.topic.replication.factor': replication,
    'offsets.topic.num.partitions': '1',
    'transaction.state.log.replication.factor': replication,
    'transaction.state.log.min.isr': minIsr,
    'transaction.state.log.num.partitions': '1',
    'share.coordinator.state.topic.replication.factor': replication,
    'share.coordinator.state.topic.min.isr': minIsr,
    'share.coordinator.state.topic.num.partitions': '1',
    'auto.create.topics.enable': 'true',
    'delete.topic.enable': 'true',
    // Small and quick: tests run this beside other brokers on two cores.
    'group.initial.rebalance.delay.ms': '0',
    'num.network.threads': '2',
    'num.io.threads': '2',
    'num.replica.fetchers': '1',
    'num.recovery.threads.per.data.dir': '1',
    'log.cleaner.threads': '1',
    'log.cleaner.dedupe.buffer.size': String(8 * 1024 * 1024),
    // Followers catch up fast; a paused node leaves the ISR through its controlled shutdown.
    'replica.fetch.wait.max.ms': '100',
  };
  for (const [k, v] of Object.entries(extra)) props[k] = String(v);
  return props;
}

/** The process of one node: spawned, watched for its ready line, stopped, spawned again. */
class NodeProcess {
  readonly id: number;
  private readonly args: readonly string[];
  private readonly propsFile: string;
  private readonly runDir: string;
  readonly logFile: string;
  private child: ChildProcess | undefined;
  private exitedPromise: Promise<void> = Promise.resolve();

  constructor(id: number, args: readonly string[], runDir: string) {
    this.id = id;
    this.args = args;
    this.runDir = runDir;
    this.propsFile = path.join(runDir, 'server.properties');
    this.logFile = path.join(runDir, 'broker.log');
  }

  get pid(): number {
    return this.child?.pid ?? -1;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get exited(): Promise<void> {
    return this.exitedPromise;
  }

  private readyCount(): number {
    return existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8').split(READY_LINE).length - 1 : 0;
  }

  /** Spawns the node; returns a wait for its next ready line. */
  spawn(): (timeoutMs: number) => Promise<'ready' | 'exited' | undefined> {
    const before = this.readyCount();
    const fd = openSync(this.logFile, 'a');
    const child = spawn('java', [...this.args, 'kafka.Kafka', this.propsFile], {
      cwd: this.runDir,
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    child.on('error', () => undefined);
    trackChild(child);
    if (child.pid !== undefined) spawnWatchdog(child.pid);
    this.child = child;
    this.exitedPromise = waitForExit(child);
    return (timeoutMs) =>
      poll<'ready' | 'exited'>(
        () => {
          if (child.exitCode !== null || child.signalCode !== null) return 'exited';
          return this.readyCount() > before ? 'ready' : undefined;
        },
        timeoutMs,
        100,
      );
  }

  async stop(): Promise<void> {
    if (this.child !== undefined) await stopChild(this.child, 20_000);
  }

  /** SIGKILL: for stop(), where a controlled shutdown would wait for a quorum already gone. */
  async kill(): Promise<void> {
    if (this.child !== undefined) await stopChild(this.child, 0);
  }

  tail(lines = 60): string {
    return tailFile(this.logFile, lines);
  }
}

/** Starts a cluster of `brokers` nodes; rejects with the nodes' log tails if it does not form. */
export async function startKafkaCluster(opts: StartKafkaClusterOptions = {}): Promise<KafkaClusterHandle> {
  const count = opts.brokers ?? 3;
  if (!Number.isInteger(count) || count < 1 || count > 9) {
    throw new Error(`startKafkaCluster: brokers must be an integer from 1 to 9, not ${count}`);
  }
  const version = resolveKafkaVersion(opts.version);
  const log = opts.log ?? (() => undefined);
  const libs = await fetchKafka(version, log);
  const runsParent = path.join(CACHE_DIR, 'kafka');
  await mkdir(runsParent, { recursive: true });
  await pruneOldRuns(runsParent, 'cluster-');
  for (let attempt = 1; ; attempt++) {
    try {
      return await startClusterOnce(count, version, libs, opts, log);
    } catch (err) {
      if (err instanceof PortClash && attempt < 3) {
        log(`Kafka cluster ${version}: port clash, retrying on other ports`);
        continue;
      }
      throw err;
    }
  }
}

class PortClash extends Error {}

async function startClusterOnce(
  count: number,
  version: string,
  libs: string,
  opts: StartKafkaClusterOptions,
  log: (msg: string) => void,
): Promise<KafkaClusterHandle> {
  const runDir = await mkdtemp(path.join(CACHE_DIR, 'kafka', `cluster-${version}-`));
  const portCount = PORTS_PER_NODE * count;
  const basePort = await findFreePortBlock(portCount, HOST);
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const cleanup = async () => {
    releasePorts(basePort, portCount);
    if (!opts.keepRunDir) await rm(runDir, { recursive: true, force: true });
  };
  const id = clusterId();
  const nodes: NodeProcess[] = [];
  const infos: KafkaClusterNodeInfo[] = [];
  try {
    for (let n = 1; n <= count; n++) {
      const nodeDir = path.join(runDir, `node-${n}`);
      await mkdir(nodeDir, { recursive: true });
      const props = nodeProperties(n, count, basePort, path.join(nodeDir, 'data'), opts.properties ?? {});
      await writeFile(path.join(nodeDir, 'server.properties'), propertiesText(props) + '\n');
      await writeFile(path.join(nodeDir, 'log4j.properties'), LOG4J1);
      await writeFile(path.join(nodeDir, 'log4j2.properties'), LOG4J2);
      const args = [...javaArgs(libs, nodeDir, version, opts.heap ?? '256m'), ...(opts.jvmArgs ?? [])];
      nodes.push(new NodeProcess(n, args, nodeDir));
      const port = basePort + PORTS_PER_NODE * (n - 1);
      infos.push({
        id: n,
        address: `${HOST}:${port}`,
        controller: `${HOST}:${port + 1}`,
        runDir: nodeDir,
        logFile: path.join(nodeDir, 'broker.log'),
      });
    }
    // Every node's storage is formatted with the same cluster id (one after the other: two cores).
    for (const node of nodes) {
      const nodeDir = path.join(runDir, `node-${node.id}`);
      const args = javaArgs(libs, nodeDir, version, '256m').filter((a) => !a.startsWith('-Xms'));
      const fmt = await run('java', [
        ...args,
        'kafka.tools.StorageTool',
        'format',
        '-t',
        id,
        '-c',
        path.join(nodeDir, 'server.properties'),
      ]);
      if (fmt.code !== 0) {
        throw new Error(
          `Kafka cluster ${version}: storage format of node ${node.id} failed (exit ${fmt.code ?? fmt.signal}):\n${`${fmt.stdout}\n${fmt.stderr}`.trim()}`,
        );
      }
    }
  } catch (err) {
    await cleanup();
    throw err;
  }

  const t0 = Date.now();
  // The nodes wait for each other (the quorum needs a majority): they start together.
  const waits = nodes.map((node) => node.spawn());
  log(
    `Kafka cluster ${version}: starting ${count} nodes (pids ${nodes.map((n) => n.pid).join(', ')}, ports ${basePort}-${basePort + portCount - 1})`,
  );
  const outcomes = await Promise.all(waits.map((wait) => wait(timeoutMs)));
  const reachable = await Promise.all(
    infos.map((info) => canConnect(Number(info.address.split(':')[1]), HOST, 5000)),
  );
  const bad = nodes.filter((_, i) => outcomes[i] !== 'ready' || !reachable[i]);
  if (bad.length > 0) {
    const tails = bad.map((node) => `--- node ${node.id} ---\n${node.tail(60)}`).join('\n');
    await Promise.all(nodes.map((node) => node.kill()));
    await cleanup();
    const message = `Kafka cluster ${version}: node(s) ${bad.map((n) => n.id).join(', ')} did not become ready within ${Math.round(timeoutMs / 1000)} s:\n${tails}`;
    throw /Address already in use|BindException/.test(tails) ? new PortClash(message) : new Error(message);
  }
  log(`Kafka cluster ${version}: ${count} nodes ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const info: KafkaClusterInfo = {
    version,
    bootstrap: infos.map((i) => i.address).join(','),
    nodes: infos,
    runDir,
  };
  let stopping: Promise<void> | undefined;
  const handles: KafkaClusterNode[] = nodes.map((node, i) => {
    const nodeInfo = infos[i]!;
    return {
      ...nodeInfo,
      get pid() {
        return node.pid;
      },
      get running() {
        return node.running;
      },
      get exited() {
        return node.exited;
      },
      pause: async () => {
        await node.stop();
        log(`Kafka cluster ${version}: node ${node.id} paused`);
      },
      resume: async () => {
        if (stopping) throw new Error(`Kafka cluster ${version}: stopped for good, cannot resume`);
        if (node.running) return;
        const outcome = await node.spawn()(timeoutMs);
        if (outcome !== 'ready') {
          throw new Error(
            `Kafka cluster ${version}: node ${node.id} did not come back after resume:\n${node.tail(80)}`,
          );
        }
        log(`Kafka cluster ${version}: node ${node.id} resumed (pid ${node.pid})`);
      },
    };
  });
  return {
    ...info,
    brokers: handles,
    broker: (nodeId: number) => {
      const found = handles.find((h) => h.id === nodeId);
      if (found === undefined) throw new Error(`Kafka cluster ${version}: no node ${nodeId}`);
      return found;
    },
    info: () => structuredClone(info),
    stop: () => {
      stopping ??= (async () => {
        await Promise.all(nodes.map((node) => node.kill()));
        await cleanup();
        log(`Kafka cluster ${version}: stopped`);
      })();
      return stopping;
    },
  };
}
