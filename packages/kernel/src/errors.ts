import { defineErrors } from './spi/errors.ts';

/** The kernel's error codes; documented in docs/errors.md. */
export const errors = defineErrors({
  TRIB_CONFIG_INVALID: { message: 'configuration {file} has {count} problem(s)' },
  TRIB_CONFIG_READ_FAILED: { message: 'cannot read configuration {file}: {reason}' },
  TRIB_CONFIG_SYNTAX: { message: 'syntax error: {reason}' },
  TRIB_CONFIG_SCHEMA: { message: '{reason}' },
  TRIB_CONFIG_ENV_MISSING: { message: 'environment variable {name} is not set and has no default' },
  TRIB_CONFIG_ENV_SYNTAX: { message: 'malformed interpolation {expression}' },
  TRIB_CONFIG_UNKNOWN_TYPE: { message: 'no installed plugin provides {what} type "{type}"{hint}' },
  TRIB_CONFIG_UNSUPPORTED_KIND: { message: '{type} bindings have no kind "{kind}" (supported: {kinds})' },
  TRIB_CONFIG_DANGLING_EXIT: { message: 'exit "{exit}" is not a binding' },
  TRIB_CONFIG_MISSING_EXIT: { message: '{type} {kind} binding "{binding}" needs an exit or routes' },
  TRIB_CONFIG_UNKNOWN_GUARD: { message: 'guard "{guard}" is not defined under guards' },
  TRIB_CONFIG_UNKNOWN_CATALOG: { message: 'catalog "{catalog}" is not defined under catalogs' },
  TRIB_CONFIG_UNKNOWN_VAULT: { message: 'vault "{vault}" is not defined under vaults' },
  TRIB_CONFIG_ROUTE_CYCLE: { message: 'routes form a cycle: {cycle}' },
  TRIB_CONFIG_TEMPLATE: { message: 'malformed template {template}: {reason}' },
  TRIB_CONFIG_VALIDATE_FAILED: { message: '{what} "{name}" could not be validated by {pkg}: {reason}' },
  TRIB_PLUGIN_NOT_INSTALLED: {
    message: '{what} type "{type}" is provided by {pkg}, which is not installed: run `npm install {pkg}`',
  },
  TRIB_PLUGIN_LOAD_FAILED: { message: 'plugin {pkg} failed to load: {reason}' },
  TRIB_PLUGIN_SPI_MISMATCH: {
    message: 'plugin {pkg} supports SPI {range}, but this kernel implements SPI {spi}: {hint}',
  },
  TRIB_PLUGIN_DUPLICATE_TYPE: { message: '{what} type "{type}" is provided by both {first} and {second}' },
  TRIB_PLUGIN_INVALID: { message: 'package {pkg} is not a valid Tributary plugin: {reason}' },
  TRIB_PLUGIN_MANIFEST_INVALID: { message: 'package {pkg} has an invalid "tributary" field: {reason}' },
  TRIB_PLUGIN_PACKAGE_MISSING: {
    message: 'plugin package {pkg} is not installed in {dir}: run `npm install {pkg}` there',
  },
  TRIB_PLUGIN_PACKAGE_UNREADABLE: { message: 'cannot read {file}: {reason}' },
  TRIB_LIFECYCLE_START_FAILED: { message: '{what} "{name}" failed to start: {reason}' },
  TRIB_LIFECYCLE_START_TIMEOUT: { message: '{what} "{name}" did not start within {ms} ms' },
  TRIB_LIFECYCLE_RELOAD_FAILED: {
    message: 'reload of {file} rejected; the running configuration is unchanged',
  },
  TRIB_STREAM_REFUSED: { message: 'binding "{binding}" refused the stream', status: 404 },
  TRIB_STREAM_NO_BINDING: { message: 'exit "{exit}" is not a running binding', status: 502 },
  TRIB_STREAM_HANDLER_FAILED: {
    message: 'stream handler of binding "{binding}" failed: {reason}',
    status: 500,
  },
  TRIB_STREAM_SHUTDOWN: { message: 'binding "{binding}" is shutting down', status: 503 },
  TRIB_STREAM_PROTOCOL: { message: 'frame out of order on stream {stream}: {reason}', status: 500 },
  TRIB_CLI_USAGE: { message: '{reason}' },
});
