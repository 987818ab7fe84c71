/**
 * The module the kernel imports (`@tributary/binding-kafka/plugin`): the `kafka` binding type.
 *
 * The binding has one entry per kind in {@link KINDS}, each with its options schema, its
 * cross-field checks and its factory; the type's `kinds`, schema and `validate` are derived
 * from it, so adding the `cache` kind is adding one entry.
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
import { KafkaClientBinding } from './client/binding.ts';
import { createTokenSource } from './client/oauth.ts';
import { createPlatformaticPort } from './client/platformatic.ts';
import type { KafkaClientOptions } from './config/options.ts';
import { clientOptionsSchema } from './config/schema.ts';
import { validateClientOptions } from './config/validate.ts';
import { KafkaCacheBinding } from './cache/binding.ts';
import { cacheOptionsSchema, type KafkaCacheOptions } from './cache/schema.ts';

/** What one kind of the `kafka` binding contributes. */
export interface KafkaKind<Options> {
  readonly schema: JsonSchema;
  validate?(config: BindingConfig<Options>, gateway: GatewayConfig): readonly ConfigIssue[];
  create(ctx: BindingContext<Options>): BindingHandler | Promise<BindingHandler>;
}

const client: KafkaKind<KafkaClientOptions> = {
  schema: clientOptionsSchema,
  validate: validateClientOptions,
  create: (ctx) =>
    new KafkaClientBinding(ctx, (options, tls) =>
      createPlatformaticPort(options, tls, createTokenSource(ctx, options)),
    ),
};

const cache: KafkaKind<KafkaCacheOptions> = {
  schema: cacheOptionsSchema,
  validate: (config) =>
    config.exit === undefined && config.routes.length === 0
      ? [
          {
            code: 'TRIB_CONFIG_MISSING_EXIT',
            message: `kafka cache binding "${config.name}" needs an exit: the kafka client it fetches through`,
            pointer: `/bindings/${config.name}`,
          },
        ]
      : [],
  create: (ctx) => new KafkaCacheBinding(ctx),
};

/* eslint-disable @typescript-eslint/no-explicit-any -- each kind types its own options */
export const KINDS: Partial<Record<BindingKind, KafkaKind<any>>> = { client, cache };
/* eslint-enable @typescript-eslint/no-explicit-any */

function kindOf(kind: BindingKind): KafkaKind<unknown> {
  const entry = KINDS[kind];
  // The kernel only creates kinds listed in `kinds`; this is a safety net, not a code path.
  if (entry === undefined) throw new Error(`kafka bindings have no kind "${kind}"`);
  return entry;
}

export const kafkaBinding: BindingFactory = {
  kinds: Object.keys(KINDS) as BindingKind[],
  schema: {
    options: Object.fromEntries(Object.entries(KINDS).map(([kind, entry]) => [kind, entry.schema])),
  },
  validate: (config, gateway) => kindOf(config.kind).validate?.(config, gateway) ?? [],
  create: (ctx) => kindOf(ctx.config.kind).create(ctx),
};

export const plugin = definePlugin({
  name: '@tributary/binding-kafka',
  version: '0.1.0',
  spi: '^1.0.0',
  bindings: { kafka: kafkaBinding },
});

export default plugin;
