/**
 * `@tributary/kernel/testkit`: what first- and third-party plugins test with.
 *
 * - `createTestKernel()` starts a gateway on a config, with handles on its `test` bindings;
 * - `ScriptedPeer` drives one side of a stream and records what it receives;
 * - the `test` binding (server / proxy / client), guard, catalog and model;
 * - `bindingConformance()` (from `@tributary/kernel/testkit/conformance`, which needs vitest)
 *   checks a binding against the stream contract.
 *
 * @module
 */
export { createTestKernel, TestHarness } from './harness.ts';
export type { TestKernelOptions } from './harness.ts';
export { ScriptedPeer } from './peer.ts';
export type { FrameKind, RecordedFrame, ScriptedPeerOptions } from './peer.ts';
export { matchRoute, testSession, TestClient, TestProxy, TestServer } from './types.ts';
export type {
  TestBeginEx,
  TestClientOptions,
  TestGuardOptions,
  TestGuardOutbound,
  TestWhen,
} from './types.ts';
