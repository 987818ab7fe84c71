/**
 * Route filters of the protocol mappings (`filters: [{ key, headers }]` in a route's `with`) as
 * Kafka filters. Shared so that every mapping treats unresolved templates the same way.
 */
import type { KafkaCondition, KafkaFilter } from '../index.ts';

/** One configured filter: the record key and header values, as text (templates allowed). */
export interface RouteFilter {
  readonly key?: string | null;
  readonly headers?: Readonly<Record<string, string | null>>;
}

const encoder = new TextEncoder();

/**
 * Builds Kafka filters from a route's filters. `resolved` is the list with templates resolved,
 * `raw` the list as configured. A template that resolved to nothing (a missing param, a session
 * without identity) removed its property from `resolved` or left it null; such a condition must
 * match **nothing**, never everything — and a condition on the empty value would still match
 * records whose key or header is empty — so it becomes a contradiction (`c` and `not c`).
 * Returns undefined when the route has no filters.
 */
export function routeFilters(
  resolved: readonly RouteFilter[] | undefined,
  raw: readonly RouteFilter[] | undefined,
): KafkaFilter[] | undefined {
  if (raw === undefined) return undefined;
  return raw.map((configured, i) => {
    const filter = resolved?.[i];
    const conditions: KafkaCondition[] = [];
    const add = (value: string | null | undefined, condition: (bytes: Uint8Array) => KafkaCondition) => {
      if (typeof value === 'string') conditions.push(condition(encoder.encode(value)));
      else {
        const never = condition(new Uint8Array(0));
        conditions.push(never, { not: never });
      }
    };
    if (configured.key !== undefined) add(filter?.key, (key) => ({ key }));
    for (const name of Object.keys(configured.headers ?? {}))
      add(filter?.headers?.[name], (value) => ({ header: { name, value } }));
    return { conditions };
  });
}
