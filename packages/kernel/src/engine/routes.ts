import type { BindingConfig } from '../spi/config.ts';
import type { ConditionMatcher, RouteParams, RouteResolution, TemplateVars } from '../spi/binding.ts';
import type { Authorization } from '../spi/stream.ts';
import { resolveTemplates } from './templates.ts';

const NO_PARAMS: RouteParams = Object.freeze({});

/**
 * First authorized match in config order. A stream that matches guarded routes but satisfies
 * none of them is refused rather than falling through to the default exit: guards deny unless a
 * route allows.
 */
export function resolveRoute<When, With>(
  config: BindingConfig<unknown, When, With>,
  match: ConditionMatcher<When>,
  authorization: Authorization = {},
  vars: TemplateVars = {},
  now: number = Date.now(),
): RouteResolution<With> {
  let unauthorized = false;
  let forbidden = false;
  const refusing = new Set<string>();
  for (let index = 0; index < config.routes.length; index++) {
    const route = config.routes[index]!;
    let params: RouteParams | undefined;
    if (route.when.length === 0) params = NO_PARAMS;
    else
      for (const when of route.when) {
        params = match(when);
        if (params) break;
      }
    if (!params) continue;
    let allowed = true;
    for (const [guard, roles] of Object.entries(route.guarded ?? {})) {
      const session = authorization[guard];
      if (!session || (session.expiresAt !== null && session.expiresAt <= now)) {
        unauthorized = true;
        allowed = false;
        refusing.add(guard);
      } else if (!session.verify(roles, now)) {
        forbidden = true;
        allowed = false;
        refusing.add(guard);
      }
    }
    if (!allowed) continue;
    return {
      ok: true,
      route: {
        index,
        exit: route.exit,
        params,
        with:
          route.with === undefined ? undefined : resolveTemplates(route.with, params, authorization, vars),
      },
    };
  }
  if (unauthorized || forbidden) {
    return { ok: false, reason: forbidden ? 'forbidden' : 'unauthorized', guards: [...refusing] };
  }
  if (config.exit !== undefined) {
    return { ok: true, route: { index: -1, exit: config.exit, params: NO_PARAMS, with: undefined } };
  }
  return { ok: false, reason: 'no-match', guards: [] };
}
