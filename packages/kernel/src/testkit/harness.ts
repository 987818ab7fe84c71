import { stringify } from 'yaml';
import type { Plugin } from '../spi/plugin.ts';
import type { Env } from '../config/index.ts';
import { Kernel } from '../lifecycle/kernel.ts';
import type { Gateway, SourcedEvent } from '../lifecycle/gateway.ts';
import { createLogger } from '../logging/logger.ts';
import { isTestClient, isTestServer, type TestClient, type TestServer } from './types.ts';

export interface TestKernelOptions {
  /** YAML text, or an object that is serialised to YAML (so positions still exist). */
  readonly config: string | object;
  /** Plugins under test, registered with `kernel.use()`. */
  readonly plugins?: readonly Plugin[];
  readonly env?: Env;
  /** Discover installed plugins as well (default false: only the kernel's and `plugins`). */
  readonly discover?: boolean;
  readonly appDir?: string;
  /** Log level of the captured log (default `debug`). */
  readonly logLevel?: string;
}

/**
 * A started gateway with handles on its `test` bindings, its events and its log lines.
 */
export class TestHarness {
  /** Every diagnostic event emitted so far. */
  readonly events: SourcedEvent[] = [];
  readonly kernel: Kernel;
  readonly gateway: Gateway;
  /** Every log line written so far, parsed. */
  readonly logs: readonly Record<string, unknown>[];

  constructor(kernel: Kernel, gateway: Gateway, logs: readonly Record<string, unknown>[]) {
    this.kernel = kernel;
    this.gateway = gateway;
    this.logs = logs;
    gateway.on('event', (event) => this.events.push(event));
  }

  /** The `test` server binding `name`, to open streams from the application side. */
  server(name: string): TestServer {
    const binding = this.gateway.binding(name);
    if (!isTestServer(binding)) throw new Error(`binding "${name}" is not a running test server`);
    return binding;
  }

  /** The `test` client binding `name`, to see what reached the far end. */
  client(name: string): TestClient {
    const binding = this.gateway.binding(name);
    if (!isTestClient(binding)) throw new Error(`binding "${name}" is not a running test client`);
    return binding;
  }

  /** Validates `config` and applies it to the running gateway. */
  async reload(config: string | object): Promise<{ restarted: string[]; updated: string[] }> {
    const text = typeof config === 'string' ? config : stringify(config);
    const loaded = await this.kernel.loadText(text);
    return this.gateway.reload(loaded.config);
  }

  stop(deadlineMs = 2_000): Promise<void> {
    return this.gateway.stop(deadlineMs);
  }
}

/** Loads `options.config` with the test types and starts it. */
export async function createTestKernel(options: TestKernelOptions): Promise<TestHarness> {
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: options.logLevel ?? 'debug',
    destination: {
      write(line: string) {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  });
  const kernel = new Kernel({
    discover: options.discover ?? false,
    logger,
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.appDir === undefined ? {} : { appDir: options.appDir }),
    startTimeoutMs: 30_000,
  });
  for (const plugin of options.plugins ?? []) kernel.use(plugin);
  const text = typeof options.config === 'string' ? options.config : stringify(options.config);
  const gateway = kernel.createGateway(await kernel.loadText(text));
  const harness = new TestHarness(kernel, gateway, logs);
  await gateway.start();
  return harness;
}
