/**
 * Plugin discovery: which plugin packages an application has installed (from `package.json`
 * files, resolved from the application's directory), and loading the ones a configuration uses.
 *
 * - {@link discover} reads manifests and imports nothing;
 * - {@link loadPlugins} imports only the providers of used types, checks them and registers them;
 * - {@link describePlugins} renders the `tributary plugins` listing.
 *
 * @module
 */
export { discover, type Discovery, type InstalledPlugin } from './discover.ts';
export { importPlugin, importPluginByName, loadPlugins, type UsedTypes } from './load.ts';
export { describePlugins } from './describe.ts';
export { OFFICIAL_PACKAGES, officialPackage, officialProvider } from './official.ts';
export { validateManifest } from './manifest.ts';
export { findAppDir } from './resolve.ts';
