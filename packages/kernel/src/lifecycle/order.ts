import type { BindingConfig } from '../spi/config.ts';

/** The bindings a binding opens streams towards: its default exit and its routes' exits. */
export function exitsOf(binding: BindingConfig): string[] {
  const exits = binding.routes.map((route) => route.exit);
  if (binding.exit !== undefined) exits.push(binding.exit);
  return [...new Set(exits)];
}

/**
 * Start order: every binding after the bindings it exits to, so that a server never accepts a
 * request whose exit is not running yet. Config order breaks ties; cycles (rejected at load) are
 * cut rather than looped on.
 */
export function startOrder(bindings: Readonly<Record<string, BindingConfig>>): string[] {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string) => {
    if (state.has(name) || !bindings[name]) return;
    state.set(name, 'visiting');
    for (const exit of exitsOf(bindings[name])) visit(exit);
    state.set(name, 'done');
    order.push(name);
  };
  for (const name of Object.keys(bindings)) visit(name);
  return order;
}

/** Structural equality of JSON-like configuration values (key order ignored). */
export function stableEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    return a.length === other.length && a.every((item, i) => stableEqual(item, other[i]));
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ra), ...Object.keys(rb)]);
  for (const key of keys) if (!stableEqual(ra[key], rb[key])) return false;
  return true;
}
