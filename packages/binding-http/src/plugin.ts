/**
 * The module the kernel imports (`@tributary/binding-http/plugin`): the `http` binding type,
 * kinds `server` (fastify) and `client` (undici).
 *
 * @module
 */
import type {
  BindingConfig,
  BindingContext,
  BindingFactory,
  BindingHandler,
  BindingKind,
  ConfigIssue,
  GatewayConfig,
  JsonSchema,
} from '@tributary/kernel';
import { definePlugin } from '@tributary/kernel';
import {
  clientOptionsSchema,
  serverOptionsSchema,
  whenSchema,
  type HttpClientOptions,
  type HttpServerOptions,
  type HttpWhen,
} from './config/schema.ts';
import { validateClientOptions, validateServerOptions } from './config/validate.ts';
import { HttpClientBinding } from './stream/client.ts';
import { HttpServerBinding } from './stream/server.ts';

/** What one kind of the `http` binding contributes. */
interface HttpKind<Options> {
  readonly schema: JsonSchema;
  validate(config: BindingConfig<Options, HttpWhen>, gateway: GatewayConfig): readonly ConfigIssue[];
  create(ctx: BindingContext<Options, HttpWhen>): BindingHandler;
}

const server: HttpKind<HttpServerOptions> = {
  schema: serverOptionsSchema,
  validate: validateServerOptions,
  create: (ctx) => new HttpServerBinding(ctx),
};

const client: HttpKind<HttpClientOptions> = {
  schema: clientOptionsSchema,
  validate: (config) => validateClientOptions(config),
  create: (ctx) => new HttpClientBinding(ctx),
};

/* eslint-disable @typescript-eslint/no-explicit-any -- each kind types its own options */
const KINDS: Partial<Record<BindingKind, HttpKind<any>>> = { server, client };
/* eslint-enable @typescript-eslint/no-explicit-any */

function kindOf(kind: BindingKind): HttpKind<unknown> {
  const entry = KINDS[kind];
  // The kernel only creates kinds listed in `kinds`; this is a safety net, not a code path.
  if (entry === undefined) throw new Error(`http bindings have no kind "${kind}"`);
  return entry;
}

const http: BindingFactory<unknown, HttpWhen> = {
  kinds: Object.keys(KINDS) as BindingKind[],
  schema: {
    options: Object.fromEntries(Object.entries(KINDS).map(([kind, entry]) => [kind, entry.schema])),
    when: whenSchema,
  },
  validate: (config, gateway) => kindOf(config.kind).validate(config, gateway),
  create: (ctx) => kindOf(ctx.config.kind).create(ctx),
};

export const plugin = definePlugin({
  name: '@tributary/binding-http',
  spi: '^1.0.0',
  bindings: { http },
});

export default plugin;
