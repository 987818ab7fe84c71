/**
 * The Ajv instance for configuration schemas and the translation of its errors into readable
 * issues.
 *
 * @module
 */
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import formats from 'ajv-formats';
import { childPointer, isRecord, parsePointer } from './pointer.ts';
import { didYouMean } from './suggest.ts';
import type { LocateTarget } from './source.ts';

/**
 * `strict: false`: plugin fragments may carry annotations Ajv does not know (editor hints such
 * as `markdownDescription`, `x-…` keys); rejecting them would turn a documentation nicety into
 * a load failure. The kernel's own schema is kept strict-clean by its tests.
 */
export function createAjv(): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, verbose: true, strict: false, allowUnionTypes: true });
  // ajv-formats is CommonJS; its `default` export is the plugin in both module systems.
  formats.default(ajv);
  return ajv;
}

export interface SchemaProblem {
  readonly pointer: string;
  readonly message: string;
  readonly at?: LocateTarget;
}

type AjvError = ErrorObject;

/**
 * Turns Ajv's errors into one problem per real mistake:
 * - `if` errors ("must match then schema") are dropped: the errors of the `then` branch say
 *   what is wrong;
 * - a failed `oneOf`/`anyOf` is replaced by the errors of the alternative that came closest
 *   (see {@link collapseAlternatives});
 * - duplicates (the same message at the same place, e.g. from a base schema and a branch) are
 *   reported once.
 */
export function translateErrors(errors: readonly AjvError[], root: Record<string, unknown>): SchemaProblem[] {
  const kept = collapseAlternatives(
    errors.filter((error) => error.keyword !== 'if'),
    root,
  );
  const seen = new Set<string>();
  const problems: SchemaProblem[] = [];
  for (const error of kept) {
    const problem = describe(error);
    const key = `${problem.pointer}\u0000${problem.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push(problem);
  }
  return problems;
}

function describe(error: AjvError): SchemaProblem {
  const params = error.params as Record<string, unknown>;
  const path = error.instancePath;
  switch (error.keyword) {
    case 'required': {
      const name = String(params['missingProperty']);
      return { pointer: childPointer(path, name), message: `missing required property "${name}"` };
    }
    case 'additionalProperties':
    case 'unevaluatedProperties': {
      const name = String(params['additionalProperty'] ?? params['unevaluatedProperty']);
      const known = propertyNames(error.parentSchema);
      return {
        pointer: childPointer(path, name),
        message: `unknown property "${name}"${didYouMean(name, known)}`,
        at: 'key',
      };
    }
    case 'type':
      return { pointer: path, message: `must be ${typeList(params['type']).join(' or ')}` };
    case 'enum':
      return { pointer: path, message: oneOf(params['allowedValues']) };
    case 'const':
      return { pointer: path, message: `must be ${show(params['allowedValue'])}` };
    case 'false schema':
      return { pointer: path, message: 'is not allowed here' };
    case 'oneOf':
      return {
        pointer: path,
        message: Array.isArray(params['passingSchemas'])
          ? `must match exactly one alternative, but matches ${params['passingSchemas'].length}`
          : 'must match one of the alternatives',
      };
    default: {
      const message = error.message ?? `must satisfy "${error.keyword}"`;
      return error.propertyName === undefined
        ? { pointer: path, message }
        : { pointer: childPointer(path, error.propertyName), message: `name ${message}`, at: 'key' };
    }
  }
}

function propertyNames(schema: unknown): string[] {
  return isRecord(schema) && isRecord(schema['properties']) ? Object.keys(schema['properties']) : [];
}

function typeList(type: unknown): string[] {
  if (Array.isArray(type)) return type.map(String);
  return String(type).split(',');
}

const show = (value: unknown): string => (typeof value === 'string' ? `"${value}"` : JSON.stringify(value));

function oneOf(values: unknown): string {
  const list = Array.isArray(values) ? values : [values];
  return `must be one of: ${list.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(', ')}`;
}

const under = (path: string, base: string): boolean => path === base || path.startsWith(`${base}/`);

/**
 * Ajv reports a failed `oneOf`/`anyOf` as the errors of every alternative followed by the
 * `oneOf` error itself. Keep only what helps:
 * - when every alternative wants another JSON type here → one "must be A or B";
 * - when every alternative rejects the same discriminating property (a `const`/`enum` one
 *   level down) → one "must be one of" on that property;
 * - otherwise the errors of the alternative with the fewest errors whose type and
 *   discriminator matched (the one the author most likely meant).
 * Alternatives are processed innermost first (Ajv emits inner failures before outer ones), so
 * nested alternatives collapse too. An error belongs to an alternative when its schema path
 * lies under it, or under a `$ref` target reachable from it. (Ajv inlines a referenced schema
 * that has no references of its own and reports it under the reference, e.g. `#/$defs/model/…`;
 * a referenced schema that is not inlined reports paths relative to itself, so its errors stay
 * listed — more output, never a lost error.)
 */
function collapseAlternatives(errors: readonly AjvError[], root: Record<string, unknown>): AjvError[] {
  const list: (AjvError | undefined)[] = [...errors];
  for (let k = 0; k < list.length; k++) {
    const failure = list[k];
    if (!failure || (failure.keyword !== 'oneOf' && failure.keyword !== 'anyOf')) continue;
    const branches: unknown[] = Array.isArray(failure.schema) ? failure.schema : [];
    const base = failure.instancePath;
    const members = branches.map((branch, index) => {
      const prefixes = [`${failure.schemaPath}/${index}`, ...refTargets(branch, root)];
      const found: number[] = [];
      for (let j = 0; j < k; j++) {
        const error = list[j];
        if (!error || !under(error.instancePath, base)) continue;
        if (prefixes.some((prefix) => under(error.schemaPath, prefix))) found.push(j);
      }
      return found;
    });
    const involved = new Set(members.flat());
    const params = failure.params as Record<string, unknown>;
    if (Array.isArray(params['passingSchemas']) || branches.length === 0) {
      for (const j of involved) list[j] = undefined;
      continue;
    }
    const snapshot = [...list];
    const at = (j: number): AjvError => snapshot[j]!;
    const typeMismatch = members.map((found) =>
      found.filter((j) => at(j).keyword === 'type' && at(j).instancePath === base),
    );
    const discriminator = members.map((found) =>
      found.filter((j) => {
        const error = at(j);
        return (
          (error.keyword === 'const' || error.keyword === 'enum') &&
          parsePointer(error.instancePath).length === parsePointer(base).length + 1 &&
          under(error.instancePath, base)
        );
      }),
    );
    for (const j of involved) list[j] = undefined;
    if (typeMismatch.every((found) => found.length > 0)) {
      const types = new Set(
        typeMismatch.flat().flatMap((j) => typeList((at(j).params as Record<string, unknown>)['type'])),
      );
      list[k] = { ...failure, keyword: 'type', params: { type: [...types].join(',') } };
      continue;
    }
    const discriminated = discriminator.every((found) => found.length > 0);
    const paths = new Set(discriminator.flat().map((j) => at(j).instancePath));
    if (discriminated && paths.size === 1) {
      const values = discriminator.flat().flatMap((j) => {
        const p = at(j).params as Record<string, unknown>;
        const allowed = p['allowedValues'];
        return at(j).keyword === 'const'
          ? [p['allowedValue']]
          : Array.isArray(allowed)
            ? (allowed as unknown[])
            : [];
      });
      list[k] = {
        ...failure,
        keyword: 'enum',
        instancePath: [...paths][0]!,
        params: { allowedValues: [...new Set(values)] },
      };
      continue;
    }
    let best = -1;
    let bestScore = Infinity;
    members.forEach((found, index) => {
      const score =
        (typeMismatch[index]!.length > 0 ? 1e6 : 0) +
        (discriminator[index]!.length > 0 ? 1e3 : 0) +
        found.length;
      if (score < bestScore) {
        best = index;
        bestScore = score;
      }
    });
    for (const j of members[best] ?? []) list[j] = at(j);
    list[k] = undefined;
  }
  return list.filter((error): error is AjvError => error !== undefined);
}

/** Local `$ref` targets reachable from `schema` (transitively), as schema paths. */
function refTargets(schema: unknown, root: Record<string, unknown>): string[] {
  const found = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) visit(item);
      return;
    }
    if (!isRecord(node)) return;
    const ref = node['$ref'];
    if (typeof ref === 'string' && ref.startsWith('#') && !found.has(ref)) {
      found.add(ref);
      visit(resolveLocal(root, ref));
    }
    for (const [key, value] of Object.entries(node)) if (key !== '$ref') visit(value);
  };
  visit(schema);
  return [...found];
}

function resolveLocal(root: Record<string, unknown>, ref: string): unknown {
  let current: unknown = root;
  for (const segment of parsePointer(ref)) {
    if (Array.isArray(current)) current = current[Number(segment)];
    else if (isRecord(current)) current = current[segment];
    else return undefined;
  }
  return current;
}
