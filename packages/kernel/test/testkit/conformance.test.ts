import { bindingConformance, type AppSide } from '../../src/testkit/conformance.ts';
import type { ScriptedPeer } from '../../src/testkit/peer.ts';

/** The application side of the `test` server: a scripted peer that reads everything it gets. */
function appSide(peer: ScriptedPeer): AppSide {
  return {
    send: (payload) => void peer.send(payload),
    end: () => peer.end(),
    abort: () => peer.abort(),
    received: () => peer.received(),
    closed: async () => {
      const last = await peer.until(
        (f) => f.frame === 'end' || f.frame === 'abort' || f.frame === 'reset',
        3_000,
      );
      return last.frame === 'end' ? 'end' : 'abort';
    },
  };
}

// The test proxy is the subject; the test server is the application side.
bindingConformance({
  name: 'test proxy',
  plugins: [],
  config: (far) => `
name: conformance
bindings:
  app:
    type: test
    kind: server
    routes: [{ when: [{ route: 'in/{id}' }], exit: subject }]
  subject:
    type: test
    kind: proxy
    routes: [{ when: [{ route: 'in/{id}' }], exit: far, with: { id: '\${params.id}' } }]
  far:
    type: test
    kind: client
    options: ${far}
`,
  open: (harness) =>
    appSide(harness.server('app').open({ route: 'in/1' }, { initialWindow: 65_536, autoWindow: true })),
  malformed: async (harness) => {
    const peer = harness.server('app').open({ route: 'not a route' });
    const reset = await peer.next('reset');
    return { error: reset.frame === 'reset' ? reset.reason.code : '' };
  },
  badConfigs: [
    {
      config: `
name: bad
bindings:
  subject: { type: test, kind: proxy, exit: nowhere }
`,
      code: 'TRIB_CONFIG_DANGLING_EXIT',
      pointer: '/bindings/subject/exit',
    },
    {
      config: `
name: bad
bindings:
  subject: { type: test, kind: proxy, exit: far }
  far: { type: test, kind: client, options: { mode: sometimes } }
`,
      code: 'TRIB_CONFIG_SCHEMA',
      pointer: '/bindings/far/options/mode',
    },
  ],
});
