/**
 * The version of the plugin SPI this kernel implements.
 *
 * Independent of the kernel package version: it changes only when the contract between the
 * kernel and plugins changes. A plugin declares the range it supports (`tributary.spi` in its
 * `package.json` and `spi` in its plugin object); the kernel refuses a plugin whose range does
 * not include this version (`TRIB_PLUGIN_SPI_MISMATCH`).
 *
 * - 1.1.0: `GuardHandler.credentials()` — guards may lend tokens to outbound connections.
 */
export const SPI_VERSION = '1.1.0';
