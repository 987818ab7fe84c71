/**
 * Cross-references the schema cannot express: types that no plugin provides, kinds a type
 * does not support, names (exits, guards, vaults, catalogs) that are not defined, bindings
 * that need an exit, route cycles and malformed runtime templates.
 *
 * Every check tolerates any shape (the schema reports shape problems), so all problems are
 * found in one pass.
 *
 * @module
 */
import type { ConfigIssue } from '../spi/config.ts';
import { PROVIDED_KINDS, type ProvidedKind } from '../spi/plugin.ts';
import { singular, type PluginRegistry } from '../engine/registry.ts';
import { isTemplateError, parseTemplatePath } from '../engine/templates.ts';
import { errors } from '../errors.ts';
import { makeIssue, positionIssue, type IssueLocator } from './issues.ts';
import { childPointer, isRecord } from './pointer.ts';
import { didYouMean } from './suggest.ts';
import { usedTypes } from './used-types.ts';
import type { ValidateOptions } from './validate.ts';

export interface CheckResult {
  readonly issues: ConfigIssue[];
  /**
   * Pointers whose schema errors are superseded by a clearer issue found here: the `type` of
   * an unknown type (the schema's enum would only list the installed names) and the `kind` of
   * a binding whose type is known (reported as `TRIB_CONFIG_UNSUPPORTED_KIND`).
   */
  readonly superseded: ReadonlySet<string>;
}

/** Sessions a `${guarded['g'].…}` template may read; see the engine's template resolution. */
const SESSION_MEMBERS = ['identity', 'attributes', 'roles'];

export function crossChecks(
  data: unknown,
  registry: PluginRegistry,
  source: IssueLocator,
  options: ValidateOptions,
): CheckResult {
  const issues: ConfigIssue[] = [];
  const superseded = new Set<string>();
  const root = isRecord(data) ? data : {};
  const bindings = isRecord(root['bindings']) ? root['bindings'] : {};
  const guards = isRecord(root['guards']) ? root['guards'] : {};
  const catalogs = isRecord(root['catalogs']) ? root['catalogs'] : {};
  const vaults = isRecord(root['vaults']) ? root['vaults'] : {};
  const names = (section: Record<string, unknown>) => Object.keys(section);
  const issue = (...args: Parameters<typeof makeIssue>) => issues.push(makeIssue(...args));

  // Types no installed plugin provides: one issue per place the type is named.
  const used = usedTypes(data);
  for (const kind of PROVIDED_KINDS) {
    for (const [type, pointers] of used[kind]) {
      if (registry.get(kind, type)) continue;
      const installed = registry.types(kind).map((entry) => entry.type);
      for (const pointer of pointers) {
        superseded.add(pointer);
        const hinted = options.unknownType?.(kind, type, pointer);
        if (hinted) issues.push(positionIssue(hinted, source));
        else issue(errors.TRIB_CONFIG_UNKNOWN_TYPE, unknownType(kind, type, installed), pointer, source);
      }
    }
  }

  const edges = new Map<string, { to: string; pointer: string }[]>();
  const exitTo = (from: string, exit: unknown, pointer: string) => {
    if (typeof exit !== 'string') return;
    if (Object.hasOwn(bindings, exit)) {
      edges.get(from)?.push({ to: exit, pointer });
    } else {
      issues.push(
        hint(makeIssue(errors.TRIB_CONFIG_DANGLING_EXIT, { exit }, pointer, source), exit, names(bindings)),
      );
    }
  };

  for (const [name, binding] of Object.entries(bindings)) {
    edges.set(name, []);
    if (!isRecord(binding)) continue;
    const pointer = childPointer('/bindings', name);
    const type = binding['type'];
    const kind = binding['kind'];
    const entry = typeof type === 'string' ? registry.get('bindings', type) : undefined;
    if (entry && typeof kind === 'string') {
      superseded.add(childPointer(pointer, 'kind'));
      if (!(entry.factory.kinds as readonly string[]).includes(kind)) {
        issue(
          errors.TRIB_CONFIG_UNSUPPORTED_KIND,
          { type, kind, kinds: entry.factory.kinds.join(', ') },
          childPointer(pointer, 'kind'),
          source,
        );
      }
    }
    exitTo(name, binding['exit'], childPointer(pointer, 'exit'));
    const vault = binding['vault'];
    if (typeof vault === 'string' && !Object.hasOwn(vaults, vault)) {
      issues.push(
        hint(
          makeIssue(errors.TRIB_CONFIG_UNKNOWN_VAULT, { vault }, childPointer(pointer, 'vault'), source),
          vault,
          names(vaults),
        ),
      );
    }
    const routes = Array.isArray(binding['routes']) ? (binding['routes'] as unknown[]) : [];
    routes.forEach((route, index) => {
      if (!isRecord(route)) return;
      const at = childPointer(pointer, 'routes', index);
      exitTo(name, route['exit'], childPointer(at, 'exit'));
      if (isRecord(route['guarded'])) {
        for (const guard of Object.keys(route['guarded'])) {
          if (Object.hasOwn(guards, guard)) continue;
          const found = makeIssue(
            errors.TRIB_CONFIG_UNKNOWN_GUARD,
            { guard },
            childPointer(at, 'guarded', guard),
            source,
            'key',
          );
          issues.push(hint(found, guard, names(guards)));
        }
      }
      if ('with' in route)
        issues.push(...templateIssues(route['with'], childPointer(at, 'with'), guards, source));
    });
    const requiresExit = entry?.factory.schema?.requiresExit === true;
    if (requiresExit && binding['exit'] === undefined && routes.length === 0) {
      issue(errors.TRIB_CONFIG_MISSING_EXIT, { type, kind, binding: name }, pointer, source);
    }
  }

  // Catalog references: `catalog: name` or `catalog: { name: [...] }` anywhere a plugin's
  // options or an inline model may hold them.
  const visitCatalogs = (node: unknown, pointer: string): void => {
    if (Array.isArray(node)) {
      node.forEach((item, index) => visitCatalogs(item, childPointer(pointer, index)));
      return;
    }
    if (!isRecord(node)) return;
    for (const [key, value] of Object.entries(node)) {
      const at = childPointer(pointer, key);
      if (key !== 'catalog') visitCatalogs(value, at);
      else if (typeof value === 'string') checkCatalog(value, at, 'value');
      else if (isRecord(value))
        for (const catalog of Object.keys(value)) checkCatalog(catalog, childPointer(at, catalog), 'key');
    }
  };
  const checkCatalog = (catalog: string, pointer: string, at: 'key' | 'value') => {
    if (Object.hasOwn(catalogs, catalog)) return;
    issues.push(
      hint(
        makeIssue(errors.TRIB_CONFIG_UNKNOWN_CATALOG, { catalog }, pointer, source, at),
        catalog,
        names(catalogs),
      ),
    );
  };
  visitCatalogs(bindings, '/bindings');
  visitCatalogs(guards, '/guards');
  visitCatalogs(vaults, '/vaults');

  issues.push(...cycleIssues(Object.keys(bindings), edges, source));
  return { issues, superseded };
}

function unknownType(
  kind: ProvidedKind,
  type: string,
  installed: readonly string[],
): Record<string, unknown> {
  return { what: singular(kind), type, hint: didYouMean(type, installed) };
}

/** Appends "(did you mean …?)" to a name-not-defined issue when a defined name is close. */
function hint(issue: ConfigIssue, name: string, defined: readonly string[]): ConfigIssue {
  const suffix = didYouMean(name, defined);
  return suffix === '' ? issue : { ...issue, message: issue.message + suffix };
}

/**
 * Malformed runtime templates in a route's `with`, parsed as the engine parses them at run
 * time. `${{ … }}` is an environment expression (left there only when it could not be
 * resolved, which is reported separately), not a runtime template.
 */
function templateIssues(
  value: unknown,
  pointer: string,
  guards: Record<string, unknown>,
  source: IssueLocator,
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const malformed = (template: string, reason: string, at: string) =>
    issues.push(makeIssue(errors.TRIB_CONFIG_TEMPLATE, { template, reason }, at, source));
  const check = (text: string, at: string) => {
    for (let from = text.indexOf('${'); from !== -1; from = text.indexOf('${', from)) {
      if (text[from + 2] === '{') {
        from += 3;
        continue;
      }
      const close = text.indexOf('}', from + 2);
      if (close === -1) {
        malformed(text.slice(from), 'unclosed "${"', at);
        return;
      }
      const template = text.slice(from, close + 1);
      const path = parseTemplatePath(text.slice(from + 2, close));
      from = close + 1;
      if (isTemplateError(path)) {
        malformed(path.template, path.reason, at);
        continue;
      }
      const [root, first, second] = path;
      if ((root === 'params' || root === 'vars') && path.length !== 2) {
        malformed(template, `expected ${root}.<name>`, at);
      } else if (root === 'idempotencyKey' && path.length !== 1) {
        malformed(template, 'idempotencyKey has no members', at);
      } else if (root === 'guarded') {
        if (first === undefined || second === undefined || !SESSION_MEMBERS.includes(second)) {
          malformed(
            template,
            "expected guarded['<guard>'] followed by .identity, .attributes.<name> or .roles",
            at,
          );
        } else if (!Object.hasOwn(guards, first)) {
          issues.push(
            hint(
              makeIssue(errors.TRIB_CONFIG_UNKNOWN_GUARD, { guard: first }, at, source),
              first,
              Object.keys(guards),
            ),
          );
        }
      }
    }
  };
  const visit = (node: unknown, at: string): void => {
    if (typeof node === 'string') check(node, at);
    else if (Array.isArray(node)) node.forEach((item, index) => visit(item, childPointer(at, index)));
    else if (isRecord(node))
      for (const [key, item] of Object.entries(node)) visit(item, childPointer(at, key));
  };
  visit(value, pointer);
  return issues;
}

/**
 * Cycles in the exit graph (binding exits and route exits). Each cycle is reported once, at
 * the exit leaving its first binding in config order: `a → b → a`.
 */
function cycleIssues(
  order: readonly string[],
  edges: ReadonlyMap<string, readonly { to: string; pointer: string }[]>,
  source: IssueLocator,
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const rank = new Map(order.map((name, index) => [name, index]));
  const state = new Map<string, 'active' | 'done'>();
  const stack: string[] = [];
  const via: string[] = [];
  const reported = new Set<string>();
  const visit = (node: string): void => {
    state.set(node, 'active');
    stack.push(node);
    for (const edge of edges.get(node) ?? []) {
      const seen = state.get(edge.to);
      if (seen === 'active') {
        const start = stack.indexOf(edge.to);
        const nodes = stack.slice(start);
        const pointers = [...via.slice(start), edge.pointer];
        let first = 0;
        nodes.forEach((name, index) => {
          if (rank.get(name)! < rank.get(nodes[first]!)!) first = index;
        });
        const cycle = [...nodes.slice(first), ...nodes.slice(0, first)];
        const key = cycle.join('\u0000');
        if (!reported.has(key)) {
          reported.add(key);
          issues.push(
            makeIssue(
              errors.TRIB_CONFIG_ROUTE_CYCLE,
              { cycle: [...cycle, cycle[0]].join(' → ') },
              pointers[first]!,
              source,
            ),
          );
        }
      } else if (seen === undefined) {
        via.push(edge.pointer);
        visit(edge.to);
        via.pop();
      }
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const name of order) if (!state.has(name)) visit(name);
  return issues;
}
