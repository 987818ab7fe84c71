/**
 * The module the kernel imports (`@tributary/guard-jwt/plugin`). It describes the plugin only:
 * its name, the SPI range it was written against and the types it provides, which must match
 * the `tributary` field of package.json.
 */
import { definePlugin, type GuardFactory } from '@tributary/kernel';
import { optionsSchema, validateOptions, type JwtOptions } from './config/schema.ts';
import { createJwtGuard } from './stream/jwt-guard.ts';

const jwt: GuardFactory<JwtOptions> = {
  schema: optionsSchema,
  validate: validateOptions,
  create: (ctx, config) => createJwtGuard(ctx, config),
};

export const plugin = definePlugin({
  name: '@tributary/guard-jwt',
  spi: '^1.0.0',
  guards: { jwt },
});

export default plugin;
