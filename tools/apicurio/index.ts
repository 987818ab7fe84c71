// Apicurio Registry launcher: the runnable distribution from Maven Central, started in memory on a
// free loopback port. Serves the native v3 API, v2, and the Confluent-compatible API (ccompat v7).
import { spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { copyArtifact } from '../kafka/maven.ts';
import {
  CACHE_DIR,
  findFreePortBlock,
  isDir,
  poll,
  populateOnce,
  pruneOldRuns,
  releasePorts,
  run,
  runChecked,
  spawnWatchdog,
  stopChild,
  tailFile,
  trackChild,
  waitForExit,
} from '../kafka/util.ts';

/**
 * Apicurio Registry version. Maven Central (as reachable here) holds only 3.0.9 (whose parent POM is
 * missing, so Maven cannot resolve it), 3.3.2 and 3.3.3 of the 3.x line; 3.3.x needs Java 21+.
 */
export const APICURIO_VERSION = '3.3.3';
/** Lowest Java feature release the chosen version runs on. */
export const APICURIO_MIN_JAVA = 21;

export const APICURIO_ROOT = path.join(CACHE_DIR, 'apicurio');

export function apicurioDir(version = APICURIO_VERSION): string {
  return path.join(APICURIO_ROOT, version);
}

/** Finds the Quarkus launcher jar; the archive layout changed between releases. */
export function findLauncher(dir: string): string | undefined {
  const candidates = [path.join(dir, 'quarkus-run.jar'), path.join(dir, 'quarkus-app', 'quarkus-run.jar')];
  for (const c of candidates) {
    try {
      if (statSync(c).isFile()) return c;
    } catch {
      // next
    }
  }
  // Older layout: <name>-runner.jar beside lib/, possibly one folder down.
  const stack = [dir];
  for (let depth = 0; depth < 3 && stack.length > 0; depth++) {
    const next: string[] = [];
    for (const d of stack) {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isFile() && (e.name === 'quarkus-run.jar' || e.name.endsWith('-runner.jar'))) return p;
        if (e.isDirectory() && e.name !== 'lib') next.push(p);
      }
    }
    stack.splice(0, stack.length, ...next);
  }
  return undefined;
}

/** Downloads and unpacks the distribution into `.cache/apicurio/<version>` (once); returns the launcher jar. */
export async function fetchApicurio(
  version = APICURIO_VERSION,
  log: (msg: string) => void = () => undefined,
): Promise<string> {
  const dir = apicurioDir(version);
  const existing = isDir(dir) ? findLauncher(dir) : undefined;
  if (existing) return existing;
  log(`fetching Apicurio Registry ${version} (about 160 MB, once) ...`);
  await populateOnce(dir, async (tmp) => {
    const dl = path.join(tmp, '.download');
    await mkdir(dl);
    await copyArtifact(
      {
        groupId: 'io.apicurio',
        artifactId: 'apicurio-registry-app',
        version,
        type: 'tar.gz',
        classifier: 'all',
      },
      dl,
    );
    const archive = readdirSync(dl).find((f) => f.endsWith('.tar.gz'));
    if (!archive) throw new Error(`mvn did not download apicurio-registry-app ${version}`);
    await runChecked('tar', ['-xzf', path.join(dl, archive), '-C', tmp]);
    await rm(dl, { recursive: true, force: true });
    if (!findLauncher(tmp)) throw new Error(`no launcher jar in apicurio-registry-app ${version}`);
  });
  const launcher = findLauncher(dir);
  if (!launcher) throw new Error(`no launcher jar in ${dir}`);
  log(`Apicurio Registry ${version} in ${path.relative(process.cwd(), dir) || dir}`);
  return launcher;
}

/** Feature release of a java binary (17, 21, 25 ...), or undefined if it does not run. */
export async function javaFeatureVersion(javaBin: string): Promise<number | undefined> {
  try {
    const res = await run(javaBin, ['-version']);
    const m = /version "(\d+)(?:\.(\d+))?/.exec(res.stderr + res.stdout);
    if (!m) return undefined;
    const major = Number(m[1]);
    return major === 1 ? Number(m[2]) : major;
  } catch {
    return undefined;
  }
}

// Debian's (and most distributions') standard place for JDKs installed side by side.
const SYSTEM_JVM_DIR = path.join(path.sep, 'usr', 'lib', 'jvm');

/**
 * Finds a java binary of at least `min`: $APICURIO_JAVA_HOME, $JAVA_HOME, `java` on PATH, then the
 * newest JDK under the system JVM folder (where a second JDK sits beside the default one).
 */
export async function findJava(min = APICURIO_MIN_JAVA): Promise<{ bin: string; version: number }> {
  const candidates: string[] = [];
  for (const v of ['APICURIO_JAVA_HOME', 'JAVA_HOME']) {
    const home = process.env[v];
    if (home) candidates.push(path.join(home, 'bin', 'java'));
  }
  candidates.push('java');
  if (isDir(SYSTEM_JVM_DIR)) {
    for (const d of readdirSync(SYSTEM_JVM_DIR).sort().reverse()) {
      candidates.push(path.join(SYSTEM_JVM_DIR, d, 'bin', 'java'));
    }
  }
  const seen: string[] = [];
  let best: { bin: string; version: number } | undefined;
  for (const bin of candidates) {
    const version = await javaFeatureVersion(bin);
    if (version === undefined) continue;
    seen.push(`${bin} (${version})`);
    if (version >= min) {
      best = { bin, version };
      break;
    }
  }
  if (!best) {
    throw new Error(
      `Apicurio Registry ${APICURIO_VERSION} needs Java ${min}+; found ${seen.join(', ') || 'no java'}. ` +
        'Set APICURIO_JAVA_HOME to a JDK 21+.',
    );
  }
  return best;
}

export interface ApicurioInfo {
  /** Base URL, e.g. `http://127.0.0.1:23456` (APIs under /apis/registry/v3, /apis/registry/v2, /apis/ccompat/v7). */
  url: string;
  version: string;
  /** Management interface (health, metrics). */
  managementUrl: string;
}

export interface ApicurioHandle extends ApicurioInfo {
  pid: number;
  startMs: number;
  logFile: string;
  stop(): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  info(): ApicurioInfo;
  env(): Record<string, string>;
}

export interface StartApicurioOptions {
  version?: string;
  timeoutMs?: number;
  heap?: string;
  /** Extra `-D` system properties (Quarkus / Apicurio configuration). */
  properties?: Record<string, string | number | boolean>;
  log?: (msg: string) => void;
}

const HOST = '127.0.0.1';

async function httpStatus(url: string): Promise<{ status: number; body: string } | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return { status: res.status, body: await res.text() };
  } catch {
    return undefined;
  }
}

/** Starts Apicurio Registry with in-memory storage; rejects with the log tail if it does not come up. */
export async function startApicurio(opts: StartApicurioOptions = {}): Promise<ApicurioHandle> {
  const version = opts.version ?? APICURIO_VERSION;
  const log = opts.log ?? (() => undefined);
  const [launcher, java] = await Promise.all([fetchApicurio(version, log), findJava()]);
  await pruneOldRuns(APICURIO_ROOT, 'run-');
  await mkdir(APICURIO_ROOT, { recursive: true });
  const runDir = await mkdtemp(path.join(APICURIO_ROOT, 'run-'));
  const port = await findFreePortBlock(2, HOST);
  const cleanup = async () => {
    releasePorts(port, 2);
    await rm(runDir, { recursive: true, force: true });
  };
  const props: Record<string, string> = {
    'quarkus.http.host': HOST,
    'quarkus.http.port': String(port),
    'quarkus.management.host': HOST,
    'quarkus.management.port': String(port + 1),
    // Allow deleting groups, artifacts and versions (tests clean up after themselves).
    'apicurio.rest.deletion.group.enabled': 'true',
    'apicurio.rest.deletion.artifact.enabled': 'true',
    'apicurio.rest.deletion.artifact-version.enabled': 'true',
    'quarkus.otel.sdk.disabled': 'true',
    'quarkus.log.console.color': 'false',
  };
  for (const [k, v] of Object.entries(opts.properties ?? {})) props[k] = String(v);
  const args = [
    '-Xms64m',
    `-Xmx${opts.heap ?? '512m'}`,
    '-XX:+UseSerialGC',
    '-XX:TieredStopAtLevel=1',
    '-XX:+ExitOnOutOfMemoryError',
    ...Object.entries(props).map(([k, v]) => `-D${k}=${v}`),
    '-jar',
    launcher,
  ];
  const logFile = path.join(runDir, 'apicurio.log');
  const fd = openSync(logFile, 'a');
  const t0 = Date.now();
  const child = spawn(java.bin, args, { cwd: runDir, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  trackChild(child);
  if (child.pid === undefined) {
    const err = await new Promise<Error>((resolve) => child.once('error', resolve));
    await cleanup();
    throw new Error(`Apicurio: cannot run ${java.bin}: ${err.message}`);
  }
  const pid = child.pid;
  spawnWatchdog(pid);
  log(`Apicurio ${version}: starting on Java ${java.version} (pid ${pid}, port ${port})`);

  const url = `http://${HOST}:${port}`;
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const outcome = await poll<'ready' | 'exited'>(
    async () => {
      if (child.exitCode !== null || child.signalCode !== null) return 'exited';
      const v3 = await httpStatus(`${url}/apis/registry/v3/system/info`);
      if (v3?.status === 200) return 'ready';
      if (v3?.status === 404 && (await httpStatus(`${url}/apis/registry/v2/system/info`))?.status === 200) {
        return 'ready';
      }
      return undefined;
    },
    timeoutMs,
    250,
  );
  if (outcome !== 'ready') {
    await stopChild(child, 5000);
    const tail = tailFile(logFile, 60);
    await cleanup();
    const why =
      outcome === 'exited'
        ? `exited with ${child.exitCode ?? child.signalCode}`
        : `not ready within ${Math.round(timeoutMs / 1000)} s`;
    throw new Error(`Apicurio Registry ${version} ${why}. Last lines of its log:\n${tail}`);
  }
  const startMs = Date.now() - t0;
  log(`Apicurio ${version}: ready in ${(startMs / 1000).toFixed(1)} s at ${url}`);
  const info: ApicurioInfo = { url, version, managementUrl: `http://${HOST}:${port + 1}` };
  let stopping: Promise<void> | undefined;
  return {
    ...info,
    pid,
    startMs,
    logFile,
    exited: waitForExit(child).then(() => ({ code: child.exitCode, signal: child.signalCode })),
    info: () => ({ ...info }),
    env: () => ({
      APICURIO_URL: url,
      APICURIO_REGISTRY_URL: `${url}/apis/registry/v3`,
      SCHEMA_REGISTRY_URL: `${url}/apis/ccompat/v7`,
    }),
    stop: () => {
      stopping ??= (async () => {
        await stopChild(child, 15_000);
        await cleanup();
        log(`Apicurio ${version}: stopped`);
      })();
      return stopping;
    },
  };
}

/** Reads the version the running registry reports (v3, falling back to v2). */
export async function apicurioSystemInfo(url: string): Promise<{ name: string; version: string }> {
  for (const api of ['v3', 'v2']) {
    const res = await httpStatus(`${url}/apis/registry/${api}/system/info`);
    if (res?.status === 200) return JSON.parse(res.body) as { name: string; version: string };
  }
  throw new Error(`no system info at ${url}`);
}
