import { definePlugin } from './spi/plugin.ts';
import { SPI_VERSION } from './spi/version.ts';
import { testBinding, testCatalog, testGuard, testModel } from './testkit/types.ts';
import { filesystemVault } from './vault/filesystem.ts';

/**
 * The kernel's own plugin: the `filesystem` vault, and the `test` binding, guard, catalog and
 * model that examples and plugin tests use. Always registered by the kernel.
 */
export const plugin = definePlugin({
  name: '@tributary/kernel',
  spi: `^${SPI_VERSION}`,
  bindings: { test: testBinding },
  guards: { test: testGuard },
  catalogs: { test: testCatalog },
  models: { test: testModel },
  vaults: { filesystem: filesystemVault },
});

export default plugin;
