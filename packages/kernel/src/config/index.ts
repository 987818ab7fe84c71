/**
 * Configuration: loading, environment interpolation, the composed JSON Schema, validation with
 * positions, and issue formatting.
 *
 * @module
 */
export { parseConfigText, readConfigFile } from './source.ts';
export type { ConfigSource, Env, LocateTarget, ParsedConfig, SourcePosition } from './source.ts';
export { usedTypes } from './used-types.ts';
export type { TypeUses, UsedTypes } from './used-types.ts';
export { CONFIG_SCHEMA_ID, composeSchema } from './schema.ts';
export { validateConfig } from './validate.ts';
export type { ValidateOptions, ValidationResult } from './validate.ts';
export { formatIssues } from './format.ts';
export type { FormatOptions } from './format.ts';
export { loadConfig } from './load.ts';
export type { LoadedConfig, LoadOptions } from './load.ts';
