/**
 * The binding conformance suite: checks that a binding keeps the stream contract, driven from
 * the application side by the binding's own adapter and observed at the far end by a `test`
 * client. Every first-party binding runs it; third-party bindings should too.
 *
 * ```ts
 * import { bindingConformance } from '@tributary/kernel/testkit/conformance';
 * bindingConformance({ name: 'uppercase', plugins: [plugin], config: (far) => `…`, open: … });
 * ```
 *
 * @module
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Plugin } from '../spi/plugin.ts';
import { isTributaryError } from '../spi/errors.ts';
import { createTestKernel, type TestHarness } from './harness.ts';
import type { ScriptedPeer } from './peer.ts';

/** The application side of one exchange through the binding under test. */
export interface AppSide {
  send(payload: Uint8Array): void | Promise<void>;
  /** Ends the application's sending side normally. */
  end(): void | Promise<void>;
  /** Ends it abnormally (a dropped connection, an RST_STREAM…). */
  abort(): void | Promise<void>;
  /** Everything received from the far end so far. */
  received(): Uint8Array;
  /** Resolves when the exchange finished on the application side: normally or not. */
  closed(): Promise<'end' | 'abort'>;
}

export interface ConformanceSubject {
  readonly name: string;
  /** The plugins under test. */
  readonly plugins: readonly Plugin[];
  /**
   * A configuration routing streams from the application through the binding under test to a
   * `test` client binding named `far`; interpolate `far` as that binding's `options` (YAML flow).
   */
  config(far: string): string;
  /** Opens one exchange on the application side. */
  open(harness: TestHarness): AppSide | Promise<AppSide>;
  /** How the byte stream sent on the application side arrives at `far` (identity by default). */
  readonly transform?: (sent: Uint8Array) => Uint8Array;
  /** Bad configurations, each with the issue code and JSON pointer it must produce. */
  readonly badConfigs?: readonly {
    readonly config: string;
    readonly code: string;
    readonly pointer: string;
  }[];
  /**
   * Sends malformed input and resolves with the error the application saw; the suite checks
   * that the far end received nothing.
   */
  malformed?(harness: TestHarness): Promise<{ readonly error: string }>;
}

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => Buffer.from(data).toString('utf8');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function eventually(check: () => boolean, timeoutMs = 3_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await sleep(5);
  }
}

/** Registers the conformance tests for `subject` in the current vitest file. */
export function bindingConformance(subject: ConformanceSubject): void {
  const transform = subject.transform ?? ((sent: Uint8Array) => sent);

  describe(`${subject.name}: binding conformance`, () => {
    let harness: TestHarness | undefined;
    afterEach(async () => {
      await harness?.stop(500);
      harness = undefined;
    });

    const setup = async (window: number) => {
      harness = await createTestKernel({
        config: subject.config(`{ mode: script, window: ${window} }`),
        plugins: subject.plugins,
      });
      const app = await subject.open(harness);
      const far: ScriptedPeer = await harness.client('far').accepted(3_000);
      return { app, far, harness };
    };

    it('happy path: data flows both ways and both sides close in order', async () => {
      const { app, far } = await setup(65_536);
      await app.send(bytes('hello'));
      await eventually(() => far.received().byteLength >= transform(bytes('hello')).byteLength);
      expect(text(far.received())).toBe(text(transform(bytes('hello'))));
      far.send('world');
      await eventually(() => app.received().byteLength >= 5);
      expect(text(app.received())).toContain('world');
      await app.end();
      await far.next('end', 3_000);
      far.end();
      expect(await app.closed()).toBe('end');
    });

    it('zero credit stalls the sender, which resumes exactly when credit is granted', async () => {
      const { app, far } = await setup(0);
      const payload = bytes('x'.repeat(4096));
      const expected = transform(payload).byteLength;
      void app.send(payload);
      await sleep(100);
      expect(far.received().byteLength).toBe(0);
      far.window(1000);
      await eventually(() => far.received().byteLength >= Math.min(1000, expected));
      expect(far.received().byteLength).toBeLessThanOrEqual(1000);
      far.window(expected);
      await eventually(() => far.received().byteLength === expected);
    });

    it('orderly close initiated by the far end', async () => {
      const { app, far } = await setup(65_536);
      far.send('bye');
      far.end();
      await eventually(() => text(app.received()).includes('bye'));
      await app.end();
      expect(await app.closed()).toBe('end');
    });

    it('an application abort tears down both halves at the far end', async () => {
      const { app, far } = await setup(65_536);
      await app.send(bytes('partial'));
      await app.abort();
      await far.until((f) => f.frame === 'abort' || f.frame === 'reset', 3_000);
      expect(far.handle.out.writable).toBe(false);
    });

    it('a far-end reset tears down the exchange on the application side', async () => {
      const { app, far } = await setup(65_536);
      far.reset('TEST_RESET');
      far.abort('TEST_ABORT');
      expect(await app.closed()).toBe('abort');
    });

    if (subject.malformed) {
      const malformed = (h: TestHarness) => subject.malformed!(h);
      it('malformed input gets a clear error and reaches nothing', async () => {
        harness = await createTestKernel({
          config: subject.config('{ mode: script, window: 65536 }'),
          plugins: subject.plugins,
        });
        const { error } = await malformed(harness);
        expect(error).toMatch(/\S/);
        expect(harness.client('far').begins).toHaveLength(0);
      });
    }

    for (const bad of subject.badConfigs ?? []) {
      it(`bad config is refused with ${bad.code} at ${bad.pointer}`, async () => {
        const attempt = createTestKernel({ config: bad.config, plugins: subject.plugins });
        const error = await attempt.then(
          async (h) => {
            await h.stop();
            return undefined;
          },
          (e: unknown) => e,
        );
        expect(isTributaryError(error)).toBe(true);
        if (!isTributaryError(error)) return;
        expect(error.issues.map((issue) => [issue.code, issue.pointer])).toContainEqual([
          bad.code,
          bad.pointer,
        ]);
      });
    }
  });
}
