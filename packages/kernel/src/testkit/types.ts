import type { BindingContext, BindingFactory, BindingHandler, RouteParams } from '../spi/binding.ts';
import type { Extension, Stream, StreamError, StreamHandler, Authorization } from '../spi/stream.ts';
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { GuardCredentialsResult, GuardFactory, GuardResult, GuardSession } from '../spi/guard.ts';
import type { CatalogFactory, SchemaRecord, SchemaRef } from '../spi/catalog.ts';
import type { ModelConfig, ModelFactory } from '../spi/model.ts';
import { ScriptedPeer, type ScriptedPeerOptions } from './peer.ts';
import { relay } from '../engine/relay.ts';
import { compilePathPattern } from '../engine/paths.ts';

/** Begin extension of `test` streams; `route` is what `when: [{ route }]` conditions match. */
export interface TestBeginEx extends Extension {
  readonly type: 'test';
  readonly route?: string;
  /** The resolved `with` of the route that a `test` proxy took, for tests to inspect. */
  readonly with?: unknown;
  readonly [key: string]: unknown;
}

export interface TestWhen {
  /** Matches the begin extension's `route`; `{name}` segments capture params (`items/{id}`). */
  readonly route: string;
}

export interface TestClientOptions {
  /** `echo` answers with the same data; `script` hands streams to the test; `refuse` returns null. */
  readonly mode?: 'echo' | 'script' | 'refuse' | 'throw';
  /** Credit granted on accept (default 65 536; 0 to start stalled). */
  readonly window?: number;
}

const TEST_BRAND = Symbol.for('tributary.testkit.binding');

export function matchRoute(pattern: string, route: string | undefined): RouteParams | undefined {
  return route === undefined ? undefined : compilePathPattern(pattern, '/')(route);
}

function refusal(code: string, message?: string): StreamError {
  return message === undefined ? { code } : { code, message };
}

/** The `test` server: opens streams on behalf of the test through its routes. */
export class TestServer implements BindingHandler {
  readonly [TEST_BRAND] = 'server';
  private readonly opened = new Set<ScriptedPeer>();
  private readonly ctx: BindingContext<unknown, TestWhen, unknown>;

  constructor(ctx: BindingContext<unknown, TestWhen, unknown>) {
    this.ctx = ctx;
  }

  /**
   * Opens a stream as an application client would: routes are resolved on `ext.route`, the
   * stream is opened towards the chosen exit, and the returned peer records the reply. When no
   * route accepts, the peer records a `reset` with `TRIB_ROUTE_<REASON>`.
   */
  open(
    ext: Omit<TestBeginEx, 'type'> = {},
    options: ScriptedPeerOptions & {
      authorization?: Authorization;
      idempotencyKey?: string;
      /**
       * The begin extension to send instead of the `test` one (e.g. a Kafka fetch request when
       * testing a binding directly); `ext.route` still selects the route.
       */
      begin?: Extension;
    } = {},
  ): ScriptedPeer {
    const peer = new ScriptedPeer(options);
    const begin: TestBeginEx = { ...ext, type: 'test' };
    const authorization = options.authorization ?? {};
    const vars = options.idempotencyKey === undefined ? {} : { idempotencyKey: options.idempotencyKey };
    const resolution = this.ctx.resolveRoute(
      (when) => matchRoute(when.route, begin.route),
      authorization,
      vars,
    );
    if (!resolution.ok) {
      peer.onReset(refusal(`TRIB_ROUTE_${resolution.reason.toUpperCase().replace('-', '_')}`));
      return peer;
    }
    const stream = this.ctx.open(
      resolution.route.exit,
      {
        ext:
          options.begin ??
          (resolution.route.with === undefined ? begin : { ...begin, with: resolution.route.with }),
        authorization,
      },
      peer,
    );
    this.opened.add(peer);
    // Forget closed streams, so long tests do not keep everything they ever sent.
    peer.onClosed(() => this.opened.delete(peer));
    return peer.attach(stream);
  }

  /** Waits for the streams this server opened to finish; at the deadline closes the rest. */
  async stop(signal: AbortSignal): Promise<void> {
    const open = () =>
      [...this.opened].filter((p) => p.handle.out.state !== 'closed' || p.handle.in.state !== 'closed');
    while (open().length > 0 && !signal.aborted) await new Promise((resolve) => setTimeout(resolve, 10));
    for (const peer of open())
      peer.handle.close({ code: 'TRIB_STREAM_SHUTDOWN', message: 'test server stopping' });
  }
}

/**
 * The `test` proxy: forwards each stream to its route's exit unchanged (adding the route's
 * resolved `with` to the begin extension), with the kernel's {@link relay}.
 */
export class TestProxy implements BindingHandler {
  private readonly ctx: BindingContext<unknown, TestWhen, unknown>;

  constructor(ctx: BindingContext<unknown, TestWhen, unknown>) {
    this.ctx = ctx;
  }

  accept(app: Stream, begin: Extension | undefined): StreamHandler | null {
    const ext = begin as TestBeginEx | undefined;
    const resolution = this.ctx.resolveRoute((when) => matchRoute(when.route, ext?.route), app.authorization);
    if (!resolution.ok) return null;
    const base: Extension = begin ?? { type: 'test' };
    const downstreamBegin = (
      resolution.route.with === undefined ? base : { ...base, with: resolution.route.with }
    ) as Extension;
    return relay(app, (handler) =>
      this.ctx.open(
        resolution.route.exit,
        { ext: downstreamBegin, authorization: app.authorization },
        handler,
      ),
    );
  }
}

/** The `test` client: the far end of a test pipeline. */
export class TestClient implements BindingHandler {
  readonly [TEST_BRAND] = 'client';
  private readonly queue: ScriptedPeer[] = [];
  private readonly takers: ((peer: ScriptedPeer) => void)[] = [];
  /** Begin extensions of every accepted stream, in order. */
  readonly begins: (Extension | undefined)[] = [];

  private readonly ctx: BindingContext<TestClientOptions, unknown, unknown>;

  constructor(ctx: BindingContext<TestClientOptions, unknown, unknown>) {
    this.ctx = ctx;
  }

  accept(stream: Stream, begin: Extension | undefined): StreamHandler | null {
    const { mode = 'echo', window = 65_536 } = this.ctx.config.options;
    this.begins.push(begin);
    switch (mode) {
      case 'refuse':
        return null;
      case 'throw':
        throw new Error('test client configured to throw');
      case 'script': {
        const peer = new ScriptedPeer(window > 0 ? { initialWindow: window } : {}).attach(stream);
        const taker = this.takers.shift();
        if (taker) taker(peer);
        else this.queue.push(peer);
        return peer;
      }
      case 'echo':
        return echo(stream, window);
    }
  }

  /** The next stream accepted in `script` mode. */
  accepted(timeoutMs = 2_000): Promise<ScriptedPeer> {
    const ready = this.queue.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no stream accepted within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.takers.push((peer) => {
        clearTimeout(timer);
        resolve(peer);
      });
    });
  }
}

/**
 * Echoes every message back. Credit is returned to the sender only once the echo has left, so
 * a reader that stops reading stalls the writer instead of growing a queue.
 */
function echo(stream: Stream, window: number): StreamHandler {
  stream.out.begin({ type: 'test' });
  if (window > 0) stream.in.window(window);
  let owed = 0;
  stream.out.onCredit(() => {
    const credit = owed;
    owed = 0;
    stream.in.window(credit);
  });
  return {
    onData: (f) => {
      if (stream.out.data(f.payload, f.ext, f) && owed === 0) stream.in.window(f.credit);
      else owed += f.credit;
    },
    onEnd: () => stream.out.end(),
    onAbort: (r) => stream.out.abort(r),
    onReset: (r) => stream.in.reset(r),
  };
}

export function isTestServer(value: unknown): value is TestServer {
  return (
    typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[TEST_BRAND] === 'server'
  );
}
export function isTestClient(value: unknown): value is TestClient {
  return (
    typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[TEST_BRAND] === 'client'
  );
}

export const testBinding: BindingFactory<TestClientOptions, TestWhen, unknown> = {
  kinds: ['server', 'proxy', 'client'],
  schema: {
    options: {
      client: {
        type: 'object',
        additionalProperties: false,
        properties: {
          mode: {
            enum: ['echo', 'script', 'refuse', 'throw'],
            description: 'How accepted streams are answered.',
          },
          window: { type: 'integer', minimum: 0, description: 'Credit granted on accept.' },
        },
      },
      server: { type: 'object', additionalProperties: false },
      proxy: { type: 'object', additionalProperties: false },
    },
    when: {
      type: 'object',
      additionalProperties: false,
      required: ['route'],
      properties: { route: { type: 'string', description: 'Route pattern; {name} captures a param.' } },
    },
    with: { type: 'object' },
  },
  create(ctx) {
    switch (ctx.config.kind) {
      case 'server':
        return new TestServer(ctx);
      case 'proxy':
        return new TestProxy(ctx);
      case 'client':
      case 'cache':
      case 'remote_server':
        return new TestClient(ctx);
    }
  },
};

// --- guard ---

/**
 * Outbound credentials of the `test` guard (`credentials()`): a fixed `token`, or a `file` read
 * on every call (relative to the configuration file), so that a test can rotate the token by
 * rewriting the file. Exactly one of the two.
 */
export interface TestGuardOutbound {
  readonly token?: string;
  readonly file?: string;
  /**
   * Seconds from each call until `expiresAt`. When omitted, `expiresAt` is the `exp` claim of
   * the token if it is a JWT that has one, else null.
   */
  readonly expiresIn?: number;
}

export interface TestGuardOptions {
  /** Accepted credentials → session. `expiresIn` / `challengeIn` are seconds from authorization. */
  readonly credentials?: Readonly<
    Record<
      string,
      {
        readonly identity?: string;
        readonly roles?: readonly string[];
        readonly attributes?: Readonly<Record<string, unknown>>;
        readonly expiresIn?: number;
        readonly challengeIn?: number;
      }
    >
  >;
  /** When present, the guard implements `credentials()` with this token. */
  readonly outbound?: TestGuardOutbound;
  /** Credentials refused with status 503, as a guard whose keys are unavailable refuses them. */
  readonly unverifiable?: readonly string[];
}

/** The `exp` claim of a JWT in epoch ms, or null when `token` is not a JWT with one. */
function jwtExpiry(token: string): number | null {
  const payload = token.split('.')[1];
  if (payload === undefined) return null;
  try {
    const exp = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown }).exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : null;
  } catch {
    return null;
  }
}

function outboundCredentials(
  outbound: TestGuardOutbound,
  configDir: string,
): () => Promise<GuardCredentialsResult> {
  const unavailable = (message: string): GuardCredentialsResult => ({
    ok: false,
    failure: { code: 'TRIB_GUARD_CREDENTIALS_UNAVAILABLE', message },
  });
  return async () => {
    let token = outbound.token;
    if (outbound.file !== undefined) {
      const path = isAbsolute(outbound.file) ? outbound.file : resolve(configDir, outbound.file);
      try {
        token = (await readFile(path, 'utf8')).trim();
      } catch (cause) {
        return unavailable(
          `cannot read the token file ${path} (${(cause as NodeJS.ErrnoException).code ?? 'error'})`,
        );
      }
      if (token === '') return unavailable(`the token file ${path} is empty`);
    }
    if (token === undefined) return unavailable('no outbound token configured');
    const expiresAt =
      outbound.expiresIn === undefined ? jwtExpiry(token) : Date.now() + outbound.expiresIn * 1000;
    return { ok: true, credentials: { token, expiresAt } };
  };
}

export function testSession(
  guard: string,
  init: {
    identity?: string | null;
    roles?: readonly string[];
    attributes?: Record<string, unknown>;
    expiresAt?: number | null;
    challengeAt?: number | null;
  },
): GuardSession & TestSessionState {
  const session: GuardSession & TestSessionState = {
    guard,
    identity: init.identity ?? null,
    attributes: init.attributes ?? {},
    roles: new Set(init.roles ?? []),
    expiresAt: init.expiresAt ?? null,
    challengeAt: init.challengeAt ?? null,
    verify: (required, now = Date.now()) =>
      (session.expiresAt === null || session.expiresAt > now) &&
      required.every((role) => session.roles.has(role)),
  };
  return session;
}

/** The fields of a `test` session its guard updates in place on `reauthorize`. */
interface TestSessionState {
  roles: ReadonlySet<string>;
  attributes: Readonly<Record<string, unknown>>;
  expiresAt: number | null;
  challengeAt: number | null;
}

export const testGuard: GuardFactory<TestGuardOptions> = {
  schema: {
    type: 'object',
    additionalProperties: false,
    anyOf: [{ required: ['credentials'] }, { required: ['outbound'] }],
    properties: {
      outbound: {
        type: 'object',
        additionalProperties: false,
        minProperties: 1,
        description: 'Credentials the guard lends to outbound connections: `token` or `file`.',
        properties: {
          token: { type: 'string', minLength: 1 },
          file: { type: 'string', minLength: 1 },
          expiresIn: { type: 'number', exclusiveMinimum: 0 },
        },
        oneOf: [{ required: ['token'] }, { required: ['file'] }],
      },
      unverifiable: {
        type: 'array',
        items: { type: 'string' },
        description: 'Credentials answered with a 503 failure: the guard cannot verify them now.',
      },
      credentials: {
        type: 'object',
        additionalProperties: {
          type: 'object',
          additionalProperties: false,
          properties: {
            identity: { type: 'string' },
            roles: { type: 'array', items: { type: 'string' } },
            attributes: { type: 'object' },
            expiresIn: { type: 'number', exclusiveMinimum: 0 },
            challengeIn: { type: 'number', exclusiveMinimum: 0 },
          },
        },
      },
    },
  },
  create(ctx, config) {
    const accepted = config.options.credentials ?? {};
    const unverifiable = new Set(config.options.unverifiable ?? []);
    const authorize = (credentials: string): Promise<GuardResult> => {
      if (unverifiable.has(credentials)) {
        return Promise.resolve({
          ok: false,
          failure: {
            code: 'TRIB_GUARD_UNAVAILABLE',
            message: 'test credentials marked unverifiable',
            status: 503,
          },
        });
      }
      const known = Object.hasOwn(accepted, credentials) ? accepted[credentials] : undefined;
      if (!known) {
        return Promise.resolve({
          ok: false,
          failure: {
            code: 'TRIB_GUARD_INVALID_CREDENTIALS',
            message: 'unknown test credentials',
            status: 401,
          },
        });
      }
      const now = Date.now();
      return Promise.resolve({
        ok: true,
        session: testSession(config.name, {
          identity: known.identity ?? null,
          roles: known.roles ?? [],
          attributes: { ...known.attributes },
          expiresAt: known.expiresIn === undefined ? null : now + known.expiresIn * 1000,
          challengeAt: known.challengeIn === undefined ? null : now + known.challengeIn * 1000,
        }),
      });
    };
    const outbound = config.options.outbound;
    return {
      authorize,
      // Continuous authorization: the fresh session's terms are copied onto the one streams hold.
      reauthorize: async (session, credentials) => {
        const result = await authorize(credentials);
        if (!result.ok) return result;
        if (result.session.identity !== session.identity || session.guard !== config.name) {
          return {
            ok: false,
            failure: {
              code: 'TRIB_GUARD_INVALID_CREDENTIALS',
              message: 'credentials of another principal',
              status: 403,
            },
          };
        }
        const held = session as unknown as TestSessionState;
        held.roles = result.session.roles;
        held.attributes = result.session.attributes;
        held.expiresAt = result.session.expiresAt;
        held.challengeAt = result.session.challengeAt;
        return { ok: true, session };
      },
      ...(outbound === undefined ? {} : { credentials: outboundCredentials(outbound, ctx.configDir) }),
    };
  },
};

// --- catalog ---

export interface TestCatalogOptions {
  readonly schemas: readonly {
    readonly id: number;
    readonly subject?: string;
    readonly version?: number;
    readonly format: string;
    readonly text: string;
  }[];
}

export const testCatalog: CatalogFactory<TestCatalogOptions> = {
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['schemas'],
    properties: {
      schemas: {
        type: 'array',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['id', 'format', 'text'],
          properties: {
            id: { type: 'integer' },
            subject: { type: 'string' },
            version: { type: 'integer' },
            format: { type: 'string' },
            text: { type: 'string' },
          },
        },
      },
    },
  },
  create(_ctx, config) {
    const records: SchemaRecord[] = config.options.schemas.map((s) => ({ ...s }));
    const lookup = (ref: SchemaRef): SchemaRecord | undefined => {
      if ('id' in ref) return records.find((r) => r.id === ref.id);
      const matching = records.filter((r) => r.subject === ref.subject);
      if (ref.version === undefined || ref.version === 'latest') {
        return matching.sort((a, b) => (b.version ?? 0) - (a.version ?? 0))[0];
      }
      return matching.find((r) => r.version === ref.version);
    };
    return {
      lookup,
      resolve: (ref) => {
        const schema = lookup(ref);
        return Promise.resolve(
          schema
            ? { ok: true, schema }
            : {
                ok: false,
                failure: { code: 'TRIB_CATALOG_NOT_FOUND', message: 'no such schema', transient: false },
              },
        );
      },
    };
  },
};

// --- model ---

/** A JSON model that checks payloads parse and hold the `required` top-level properties. */
export interface TestModelConfig extends ModelConfig {
  readonly model: 'test';
  readonly required?: readonly string[];
}

export const testModel: ModelFactory<TestModelConfig> = {
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['model'],
    properties: { model: { const: 'test' }, required: { type: 'array', items: { type: 'string' } } },
  },
  create(_ctx, config) {
    const decoder = new TextDecoder('utf-8', { fatal: true });
    const validate = (payload: Uint8Array) => {
      let value: unknown;
      try {
        value = JSON.parse(decoder.decode(payload));
      } catch (cause) {
        return {
          ok: false as const,
          failure: { code: 'TRIB_MODEL_INVALID', message: `not JSON: ${(cause as Error).message}` },
        };
      }
      for (const name of config.required ?? []) {
        if (typeof value !== 'object' || value === null || !(name in value)) {
          return {
            ok: false as const,
            failure: {
              code: 'TRIB_MODEL_INVALID',
              message: `missing property "${name}"`,
              pointer: `/${name}`,
            },
          };
        }
      }
      return { ok: true as const, value: undefined };
    };
    return {
      contentType: 'application/json',
      validate,
      encode: (payload) => {
        const result = validate(payload);
        return result.ok ? { ok: true, value: payload } : result;
      },
      decode: (payload) => ({ ok: true, value: payload }),
    };
  },
};
