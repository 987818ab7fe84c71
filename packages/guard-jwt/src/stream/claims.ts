/**
 * Reading claims by the names the options give: `sub`, `realm_access.roles`,
 * `https://example.com/roles`.
 *
 * @module
 */

/**
 * The value at `path` in a claims set. A claim whose whole name is `path` wins (namespaced claim
 * names such as `https://example.com/roles` contain dots); otherwise `path` is split on dots and
 * followed through nested objects.
 */
export function claimAt(claims: Readonly<Record<string, unknown>>, path: string): unknown {
  if (Object.hasOwn(claims, path)) return claims[path];
  let value: unknown = claims;
  for (const name of path.split('.')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, name)) {
      return undefined;
    }
    value = (value as Record<string, unknown>)[name];
  }
  return value;
}

/**
 * Roles from a claim value: the strings of an array, or the words of a space-separated string
 * (`scope: "stream:read items:write"`, RFC 8693 §4.2). Anything else holds no roles.
 */
export function rolesOf(value: unknown): ReadonlySet<string> {
  if (typeof value === 'string') return new Set(value.split(/\s+/).filter((role) => role !== ''));
  if (Array.isArray(value)) {
    return new Set(value.filter((role): role is string => typeof role === 'string' && role !== ''));
  }
  return new Set();
}

/** Freezes a parsed JSON value all the way down, so sessions cannot be changed by their readers. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member);
  }
  return value;
}
