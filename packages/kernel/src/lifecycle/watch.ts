import { watch } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Kernel } from './kernel.ts';
import type { Gateway } from './gateway.ts';

export interface ReloaderOptions {
  /** Drain deadline for bindings that restart. */
  readonly deadlineMs?: number;
  /** Called after each applied reload. */
  readonly onReload?: (result: { restarted: string[]; updated: string[] }) => void;
  /** Called when a reload is rejected (invalid file); the running configuration stays. */
  readonly onError?: (error: unknown) => void;
  /** Debounce for bursts of file events (editors write several). */
  readonly debounceMs?: number;
}

/**
 * Re-reads `file` and applies it to `gateway`, one reload at a time. Used for SIGHUP and
 * `--watch`; an invalid file is reported and leaves the running configuration untouched.
 */
export class Reloader {
  private queue: Promise<void> = Promise.resolve();
  private watcher: ReturnType<typeof watch> | undefined;
  private timer: NodeJS.Timeout | undefined;

  private readonly kernel: Kernel;
  private readonly gateway: Gateway;
  private readonly file: string;
  private readonly options: ReloaderOptions;

  constructor(kernel: Kernel, gateway: Gateway, file: string, options: ReloaderOptions = {}) {
    this.kernel = kernel;
    this.gateway = gateway;
    this.file = file;
    this.options = options;
  }

  /** Queues a reload; resolves once it has been applied or rejected. */
  reload(): Promise<void> {
    this.queue = this.queue.then(async () => {
      try {
        const { config } = await this.kernel.load(this.file);
        const result = await this.gateway.reload(config, this.options.deadlineMs ?? 10_000);
        this.options.onReload?.(result);
      } catch (error) {
        this.options.onError?.(error);
      }
    });
    return this.queue;
  }

  /** Reloads whenever the file changes. Watches the directory: editors replace files. */
  watch(): this {
    const target = resolve(this.file);
    this.watcher = watch(dirname(target), (_event, name) => {
      if (name !== null && resolve(dirname(target), name) !== target) return;
      clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.reload(), this.options.debounceMs ?? 150);
    });
    return this;
  }

  /** Stops watching and waits for a reload in progress. */
  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.watcher?.close();
    await this.queue;
  }
}
