/**
 * Which plugin types a configuration uses, and where. Discovery uses it to import only the
 * plugins a configuration needs; validation uses it to report unknown types.
 *
 * @module
 */
import { childPointer, isRecord } from './pointer.ts';

/** Type name → JSON pointers of the nodes naming it, in document order. */
export type TypeUses = ReadonlyMap<string, readonly string[]>;

export interface UsedTypes {
  /** From `bindings/<name>/type`. */
  readonly bindings: TypeUses;
  /** From `guards/<name>/type`. */
  readonly guards: TypeUses;
  /** From `catalogs/<name>/type`. */
  readonly catalogs: TypeUses;
  /** From `vaults/<name>/type`. */
  readonly vaults: TypeUses;
  /** From the `model` property of any object under `bindings` whose `model` is a string. */
  readonly models: TypeUses;
}

/** Collects the types used by a configuration value; tolerant of any shape. */
export function usedTypes(value: unknown): UsedTypes {
  const root = isRecord(value) ? value : {};
  const section = (name: 'bindings' | 'guards' | 'catalogs' | 'vaults'): TypeUses => {
    const uses = new Map<string, string[]>();
    const entries = root[name];
    if (!isRecord(entries)) return uses;
    for (const [key, entry] of Object.entries(entries)) {
      if (isRecord(entry) && typeof entry['type'] === 'string') {
        add(uses, entry['type'], childPointer('', name, key, 'type'));
      }
    }
    return uses;
  };
  const models = new Map<string, string[]>();
  const visit = (node: unknown, pointer: string): void => {
    if (Array.isArray(node)) {
      node.forEach((item, index) => visit(item, childPointer(pointer, index)));
    } else if (isRecord(node)) {
      if (typeof node['model'] === 'string') add(models, node['model'], childPointer(pointer, 'model'));
      for (const [key, item] of Object.entries(node)) visit(item, childPointer(pointer, key));
    }
  };
  visit(root['bindings'], '/bindings');
  return {
    bindings: section('bindings'),
    guards: section('guards'),
    catalogs: section('catalogs'),
    vaults: section('vaults'),
    models,
  };
}

function add(uses: Map<string, string[]>, type: string, pointer: string): void {
  const pointers = uses.get(type);
  if (pointers) pointers.push(pointer);
  else uses.set(type, [pointer]);
}
