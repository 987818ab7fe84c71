/**
 * JSON pointers (RFC 6901) as used in config issues: `''` is the whole document, `/a/b` a
 * member, `/a/0` an array item; `~` and `/` inside a name are written `~0` and `~1`.
 *
 * @module
 */

export const escapeSegment = (segment: string | number): string =>
  String(segment).replace(/~/g, '~0').replace(/\//g, '~1');

export const unescapeSegment = (segment: string): string => segment.replace(/~1/g, '/').replace(/~0/g, '~');

/** `base` extended by `segments`, each escaped. */
export function childPointer(base: string, ...segments: readonly (string | number)[]): string {
  let pointer = base;
  for (const segment of segments) pointer += `/${escapeSegment(segment)}`;
  return pointer;
}

/** The unescaped segments of a pointer; a leading `#` (URI fragment form) is accepted. */
export function parsePointer(pointer: string): string[] {
  const text = pointer.startsWith('#') ? pointer.slice(1) : pointer;
  if (text === '') return [];
  return text.replace(/^\//, '').split('/').map(unescapeSegment);
}

/** The value at `pointer` inside `root`, or undefined when any step is missing. */
export function valueAt(root: unknown, pointer: string): unknown {
  let current = root;
  for (const segment of parsePointer(pointer)) {
    if (Array.isArray(current)) current = current[Number(segment)];
    else if (isRecord(current)) current = Object.hasOwn(current, segment) ? current[segment] : undefined;
    else return undefined;
  }
  return current;
}

/** Replaces the value at `pointer` (which must exist) inside `root`; false when it does not. */
export function setValueAt(root: unknown, pointer: string, value: unknown): boolean {
  const segments = parsePointer(pointer);
  const last = segments.pop();
  if (last === undefined) return false;
  const parent = valueAt(root, segments.map((s) => `/${escapeSegment(s)}`).join(''));
  if (Array.isArray(parent)) {
    const index = Number(last);
    if (!Number.isInteger(index) || index < 0 || index >= parent.length) return false;
    parent[index] = value;
    return true;
  }
  if (isRecord(parent) && Object.hasOwn(parent, last)) {
    parent[last] = value;
    return true;
  }
  return false;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
