/**
 * `@tributary/guard-jwt`: what other packages may use. The kernel imports `./plugin`, not this
 * module.
 *
 * @module
 */
export type { JwtAlgorithm, JwtOptions, JwtPublicKey } from './config/schema.ts';
export { ASYMMETRIC_ALGORITHMS } from './config/schema.ts';
export { errors } from './errors.ts';
export { EVENTS, type JwtEventName } from './events.ts';
