import type { Authorization } from '../spi/stream.ts';
import type { RouteParams, TemplateVars } from '../spi/binding.ts';

/**
 * Runtime templates in route `with` values: `${params.id}`, `${idempotencyKey}`,
 * `${correlationId}`, `${guarded['jwt0'].identity}`, `${guarded['jwt0'].attributes.tenant}`. A string that is a
 * single template takes the referenced value as is (possibly not a string, or undefined, in
 * which case an object property holding it is dropped); templates embedded in longer strings
 * are replaced by the value's text, or nothing when it is missing.
 */
const TEMPLATE = /\$\{(?!\{)([^}]*)\}/g;

export type TemplatePath = readonly string[];

export interface TemplateError {
  readonly template: string;
  readonly reason: string;
}

/**
 * Roots a template may start from. Other roots are rejected at load time. `correlationId` is the
 * id a request-reply mapping gives each request (e.g. in an asynchronous `Location`); it is only
 * known to the binding that computes it, which passes it in `vars`.
 */
export const TEMPLATE_ROOTS: readonly string[] = [
  'params',
  'idempotencyKey',
  'correlationId',
  'guarded',
  'vars',
];

/** Parses `guarded['jwt0'].attributes.sub` into `['guarded','jwt0','attributes','sub']`. */
export function parseTemplatePath(expression: string): TemplatePath | TemplateError {
  const text = expression.trim();
  const path: string[] = [];
  const ident = /^[A-Za-z_$][\w$-]*/;
  const first = ident.exec(text);
  if (!first) return { template: `\${${expression}}`, reason: 'expected a name' };
  path.push(first[0]);
  let i = first[0].length;
  while (i < text.length) {
    const rest = text.slice(i);
    if (rest.startsWith('.')) {
      const m = ident.exec(rest.slice(1));
      if (!m) return { template: `\${${expression}}`, reason: `expected a name after "." at ${i + 1}` };
      path.push(m[0]);
      i += 1 + m[0].length;
      continue;
    }
    const bracket = /^\[\s*(['"])(.*?)\1\s*\]/.exec(rest);
    if (bracket) {
      path.push(bracket[2]!);
      i += bracket[0].length;
      continue;
    }
    return { template: `\${${expression}}`, reason: `unexpected "${rest[0]}" at ${i + 1}` };
  }
  if (!TEMPLATE_ROOTS.includes(path[0]!)) {
    return {
      template: `\${${expression}}`,
      reason: `unknown root "${path[0]}" (expected one of ${TEMPLATE_ROOTS.join(', ')})`,
    };
  }
  return path;
}

export const isTemplateError = (value: TemplatePath | TemplateError): value is TemplateError =>
  !Array.isArray(value);

/** Every malformed template found in a value (recursively), for load-time validation. */
export function findTemplateErrors(value: unknown): TemplateError[] {
  const found: TemplateError[] = [];
  visitStrings(value, (text) => {
    if (text.includes('${') && !text.includes('${{')) {
      const open = text.split('${').length - 1;
      const matches = [...text.matchAll(TEMPLATE)];
      if (matches.length !== open) found.push({ template: text, reason: 'unclosed "${"' });
      for (const m of matches) {
        const parsed = parseTemplatePath(m[1]!);
        if (isTemplateError(parsed)) found.push(parsed);
      }
    }
  });
  return found;
}

function visitStrings(value: unknown, visit: (text: string) => void): void {
  if (typeof value === 'string') visit(value);
  else if (Array.isArray(value)) for (const item of value) visitStrings(item, visit);
  else if (value && typeof value === 'object')
    for (const item of Object.values(value)) visitStrings(item, visit);
}

interface Scope {
  readonly params: RouteParams;
  readonly authorization: Authorization;
  readonly vars: TemplateVars;
}

function lookup(path: TemplatePath, scope: Scope): unknown {
  const [root, ...rest] = path;
  let current: unknown;
  switch (root) {
    case 'params':
      current = scope.params;
      break;
    case 'guarded': {
      const [guard, ...tail] = rest;
      const session = guard === undefined ? undefined : scope.authorization[guard];
      if (!session) return undefined;
      current = { identity: session.identity, attributes: session.attributes, roles: [...session.roles] };
      return walk(current, tail);
    }
    case 'vars':
      current = scope.vars;
      break;
    default:
      return root === undefined ? undefined : scope.vars[root];
  }
  return walk(current, rest);
}

function walk(current: unknown, path: readonly string[]): unknown {
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

const cache = new Map<string, TemplatePath | TemplateError>();

function resolveString(text: string, scope: Scope): unknown {
  if (!text.includes('${')) return text;
  const parse = (expr: string) => {
    let parsed = cache.get(expr);
    if (!parsed) cache.set(expr, (parsed = parseTemplatePath(expr)));
    return parsed;
  };
  const whole = /^\$\{(?!\{)([^}]*)\}$/.exec(text);
  if (whole) {
    const parsed = parse(whole[1]!);
    return isTemplateError(parsed) ? text : lookup(parsed, scope);
  }
  return text.replace(TEMPLATE, (all, expr: string) => {
    const parsed = parse(expr);
    if (isTemplateError(parsed)) return all;
    const value = lookup(parsed, scope);
    if (value === undefined || value === null) return '';
    return typeof value === 'string' ? value : JSON.stringify(value);
  });
}

/** Resolves every template inside `value`, returning a new value (the input is not touched). */
export function resolveTemplates<T>(
  value: T,
  params: RouteParams,
  authorization: Authorization = {},
  vars: TemplateVars = {},
): T {
  const scope: Scope = { params, authorization, vars };
  const visit = (v: unknown): unknown => {
    if (typeof v === 'string') return resolveString(v, scope);
    if (Array.isArray(v)) return v.map(visit).filter((item) => item !== undefined);
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, item] of Object.entries(v)) {
        const resolved = visit(item);
        if (resolved !== undefined) out[k] = resolved;
      }
      return out;
    }
    return v;
  };
  return visit(value) as T;
}
