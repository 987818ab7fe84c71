/**
 * A JSON Schema (draft 2020-12 as accepted by Ajv). Plugins contribute fragments; the kernel
 * composes them into the full configuration schema.
 */
export type JsonSchema = boolean | { readonly [keyword: string]: unknown };
