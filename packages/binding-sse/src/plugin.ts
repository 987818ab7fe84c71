/**
 * The module the kernel imports (`@tributary/binding-sse/plugin`): the `sse` server, serving
 * Server-Sent Events behind an `http` server binding.
 */
import { definePlugin, type BindingFactory } from '@tributary/kernel';
import { optionsSchema, validate, whenSchema, type SseOptions, type SseWhen } from './config/schema.ts';
import { SseServer } from './stream/server.ts';

const sse: BindingFactory<SseOptions, SseWhen> = {
  kinds: ['server'],
  schema: { options: optionsSchema, when: whenSchema, requiresExit: true },
  validate,
  create: (ctx) => new SseServer(ctx),
};

export const plugin = definePlugin({
  name: '@tributary/binding-sse',
  spi: '^1.0.0',
  bindings: { sse },
});

export default plugin;
