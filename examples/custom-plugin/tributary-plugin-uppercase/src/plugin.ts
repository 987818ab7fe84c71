/**
 * The module the kernel imports (`tributary-plugin-uppercase/plugin`). It only describes the
 * plugin; the binding lives in `stream/`.
 *
 * The `spi` range is the SPI this plugin was written against, and must agree with
 * `tributary.spi` in package.json, as must the types it provides.
 */
import { definePlugin } from '@tributary/kernel';
import { uppercaseBinding } from './stream/uppercase-proxy.ts';

export const plugin = definePlugin({
  name: 'tributary-plugin-uppercase',
  version: '1.0.0',
  spi: '^1.0.0',
  bindings: { uppercase: uppercaseBinding },
});

export default plugin;
