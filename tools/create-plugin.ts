/**
 * Scaffolds an official plugin package:
 *
 *     node tools/create-plugin.ts <binding|guard|catalog|model> <type> [--dir packages]
 *
 * creates `<dir>/<kind>-<type>/` (`@tributary/<kind>-<type>`, config `type: <type>`) with the
 * layout every plugin has (STYLE.md): `src/plugin.ts`, `src/index.ts`, `src/config/schema.ts`,
 * `src/stream/` (a small working implementation: a pass-through proxy, a static-token guard, an
 * inline catalog or a pass-through model), `src/errors.ts`, `src/events.ts`, a test, a README,
 * the kernel's tsconfig and script shapes, and a changeset in `<dir>/../.changeset/`. When
 * `<dir>/../docs/errors.md` exists, the new error codes get their section there. Nothing is ever
 * overwritten: an existing package folder or changeset stops the scaffolder.
 *
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as prettier from 'prettier';
import { SPI_VERSION } from '../packages/kernel/src/spi/version.ts';

export type PluginKind = 'binding' | 'guard' | 'catalog' | 'model';
export const PLUGIN_KINDS: readonly PluginKind[] = ['binding', 'guard', 'catalog', 'model'];

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const KERNEL_DIR = join(REPO_ROOT, 'packages', 'kernel');

const USAGE = `Usage: node tools/create-plugin.ts <binding|guard|catalog|model> <type> [--dir packages]

Creates <dir>/<kind>-<type>/, the package @tributary/<kind>-<type> providing the <kind> type
<type>, with a working minimal implementation, a test, a README and a changeset.

  <type>        lower-case words joined by "-", e.g. http-kafka (the config's \`type:\`)
  --dir <dir>   where packages live (default: packages/ of this repository)
`;

/** A problem with the request (bad arguments, existing files): reported without a stack. */
export class ScaffoldError extends Error {
  readonly usage: boolean;
  constructor(message: string, usage = false) {
    super(message);
    this.name = 'ScaffoldError';
    this.usage = usage;
  }
}

export interface CreatePluginOptions {
  readonly kind: PluginKind;
  readonly type: string;
  /** The packages folder; default `packages/` of this repository. */
  readonly dir?: string;
}

export interface CreatedPlugin {
  /** The package name, `@tributary/<kind>-<type>`. */
  readonly pkg: string;
  /** The new package's folder. */
  readonly dir: string;
  /** Every file written, absolute, including the changeset. */
  readonly files: readonly string[];
  /** docs/errors.md when a section was added to it. */
  readonly errorsDoc: string | undefined;
}

/** Creates the package. Throws {@link ScaffoldError} for bad input or existing files. */
export async function createPlugin(options: CreatePluginOptions): Promise<CreatedPlugin> {
  if (!PLUGIN_KINDS.includes(options.kind)) {
    throw new ScaffoldError(
      `unknown kind "${String(options.kind)}" (expected ${PLUGIN_KINDS.join(', ')})`,
      true,
    );
  }
  if (!/^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/.test(options.type)) {
    throw new ScaffoldError(
      `type "${options.type}" must be lower-case words joined by "-", e.g. http-kafka`,
      true,
    );
  }
  const packagesDir = resolve(options.dir ?? join(REPO_ROOT, 'packages'));
  const root = dirname(packagesDir);
  const names = namesFor(options.kind, options.type);
  const dir = join(packagesDir, names.folder);
  const changeset = join(root, '.changeset', `add-${names.folder}.md`);
  for (const path of [dir, changeset]) {
    if (existsSync(path)) throw new ScaffoldError(`${path} already exists; the scaffolder never overwrites`);
  }

  const kernel = JSON.parse(readFileSync(join(KERNEL_DIR, 'package.json'), 'utf8')) as KernelPackage;
  const template = TEMPLATES[options.kind](names);
  const files: Record<string, string> = {
    'package.json': packageJson(names, kernel, relative(root, dir)),
    'tsconfig.json': readFileSync(join(KERNEL_DIR, 'tsconfig.json'), 'utf8'),
    'tsconfig.build.json': readFileSync(join(KERNEL_DIR, 'tsconfig.build.json'), 'utf8'),
    'README.md': readme(names, template),
    'src/plugin.ts': template.plugin,
    'src/index.ts': template.index,
    'src/config/schema.ts': template.schema,
    [`src/stream/${names.type}-${names.role}.ts`]: template.stream,
    'src/errors.ts': errorsModule(names, template.errors),
    'src/events.ts': eventsModule(names, template.events),
    [`test/${names.type}.test.ts`]: template.test,
  };

  // Formatted with the repository's Prettier settings, wherever the package is created.
  const style = (await prettier.resolveConfig(join(REPO_ROOT, 'package.json'))) ?? {};
  const format = (file: string, text: string) => prettier.format(text, { ...style, filepath: file });

  const written: string[] = [];
  await mkdir(packagesDir, { recursive: true });
  await mkdir(dir); // fails if it appeared meanwhile: still no overwriting
  for (const [path, text] of Object.entries(files)) {
    const file = join(dir, path);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, await format(file, text), { flag: 'wx' });
    written.push(file);
  }
  await mkdir(dirname(changeset), { recursive: true });
  await writeFile(changeset, await format(changeset, changesetText(names, template)), { flag: 'wx' });
  written.push(changeset);

  const doc = join(root, 'docs', 'errors.md');
  let errorsDoc: string | undefined;
  if (existsSync(doc)) {
    const text = await readFile(doc, 'utf8');
    if (!text.includes(`\n## ${names.pkg}\n`)) {
      await appendFile(doc, errorsDocSection(names, template.errors, text.endsWith('\n') ? '' : '\n'));
      errorsDoc = doc;
    }
  }
  return { pkg: names.pkg, dir, files: written, errorsDoc };
}

/** The command line; returns the exit code (0 done, 1 refused, 2 usage). */
export async function main(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: { dir: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (error) {
    process.stderr.write(`create-plugin: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (parsed.values.help === true) {
    process.stdout.write(USAGE);
    return 0;
  }
  const [kind, type, ...extra] = parsed.positionals;
  if (kind === undefined || type === undefined || extra.length > 0) {
    process.stderr.write(USAGE);
    return 2;
  }
  try {
    const created = await createPlugin({
      kind: kind as PluginKind,
      type,
      ...(parsed.values.dir === undefined ? {} : { dir: parsed.values.dir }),
    });
    const cwd = process.cwd();
    process.stdout.write(`Created ${created.pkg} in ${relative(cwd, created.dir) || '.'}:\n`);
    for (const file of created.files) process.stdout.write(`  ${relative(cwd, file)}\n`);
    if (created.errorsDoc)
      process.stdout.write(`Added its error codes to ${relative(cwd, created.errorsDoc)}.\n`);
    process.stdout.write(
      `\nNext: run \`npm install\` at the repository root to link the package, then\n` +
        `  npx vitest run --project unit ${relative(cwd, join(created.dir, 'test'))}\n`,
    );
    return 0;
  } catch (error) {
    if (error instanceof ScaffoldError) {
      process.stderr.write(`create-plugin: ${error.message}\n${error.usage ? `\n${USAGE}` : ''}`);
      return error.usage ? 2 : 1;
    }
    throw error;
  }
}

// --- names ---

interface Names {
  readonly kind: PluginKind;
  readonly type: string;
  /** `binding-http-kafka` */
  readonly folder: string;
  /** `@tributary/binding-http-kafka` */
  readonly pkg: string;
  /** `bindings`: the manifest's key. */
  readonly provided: string;
  /** `HttpKafka` */
  readonly pascal: string;
  /** `httpKafka` */
  readonly camel: string;
  /** `http_kafka`: binding names in examples. */
  readonly snake: string;
  /** `HTTP_KAFKA`: the error code area. */
  readonly area: string;
  /** What the implementation is: `proxy`, `guard`, `catalog`, `model`. */
  readonly role: string;
}

function namesFor(kind: PluginKind, type: string): Names {
  const words = type.split('-');
  const pascal = words.map((word) => word[0]!.toUpperCase() + word.slice(1)).join('');
  return {
    kind,
    type,
    folder: `${kind}-${type}`,
    pkg: `@tributary/${kind}-${type}`,
    provided: `${kind}s`,
    pascal,
    camel: pascal[0]!.toLowerCase() + pascal.slice(1),
    snake: type.replaceAll('-', '_'),
    area: type.toUpperCase().replaceAll('-', '_'),
    role: kind === 'binding' ? 'proxy' : kind,
  };
}

// --- shared files ---

interface KernelPackage {
  readonly version: string;
  readonly engines?: Readonly<Record<string, string>>;
  readonly repository?: { readonly type?: string; readonly url?: string };
  readonly scripts?: Readonly<Record<string, string>>;
}

function packageJson(names: Names, kernel: KernelPackage, directory: string): string {
  const entry = (name: string) => ({
    '@tributary/source': `./src/${name}.ts`,
    types: `./dist/${name}.d.ts`,
    default: `./dist/${name}.js`,
  });
  const json = {
    name: names.pkg,
    version: '0.0.0',
    description: `Tributary ${names.type} ${names.kind}: ${DESCRIPTIONS[names.kind]}`,
    license: 'Apache-2.0',
    type: 'module',
    engines: kernel.engines ?? { node: '>=22.22.0' },
    repository: { type: kernel.repository?.type ?? 'git', url: kernel.repository?.url ?? '', directory },
    exports: { '.': entry('index'), './plugin': entry('plugin'), './package.json': './package.json' },
    files: ['dist', '!dist/**/*.test.*'],
    // The kernel's scripts, pointed at this package's folder.
    scripts: Object.fromEntries(
      Object.entries(kernel.scripts ?? {}).map(([name, script]) => [
        name,
        script.replaceAll('packages/kernel', `packages/${names.folder}`),
      ]),
    ),
    tributary: { spi: `^${SPI_VERSION.split('.')[0]!}.0.0`, provides: { [names.provided]: [names.type] } },
    peerDependencies: { '@tributary/kernel': `^${kernel.version}` },
    devDependencies: { '@tributary/kernel': `^${kernel.version}` },
  };
  return `${JSON.stringify(json, null, 2)}\n`;
}

const DESCRIPTIONS: Record<PluginKind, string> = {
  binding: 'a proxy relaying streams to its exit',
  guard: 'authenticates static bearer tokens',
  catalog: 'schemas listed inline in the configuration',
  model: 'a pass-through model with a size limit',
};

interface ErrorDoc {
  readonly name: string;
  readonly message: string;
  readonly status?: number;
  readonly meaning: string;
  readonly todo: string;
}

interface EventDoc {
  /** The key in `EVENTS` and the factory's name. */
  readonly key: string;
  readonly factory: string;
  readonly name: string;
  readonly level: 'error' | 'warn' | 'info';
  /** Parameters of the factory, as TypeScript. */
  readonly params: string;
  /** The message expression (uses the params). */
  readonly message: string;
  /** The detail object literal. */
  readonly detail: string;
  readonly when: string;
}

interface Template {
  readonly summary: string;
  readonly configExample: string;
  readonly options: readonly (readonly [name: string, type: string, fallback: string, meaning: string])[];
  readonly errors: readonly ErrorDoc[];
  readonly events: readonly EventDoc[];
  readonly plugin: string;
  readonly index: string;
  readonly schema: string;
  readonly stream: string;
  readonly test: string;
}

function errorsModule(names: Names, errors: readonly ErrorDoc[]): string {
  const specs = errors
    .map((e) => {
      const status = e.status === undefined ? '' : `, status: ${e.status}`;
      return `  /** ${e.meaning} */\n  TRIB_${names.area}_${e.name}: { message: ${quote(e.message)}${status} },`;
    })
    .join('\n');
  return `import { defineErrors } from '@tributary/kernel';

/** The error codes of ${names.pkg}; each has a section in docs/errors.md. */
export const errors = defineErrors({
${specs}
});
`;
}

function eventsModule(names: Names, events: readonly EventDoc[]): string {
  const keys = events.map((e) => `  ${e.key}: ${quote(e.name)},`).join('\n');
  const factories = events
    .map(
      (e) => `
/** ${e.when} */
export function ${e.factory}(${e.params}): DiagnosticEvent {
  return { name: EVENTS.${e.key}, level: ${quote(e.level)}, message: ${e.message}, detail: ${e.detail} };
}
`,
    )
    .join('');
  return `/**
 * Diagnostic events of ${names.pkg}, emitted on state transitions only (never per
 * message). The names are stable and listed in README.md.
 */
import type { DiagnosticEvent } from '@tributary/kernel';

export const EVENTS = {
${keys}
} as const;
${factories}`;
}

function readme(names: Names, template: Template): string {
  const table = (head: string, rows: readonly (readonly string[])[]) =>
    [
      head,
      head.replace(/[^|]+/g, (cell) => '-'.repeat(Math.max(3, cell.length))),
      ...rows.map((row) => `| ${row.join(' | ')} |`),
    ].join('\n');
  const options = table(
    '| option | type | default | meaning |',
    template.options.map(([name, type, fallback, meaning]) => [`\`${name}\``, type, fallback, meaning]),
  );
  const errors = table(
    '| code | status | when |',
    template.errors.map((e) => [
      `\`TRIB_${names.area}_${e.name}\``,
      e.status === undefined ? '—' : String(e.status),
      e.meaning,
    ]),
  );
  const events = table(
    '| event | level | when |',
    template.events.map((e) => [`\`${e.name}\``, e.level, e.when]),
  );
  return `# ${names.pkg}

${template.summary}

Install it next to \`@tributary/kernel\`; the kernel discovers it from the application's
\`package.json\` (its \`tributary\` field) and imports it when a configuration uses
\`${names.type}\`.

\`\`\`sh
npm install ${names.pkg}
\`\`\`

## Configuration

\`\`\`yaml
${template.configExample}\`\`\`

${options}

## Errors

${errors}

Details: [docs/errors.md](../../docs/errors.md).

## Events

${events}

## Layout

- \`src/plugin.ts\`: the plugin object the kernel imports (\`${names.pkg}/plugin\`).
- \`src/index.ts\`: types for other packages.
- \`src/config/schema.ts\`: option types and their JSON Schema.
- \`src/stream/\`: the implementation.
- \`src/errors.ts\`, \`src/events.ts\`: error codes and diagnostic events.

## Development

\`\`\`sh
npx vitest run --project unit packages/${names.folder}
npx nx run-many -t typecheck lint build --projects ${names.pkg}
\`\`\`
`;
}

function changesetText(names: Names, template: Template): string {
  return `---
'${names.pkg}': minor
---

Add ${names.pkg}. ${template.summary.replace(/\s+/g, ' ')}
`;
}

function errorsDocSection(names: Names, errors: readonly ErrorDoc[], lead: string): string {
  const sections = errors
    .map(
      (e) => `### TRIB_${names.area}_${e.name}

- **Message:** \`${e.message}\`
- **Status:** ${e.status === undefined ? 'none' : String(e.status)}
- **Meaning:** ${e.meaning}
- **What to do:** ${e.todo}
`,
    )
    .join('\n');
  return `${lead}\n## ${names.pkg}\n\n${sections}`;
}

const quote = (text: string): string => `'${text.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;

// --- per-kind templates ---

const TEMPLATES: Record<PluginKind, (names: Names) => Template> = {
  binding: bindingTemplate,
  guard: guardTemplate,
  catalog: catalogTemplate,
  model: modelTemplate,
};

function bindingTemplate(n: Names): Template {
  const P = n.pascal;
  const AREA = n.area;
  return {
    summary: `The \`${n.type}\` binding: a \`proxy\` that relays every stream it accepts to its route's exit, frames, extensions and credit unchanged, keeping messages whole.`,
    configExample: `bindings:
  north:
    type: test
    kind: server
    exit: ${n.snake}0
  ${n.snake}0:
    type: ${n.type}
    kind: proxy
    options:
      maxMessageBytes: 65536
    exit: south
  south:
    type: test
    kind: client
`,
    options: [
      ['window', 'integer', '65536', 'credit granted to each sender up front, in bytes'],
      [
        'maxMessageBytes',
        'integer',
        '1048576',
        `larger messages close the stream with \`TRIB_${AREA}_MESSAGE_TOO_LARGE\``,
      ],
    ],
    errors: [
      {
        name: 'MESSAGE_TOO_LARGE',
        message: 'message exceeds {limit} bytes',
        status: 413,
        meaning: `A message relayed by the \`${n.type}\` binding was larger than its \`maxMessageBytes\` option; both streams were closed with this reason.`,
        todo: 'Send smaller messages, or raise `maxMessageBytes` on the binding.',
      },
    ],
    events: [
      {
        key: 'started',
        factory: 'bindingStarted',
        name: `${n.type}.binding.started`,
        level: 'info',
        params: 'binding: string',
        message: `'${n.type} binding "' + binding + '" started'`,
        detail: '{ binding }',
        when: 'The binding started: it accepts streams from now on.',
      },
    ],
    plugin: `/**
 * The module the kernel imports (\`${n.pkg}/plugin\`). It describes the plugin only: its name,
 * the SPI range it was written against and the types it provides, which must match the
 * \`tributary\` field of package.json.
 */
import { definePlugin, type BindingFactory } from '@tributary/kernel';
import { optionsSchema, whenSchema, type ${P}Options, type ${P}When } from './config/schema.ts';
import { ${P}Proxy } from './stream/${n.type}-proxy.ts';

const ${n.camel}: BindingFactory<${P}Options, ${P}When> = {
  kinds: ['proxy'],
  schema: { options: optionsSchema, when: whenSchema, requiresExit: true },
  create: (ctx) => new ${P}Proxy(ctx),
};

export const plugin = definePlugin({
  name: '${n.pkg}',
  spi: '^${SPI_VERSION.split('.')[0]!}.0.0',
  bindings: { '${n.type}': ${n.camel} },
});

export default plugin;
`,
    index: `/**
 * \`${n.pkg}\`: what other packages may use. The kernel imports \`./plugin\`, not this module.
 *
 * @module
 */
export type { ${P}Options, ${P}When } from './config/schema.ts';
export { errors } from './errors.ts';
export { EVENTS } from './events.ts';
`,
    schema: `/**
 * Configuration of \`type: ${n.type}\` bindings: option types, their JSON Schema fragments (the
 * kernel composes them into the configuration schema) and the route condition matcher.
 */
import type { JsonSchema, RouteParams } from '@tributary/kernel';

/** Credit granted to each sender up front, in bytes, unless \`window\` says otherwise. */
export const DEFAULT_WINDOW = 65_536;

/** The largest message relayed, in bytes, unless \`maxMessageBytes\` says otherwise. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1_048_576;

/** \`bindings.<name>.options\` of a \`${n.type}\` proxy. */
export interface ${P}Options {
  /** Credit granted to each sender up front, in bytes. */
  readonly window?: number;
  /** Messages larger than this close both streams with \`TRIB_${AREA}_MESSAGE_TOO_LARGE\`. */
  readonly maxMessageBytes?: number;
}

/** One \`when\` entry. \`${n.type}\` routes have no conditions: they differ by guards only. */
export type ${P}When = Readonly<Record<string, never>>;

export const optionsSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    window: {
      type: 'integer',
      minimum: 1,
      description: 'Credit granted to each sender up front, in bytes (default ' + String(DEFAULT_WINDOW) + ').',
    },
    maxMessageBytes: {
      type: 'integer',
      minimum: 1,
      description:
        'Largest message relayed, in bytes (default ' + String(DEFAULT_MAX_MESSAGE_BYTES) + '); larger ones close the stream.',
    },
  },
};

export const whenSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  description: '${n.type} routes have no conditions.',
};

/** Every stream matches a \`${n.type}\` condition; routes are chosen by their guards. */
export function matchAll(_when: ${P}When): RouteParams {
  return {};
}
`,
    stream: `/**
 * The \`${n.type}\` proxy: every stream it accepts is opened onwards to its route's exit, and
 * every frame is relayed unchanged in both directions, credit included.
 *
 * The *net* side is the stream this binding accepted (towards the client), the *app* side the
 * stream it opened (towards the exit).
 */
import { MessageAssembler } from '@tributary/kernel';
import type {
  BindingContext,
  BindingHandler,
  DataFrame,
  Extension,
  Inbound,
  Outbound,
  Stream,
  StreamError,
  StreamHandler,
} from '@tributary/kernel';
import { DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_WINDOW, matchAll, type ${P}Options, type ${P}When } from '../config/schema.ts';
import { errors } from '../errors.ts';
import { bindingStarted } from '../events.ts';

/**
 * One direction of a relayed stream: whole messages read from \`from\` are written to \`to\`.
 *
 * Fragments are joined so that each message leaves as one message with its extension. Credit
 * goes back to the sender as frames arrive while \`to\` keeps up; once \`to.data()\` says stop, the
 * credit of what arrives is owed until \`to\` may be written again. So \`to\` holds at most one
 * message plus the window however slow its reader is, and \`maxMessageBytes\` bounds the message.
 */
class Relay {
  private readonly from: Inbound;
  private readonly to: Outbound;
  private readonly maxMessageBytes: number;
  private readonly onTooLarge: (reason: StreamError) => void;
  private readonly messages = new MessageAssembler();
  /** Bytes of the message being joined. */
  private joined = 0;
  /** True from \`to.data()\` returning false until \`to\` signals credit again. */
  private blocked = false;
  private owed = 0;

  constructor(from: Inbound, to: Outbound, maxMessageBytes: number, onTooLarge: (reason: StreamError) => void) {
    this.from = from;
    this.to = to;
    this.maxMessageBytes = maxMessageBytes;
    this.onTooLarge = onTooLarge;
    this.to.onCredit(() => this.onCredit());
  }

  onData(frame: DataFrame): void {
    this.joined = (frame.first ? 0 : this.joined) + frame.payload.byteLength;
    if (this.joined > this.maxMessageBytes) {
      const error = errors.TRIB_${AREA}_MESSAGE_TOO_LARGE({ limit: this.maxMessageBytes });
      this.onTooLarge({ code: error.code, message: error.message });
      return;
    }
    const message = this.messages.push(frame);
    if (message && !this.to.data(message.payload, message.ext)) this.blocked = true;
    if (this.blocked) this.owed += frame.credit;
    else this.from.window(frame.credit);
  }

  private onCredit(): void {
    this.blocked = false;
    const credit = this.owed;
    this.owed = 0;
    this.from.window(credit);
  }
}

/** One accepted stream and the stream opened for it. */
class ${P}Stream {
  private readonly net: Stream;
  private readonly app: Stream;
  private readonly toApp: Relay;
  private readonly toNet: Relay;

  constructor(ctx: BindingContext<${P}Options, ${P}When>, net: Stream, begin: Extension | undefined, exit: string) {
    const window = ctx.config.options.window ?? DEFAULT_WINDOW;
    const maxMessageBytes = ctx.config.options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.net = net;
    this.app = ctx.open(
      exit,
      begin === undefined ? { authorization: net.authorization } : { ext: begin, authorization: net.authorization },
      {
        onBegin: (ext) => this.onAppBegin(ext),
        onData: (frame) => this.onAppData(frame),
        onFlush: (ext) => this.onAppFlush(ext),
        onEnd: (ext) => this.onAppEnd(ext),
        onAbort: (reason) => this.onAppAbort(reason),
        onReset: (reason) => this.onAppReset(reason),
      },
    );
    const close = (reason: StreamError) => this.close(reason);
    this.toApp = new Relay(this.net.in, this.app.out, maxMessageBytes, close);
    this.toNet = new Relay(this.app.in, this.net.out, maxMessageBytes, close);
    this.net.in.window(window);
    this.app.in.window(window);
  }

  /** Frames of the accepted stream: its initial half, and the reset of its reply half. */
  readonly netHandler: StreamHandler = {
    onData: (frame) => this.onNetData(frame),
    onFlush: (ext) => this.onNetFlush(ext),
    onEnd: (ext) => this.onNetEnd(ext),
    onAbort: (reason) => this.onNetAbort(reason),
    onReset: (reason) => this.onNetReset(reason),
  };

  private close(reason: StreamError): void {
    this.net.close(reason);
    this.app.close(reason);
  }

  private onNetData(frame: DataFrame): void {
    this.toApp.onData(frame);
  }

  private onNetFlush(ext: Extension | undefined): void {
    this.app.out.flush(ext);
  }

  private onNetEnd(ext: Extension | undefined): void {
    this.app.out.end(ext);
  }

  private onNetAbort(reason: StreamError): void {
    this.app.out.abort(reason);
  }

  private onNetReset(reason: StreamError): void {
    this.app.in.reset(reason);
  }

  private onAppBegin(ext: Extension | undefined): void {
    this.net.out.begin(ext);
  }

  private onAppData(frame: DataFrame): void {
    this.toNet.onData(frame);
  }

  private onAppFlush(ext: Extension | undefined): void {
    this.net.out.flush(ext);
  }

  private onAppEnd(ext: Extension | undefined): void {
    this.net.out.end(ext);
  }

  private onAppAbort(reason: StreamError): void {
    this.net.out.abort(reason);
  }

  private onAppReset(reason: StreamError): void {
    this.net.in.reset(reason);
  }
}

export class ${P}Proxy implements BindingHandler {
  private readonly ctx: BindingContext<${P}Options, ${P}When>;

  constructor(ctx: BindingContext<${P}Options, ${P}When>) {
    this.ctx = ctx;
  }

  start(): Promise<void> {
    this.ctx.events.emit(bindingStarted(this.ctx.name));
    return Promise.resolve();
  }

  accept(net: Stream, begin: Extension | undefined): StreamHandler | null {
    // The first route the stream's guard sessions allow, else the default exit. Refusing lets
    // the kernel reset the opener (TRIB_STREAM_REFUSED).
    const resolution = this.ctx.resolveRoute(matchAll, net.authorization);
    if (!resolution.ok) return null;
    return new ${P}Stream(this.ctx, net, begin, resolution.route.exit).netHandler;
  }
}
`,
    test: `import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, test } from 'vitest';
import { createTestKernel, type TestHarness } from '@tributary/kernel/testkit';
import { plugin } from '../src/plugin.ts';
import { EVENTS } from '../src/events.ts';

const manifest = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  tributary: { provides: Record<string, string[]> };
}).tributary;

/** north (test server) → ${n.snake}0 (the binding under test) → south (test client, echoes). */
function config(options: Record<string, unknown> = {}) {
  return {
    name: '${n.type}-test',
    bindings: {
      north: { type: 'test', kind: 'server', exit: '${n.snake}0' },
      ${n.snake}0: { type: '${n.type}', kind: 'proxy', options, exit: 'south' },
      south: { type: 'test', kind: 'client', options: { mode: 'echo' } },
    },
  };
}

describe('${n.type} binding', () => {
  let harness: TestHarness | undefined;
  afterEach(async () => {
    await harness?.stop();
    harness = undefined;
  });

  test('relays a message to its exit and the reply back', async () => {
    harness = await createTestKernel({ plugins: [plugin], config: config() });
    const client = harness.server('north').open({}, { initialWindow: 65_536 });
    client.send('hello');
    client.end();
    await client.next('end');
    expect(client.text()).toBe('hello');
    expect(harness.events.map((event) => event.name)).toContain(EVENTS.started);
  });

  test('closes the stream when a message exceeds maxMessageBytes', async () => {
    harness = await createTestKernel({ plugins: [plugin], config: config({ maxMessageBytes: 4 }) });
    const client = harness.server('north').open({}, { initialWindow: 65_536 });
    client.send('too long');
    await expect(client.next('reset')).resolves.toMatchObject({ reason: { code: 'TRIB_${AREA}_MESSAGE_TOO_LARGE' } });
  });

  test('provides exactly what its package.json declares', () => {
    expect(Object.keys(plugin.bindings)).toEqual(manifest.provides['bindings']);
  });
});
`,
  };
}

function guardTemplate(n: Names): Template {
  const P = n.pascal;
  const AREA = n.area;
  return {
    summary: `The \`${n.type}\` guard: authenticates bearer tokens listed in its options, each with an identity, roles and an optional lifetime.`,
    configExample: `guards:
  ${n.snake}0:
    type: ${n.type}
    options:
      tokens:
        - token: \${{ env.API_TOKEN }}
          identity: ci
          roles: [items:write]
          expiresIn: 3600
`,
    options: [
      [
        'tokens',
        'array',
        '—',
        'accepted tokens: `{ token, identity?, roles?, expiresIn? }` (`expiresIn` in seconds); at least one',
      ],
    ],
    errors: [
      {
        name: 'UNKNOWN_TOKEN',
        message: 'guard "{guard}" does not know these credentials',
        status: 401,
        meaning: `The credentials presented to a \`${n.type}\` guard are not one of its configured tokens.`,
        todo: "Present one of the tokens listed under the guard's `tokens` option.",
      },
    ],
    events: [
      {
        key: 'ready',
        factory: 'guardReady',
        name: `${n.type}.guard.ready`,
        level: 'info',
        params: 'guard: string, tokens: number',
        message: `'${n.type} guard "' + guard + '" ready with ' + String(tokens) + ' token(s)'`,
        detail: '{ guard, tokens }',
        when: 'The guard started with its tokens.',
      },
    ],
    plugin: `/**
 * The module the kernel imports (\`${n.pkg}/plugin\`). It describes the plugin only: its name,
 * the SPI range it was written against and the types it provides, which must match the
 * \`tributary\` field of package.json.
 */
import { definePlugin, type GuardFactory } from '@tributary/kernel';
import { optionsSchema, type ${P}Options } from './config/schema.ts';
import { ${P}Guard } from './stream/${n.type}-guard.ts';

const ${n.camel}: GuardFactory<${P}Options> = {
  schema: optionsSchema,
  create: (ctx, config) => new ${P}Guard(ctx, config),
};

export const plugin = definePlugin({
  name: '${n.pkg}',
  spi: '^${SPI_VERSION.split('.')[0]!}.0.0',
  guards: { '${n.type}': ${n.camel} },
});

export default plugin;
`,
    index: `/**
 * \`${n.pkg}\`: what other packages may use. The kernel imports \`./plugin\`, not this module.
 *
 * @module
 */
export type { ${P}Options, ${P}Token } from './config/schema.ts';
export { errors } from './errors.ts';
export { EVENTS } from './events.ts';
`,
    schema: `/**
 * Configuration of \`type: ${n.type}\` guards: option types and their JSON Schema fragment (the
 * kernel composes it into the configuration schema).
 */
import type { JsonSchema } from '@tributary/kernel';

/** One accepted token and the session it opens. */
export interface ${P}Token {
  /** The credentials, e.g. \`\${{ env.API_TOKEN }}\` to keep them out of the file. */
  readonly token: string;
  /** The principal; \`null\` in sessions when absent. */
  readonly identity?: string;
  readonly roles?: readonly string[];
  /** Seconds a session lasts from authorization; sessions never expire when absent. */
  readonly expiresIn?: number;
}

/** \`guards.<name>.options\` of a \`${n.type}\` guard. */
export interface ${P}Options {
  readonly tokens: readonly ${P}Token[];
}

export const optionsSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['tokens'],
  properties: {
    tokens: {
      type: 'array',
      minItems: 1,
      description: 'Accepted tokens, each with the session it opens.',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['token'],
        properties: {
          token: { type: 'string', minLength: 1 },
          identity: { type: 'string' },
          roles: { type: 'array', items: { type: 'string' } },
          expiresIn: { type: 'number', exclusiveMinimum: 0 },
        },
      },
    },
  },
};
`,
    stream: `/**
 * The \`${n.type}\` guard: credentials are compared with the configured tokens by their SHA-256
 * digests, so that lookups take the same time whatever the credentials and the tokens are not
 * kept in the clear.
 */
import { createHash } from 'node:crypto';
import type { GuardConfig, GuardHandler, GuardResult, GuardSession, PluginContext } from '@tributary/kernel';
import type { ${P}Options, ${P}Token } from '../config/schema.ts';
import { errors } from '../errors.ts';
import { guardReady } from '../events.ts';

const digest = (credentials: string): string => createHash('sha256').update(credentials).digest('hex');

class ${P}Session implements GuardSession {
  readonly guard: string;
  readonly identity: string | null;
  readonly attributes: Readonly<Record<string, unknown>> = {};
  readonly roles: ReadonlySet<string>;
  readonly expiresAt: number | null;
  readonly challengeAt: number | null = null;

  constructor(guard: string, token: ${P}Token, now: number) {
    this.guard = guard;
    this.identity = token.identity ?? null;
    this.roles = new Set(token.roles ?? []);
    this.expiresAt = token.expiresIn === undefined ? null : now + token.expiresIn * 1000;
  }

  verify(roles: readonly string[], now = Date.now()): boolean {
    return (this.expiresAt === null || now < this.expiresAt) && roles.every((role) => this.roles.has(role));
  }
}

export class ${P}Guard implements GuardHandler {
  private readonly ctx: PluginContext;
  private readonly name: string;
  /** Tokens by the digest of their text. */
  private readonly tokens: ReadonlyMap<string, ${P}Token>;

  constructor(ctx: PluginContext, config: GuardConfig<${P}Options>) {
    this.ctx = ctx;
    this.name = config.name;
    this.tokens = new Map(config.options.tokens.map((token) => [digest(token.token), token]));
  }

  start(): Promise<void> {
    this.ctx.events.emit(guardReady(this.name, this.tokens.size));
    return Promise.resolve();
  }

  authorize(credentials: string): Promise<GuardResult> {
    const token = this.tokens.get(digest(credentials));
    if (!token) {
      const error = errors.TRIB_${AREA}_UNKNOWN_TOKEN({ guard: this.name });
      return Promise.resolve({ ok: false, failure: { code: error.code, message: error.message, status: 401 } });
    }
    return Promise.resolve({ ok: true, session: new ${P}Session(this.name, token, Date.now()) });
  }

  reauthorize(_session: GuardSession, credentials: string): Promise<GuardResult> {
    return this.authorize(credentials);
  }
}
`,
    test: `import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import type { DiagnosticEvent, GuardHandler, PluginContext } from '@tributary/kernel';
import { plugin } from '../src/plugin.ts';
import { EVENTS } from '../src/events.ts';
import type { ${P}Options } from '../src/config/schema.ts';

const manifest = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  tributary: { provides: Record<string, string[]> };
}).tributary;

async function guard(options: ${P}Options): Promise<{ handler: GuardHandler; events: DiagnosticEvent[] }> {
  const events: DiagnosticEvent[] = [];
  const ctx = { events: { emit: (event: DiagnosticEvent) => events.push(event) } } as unknown as PluginContext;
  const handler = await plugin.guards['${n.type}'].create(ctx, { name: 'g0', type: '${n.type}', options });
  await handler.start?.();
  return { handler, events };
}

describe('${n.type} guard', () => {
  test('opens a session for a known token, with its identity and roles', async () => {
    const { handler, events } = await guard({ tokens: [{ token: 'secret', identity: 'alice', roles: ['read'], expiresIn: 60 }] });
    const result = await handler.authorize('secret');
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.session).toMatchObject({ guard: 'g0', identity: 'alice' });
    expect(result.session.verify(['read'])).toBe(true);
    expect(result.session.verify(['write'])).toBe(false);
    expect(result.session.verify(['read'], Date.now() + 61_000)).toBe(false);
    expect(events.map((event) => event.name)).toEqual([EVENTS.ready]);
  });

  test('refuses unknown credentials with 401', async () => {
    const { handler } = await guard({ tokens: [{ token: 'secret' }] });
    await expect(handler.authorize('guess')).resolves.toEqual({
      ok: false,
      failure: { code: 'TRIB_${AREA}_UNKNOWN_TOKEN', message: 'guard "g0" does not know these credentials', status: 401 },
    });
  });

  test('provides exactly what its package.json declares', () => {
    expect(Object.keys(plugin.guards)).toEqual(manifest.provides['guards']);
  });
});
`,
  };
}

function catalogTemplate(n: Names): Template {
  const P = n.pascal;
  const AREA = n.area;
  return {
    summary: `The \`${n.type}\` catalog: schemas listed inline in the configuration, looked up by id or by subject and version.`,
    configExample: `catalogs:
  ${n.snake}0:
    type: ${n.type}
    options:
      schemas:
        - id: 1
          subject: items-value
          version: 1
          format: json
          text: '{"type": "object"}'
`,
    options: [
      ['schemas', 'array', '—', 'the schemas: `{ id, subject?, version?, format, text }`; ids are unique'],
    ],
    errors: [
      {
        name: 'SCHEMA_NOT_FOUND',
        message: 'catalog "{catalog}" has no schema {ref}',
        status: 404,
        meaning: `A schema was asked of a \`${n.type}\` catalog by an id, or a subject and version, it does not list.`,
        todo: "Add the schema to the catalog's `schemas` option, or fix the reference.",
      },
      {
        name: 'DUPLICATE_ID',
        message: 'schema id {id} is listed more than once',
        meaning: `Two schemas of a \`${n.type}\` catalog have the same \`id\` (a configuration issue).`,
        todo: 'Give every schema of the catalog its own id.',
      },
    ],
    events: [
      {
        key: 'ready',
        factory: 'catalogReady',
        name: `${n.type}.catalog.ready`,
        level: 'info',
        params: 'catalog: string, schemas: number',
        message: `'${n.type} catalog "' + catalog + '" ready with ' + String(schemas) + ' schema(s)'`,
        detail: '{ catalog, schemas }',
        when: 'The catalog started with its schemas.',
      },
    ],
    plugin: `/**
 * The module the kernel imports (\`${n.pkg}/plugin\`). It describes the plugin only: its name,
 * the SPI range it was written against and the types it provides, which must match the
 * \`tributary\` field of package.json.
 */
import { definePlugin, type CatalogFactory, type ConfigIssue } from '@tributary/kernel';
import { optionsSchema, type ${P}Options } from './config/schema.ts';
import { errors } from './errors.ts';
import { ${P}Catalog } from './stream/${n.type}-catalog.ts';

const ${n.camel}: CatalogFactory<${P}Options> = {
  schema: optionsSchema,
  validate(config) {
    const seen = new Set<number>();
    const issues: ConfigIssue[] = [];
    config.options.schemas.forEach((schema, i) => {
      if (seen.has(schema.id)) {
        const error = errors.TRIB_${AREA}_DUPLICATE_ID({ id: schema.id });
        issues.push({
          code: error.code,
          message: error.message,
          pointer: '/catalogs/' + config.name + '/options/schemas/' + String(i) + '/id',
        });
      }
      seen.add(schema.id);
    });
    return issues;
  },
  create: (ctx, config) => new ${P}Catalog(ctx, config),
};

export const plugin = definePlugin({
  name: '${n.pkg}',
  spi: '^${SPI_VERSION.split('.')[0]!}.0.0',
  catalogs: { '${n.type}': ${n.camel} },
});

export default plugin;
`,
    index: `/**
 * \`${n.pkg}\`: what other packages may use. The kernel imports \`./plugin\`, not this module.
 *
 * @module
 */
export type { ${P}Options, ${P}Schema } from './config/schema.ts';
export { errors } from './errors.ts';
export { EVENTS } from './events.ts';
`,
    schema: `/**
 * Configuration of \`type: ${n.type}\` catalogs: option types and their JSON Schema fragment (the
 * kernel composes it into the configuration schema).
 */
import type { JsonSchema } from '@tributary/kernel';

/** One schema held by the catalog. */
export interface ${P}Schema {
  readonly id: number;
  readonly subject?: string;
  readonly version?: number;
  /** e.g. \`avro\`, \`protobuf\`, \`json\`. */
  readonly format: string;
  readonly text: string;
}

/** \`catalogs.<name>.options\` of a \`${n.type}\` catalog. */
export interface ${P}Options {
  readonly schemas: readonly ${P}Schema[];
}

export const optionsSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['schemas'],
  properties: {
    schemas: {
      type: 'array',
      description: 'The schemas of the catalog; ids are unique.',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'format', 'text'],
        properties: {
          id: { type: 'integer', minimum: 0 },
          subject: { type: 'string' },
          version: { type: 'integer', minimum: 1 },
          format: { type: 'string' },
          text: { type: 'string' },
        },
      },
    },
  },
};
`,
    stream: `/**
 * The \`${n.type}\` catalog: everything is in memory from the start, so \`resolve\` and \`lookup\`
 * answer alike and never fail transiently.
 */
import type {
  CatalogConfig,
  CatalogHandler,
  CatalogResult,
  PluginContext,
  SchemaRecord,
  SchemaRef,
} from '@tributary/kernel';
import type { ${P}Options } from '../config/schema.ts';
import { errors } from '../errors.ts';
import { catalogReady } from '../events.ts';

export class ${P}Catalog implements CatalogHandler {
  private readonly ctx: PluginContext;
  private readonly name: string;
  private readonly byId: ReadonlyMap<number, SchemaRecord>;
  /** Per subject, its schemas by ascending version. */
  private readonly bySubject: ReadonlyMap<string, readonly SchemaRecord[]>;

  constructor(ctx: PluginContext, config: CatalogConfig<${P}Options>) {
    this.ctx = ctx;
    this.name = config.name;
    const records: SchemaRecord[] = config.options.schemas.map((schema) => ({ ...schema }));
    this.byId = new Map(records.map((record) => [record.id, record]));
    const bySubject = new Map<string, SchemaRecord[]>();
    for (const record of records) {
      if (record.subject === undefined) continue;
      bySubject.set(record.subject, [...(bySubject.get(record.subject) ?? []), record]);
    }
    for (const list of bySubject.values()) list.sort((a, b) => (a.version ?? 0) - (b.version ?? 0));
    this.bySubject = bySubject;
  }

  start(): Promise<void> {
    this.ctx.events.emit(catalogReady(this.name, this.byId.size));
    return Promise.resolve();
  }

  lookup(ref: SchemaRef): SchemaRecord | undefined {
    if ('id' in ref) return this.byId.get(ref.id);
    const versions = this.bySubject.get(ref.subject) ?? [];
    if (ref.version === undefined || ref.version === 'latest') return versions.at(-1);
    return versions.find((record) => record.version === ref.version);
  }

  resolve(ref: SchemaRef): Promise<CatalogResult> {
    const schema = this.lookup(ref);
    if (schema) return Promise.resolve({ ok: true, schema });
    const error = errors.TRIB_${AREA}_SCHEMA_NOT_FOUND({ catalog: this.name, ref: JSON.stringify(ref) });
    return Promise.resolve({ ok: false, failure: { code: error.code, message: error.message, transient: false } });
  }
}
`,
    test: `import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import type { CatalogHandler, DiagnosticEvent, PluginContext } from '@tributary/kernel';
import { plugin } from '../src/plugin.ts';
import { EVENTS } from '../src/events.ts';
import type { ${P}Options } from '../src/config/schema.ts';

const manifest = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  tributary: { provides: Record<string, string[]> };
}).tributary;

const factory = plugin.catalogs['${n.type}'];
const options: ${P}Options = {
  schemas: [
    { id: 1, subject: 'items-value', version: 1, format: 'json', text: '{}' },
    { id: 2, subject: 'items-value', version: 2, format: 'json', text: '{"type":"object"}' },
  ],
};

async function catalog(): Promise<{ handler: CatalogHandler; events: DiagnosticEvent[] }> {
  const events: DiagnosticEvent[] = [];
  const ctx = { events: { emit: (event: DiagnosticEvent) => events.push(event) } } as unknown as PluginContext;
  const handler = await factory.create(ctx, { name: 'c0', type: '${n.type}', options });
  await handler.start?.();
  return { handler, events };
}

describe('${n.type} catalog', () => {
  test('finds schemas by id and by subject, latest by default', async () => {
    const { handler, events } = await catalog();
    expect(handler.lookup({ id: 1 })?.text).toBe('{}');
    expect(handler.lookup({ subject: 'items-value' })?.id).toBe(2);
    expect(handler.lookup({ subject: 'items-value', version: 1 })?.id).toBe(1);
    await expect(handler.resolve({ id: 2 })).resolves.toMatchObject({ ok: true, schema: { version: 2 } });
    expect(events.map((event) => event.name)).toEqual([EVENTS.ready]);
  });

  test('reports a missing schema as a definitive failure', async () => {
    const { handler } = await catalog();
    await expect(handler.resolve({ subject: 'other' })).resolves.toMatchObject({
      ok: false,
      failure: { code: 'TRIB_${AREA}_SCHEMA_NOT_FOUND', transient: false },
    });
  });

  test('refuses duplicate ids at load time, pointing at the second one', () => {
    const issues = factory.validate?.({ name: 'c0', type: '${n.type}', options: { schemas: [options.schemas[0]!, options.schemas[0]!] } });
    expect(issues).toEqual([
      expect.objectContaining({ code: 'TRIB_${AREA}_DUPLICATE_ID', pointer: '/catalogs/c0/options/schemas/1/id' }),
    ]);
  });

  test('provides exactly what its package.json declares', () => {
    expect(Object.keys(plugin.catalogs)).toEqual(manifest.provides['catalogs']);
  });
});
`,
  };
}

function modelTemplate(n: Names): Template {
  const P = n.pascal;
  const AREA = n.area;
  return {
    summary: `The \`${n.type}\` model: passes payloads through unchanged in both directions, refusing those larger than its \`maxBytes\`.`,
    configExample: `bindings:
  items_api:
    type: http-kafka
    kind: proxy
    options:
      value:
        model: ${n.type}
        maxBytes: 65536
`,
    options: [
      ['model', `\`'${n.type}'\``, '—', 'selects this model'],
      ['maxBytes', 'integer', 'no limit', `larger payloads fail with \`TRIB_${AREA}_PAYLOAD_TOO_LARGE\``],
    ],
    errors: [
      {
        name: 'PAYLOAD_TOO_LARGE',
        message: 'payload of {size} bytes exceeds {limit} bytes',
        status: 413,
        meaning: `A payload checked by a \`${n.type}\` model was larger than its \`maxBytes\`.`,
        todo: 'Send a smaller payload, or raise `maxBytes` where the model is configured.',
      },
    ],
    events: [
      {
        key: 'ready',
        factory: 'modelReady',
        name: `${n.type}.model.ready`,
        level: 'info',
        params: 'maxBytes: number | undefined',
        message: `'${n.type} model ready (' + (maxBytes === undefined ? 'no size limit' : 'at most ' + String(maxBytes) + ' bytes') + ')'`,
        detail: '{ maxBytes: maxBytes ?? null }',
        when: 'A model handler started.',
      },
    ],
    plugin: `/**
 * The module the kernel imports (\`${n.pkg}/plugin\`). It describes the plugin only: its name,
 * the SPI range it was written against and the types it provides, which must match the
 * \`tributary\` field of package.json.
 */
import { definePlugin, type ModelFactory } from '@tributary/kernel';
import { configSchema, type ${P}ModelConfig } from './config/schema.ts';
import { ${P}Model } from './stream/${n.type}-model.ts';

const ${n.camel}: ModelFactory<${P}ModelConfig> = {
  schema: configSchema,
  create: (ctx, config) => new ${P}Model(ctx, config),
};

export const plugin = definePlugin({
  name: '${n.pkg}',
  spi: '^${SPI_VERSION.split('.')[0]!}.0.0',
  models: { '${n.type}': ${n.camel} },
});

export default plugin;
`,
    index: `/**
 * \`${n.pkg}\`: what other packages may use. The kernel imports \`./plugin\`, not this module.
 *
 * @module
 */
export type { ${P}ModelConfig } from './config/schema.ts';
export { errors } from './errors.ts';
export { EVENTS } from './events.ts';
`,
    schema: `/**
 * Configuration of \`model: ${n.type}\`: the inline model object and its JSON Schema fragment
 * (the kernel composes it into the configuration schema).
 */
import type { JsonSchema, ModelConfig } from '@tributary/kernel';

/** An inline \`{ model: ${n.type}, … }\` object. */
export interface ${P}ModelConfig extends ModelConfig {
  readonly model: '${n.type}';
  /** Payloads larger than this fail with \`TRIB_${AREA}_PAYLOAD_TOO_LARGE\`; no limit when absent. */
  readonly maxBytes?: number;
}

export const configSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['model'],
  properties: {
    model: { const: '${n.type}' },
    maxBytes: { type: 'integer', minimum: 1, description: 'Largest payload accepted, in bytes.' },
  },
};
`,
    stream: `/**
 * The \`${n.type}\` model: payloads pass unchanged in both directions; only their size is checked.
 */
import type { ModelContext, ModelHandler, ModelResult } from '@tributary/kernel';
import type { ${P}ModelConfig } from '../config/schema.ts';
import { errors } from '../errors.ts';
import { modelReady } from '../events.ts';

export class ${P}Model implements ModelHandler {
  readonly contentType = 'application/octet-stream';
  private readonly ctx: ModelContext;
  private readonly maxBytes: number | undefined;

  constructor(ctx: ModelContext, config: ${P}ModelConfig) {
    this.ctx = ctx;
    this.maxBytes = config.maxBytes;
  }

  start(): Promise<void> {
    this.ctx.events.emit(modelReady(this.maxBytes));
    return Promise.resolve();
  }

  validate(payload: Uint8Array): ModelResult<void> {
    if (this.maxBytes !== undefined && payload.byteLength > this.maxBytes) {
      const error = errors.TRIB_${AREA}_PAYLOAD_TOO_LARGE({ size: payload.byteLength, limit: this.maxBytes });
      return { ok: false, failure: { code: error.code, message: error.message } };
    }
    return { ok: true, value: undefined };
  }

  encode(payload: Uint8Array): ModelResult<Uint8Array> {
    return this.pass(payload);
  }

  decode(payload: Uint8Array): ModelResult<Uint8Array> {
    return this.pass(payload);
  }

  private pass(payload: Uint8Array): ModelResult<Uint8Array> {
    const checked = this.validate(payload);
    return checked.ok ? { ok: true, value: payload } : checked;
  }
}
`,
    test: `import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import type { DiagnosticEvent, ModelContext } from '@tributary/kernel';
import { plugin } from '../src/plugin.ts';
import { EVENTS } from '../src/events.ts';

const manifest = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  tributary: { provides: Record<string, string[]> };
}).tributary;

const events: DiagnosticEvent[] = [];
const ctx = { events: { emit: (event: DiagnosticEvent) => events.push(event) } } as unknown as ModelContext;
const bytes = (text: string) => new TextEncoder().encode(text);

describe('${n.type} model', () => {
  test('passes payloads through unchanged', async () => {
    const model = plugin.models['${n.type}'].create(ctx, { model: '${n.type}' });
    await model.start?.();
    expect(model.encode?.(bytes('{"a":1}'))).toEqual({ ok: true, value: bytes('{"a":1}') });
    expect(model.decode?.(bytes('raw'))).toEqual({ ok: true, value: bytes('raw') });
    expect(events.map((event) => event.name)).toContain(EVENTS.ready);
  });

  test('refuses payloads larger than maxBytes', () => {
    const model = plugin.models['${n.type}'].create(ctx, { model: '${n.type}', maxBytes: 2 });
    expect(model.validate(bytes('abc'))).toEqual({
      ok: false,
      failure: { code: 'TRIB_${AREA}_PAYLOAD_TOO_LARGE', message: 'payload of 3 bytes exceeds 2 bytes' },
    });
    expect(model.validate(bytes('ab')).ok).toBe(true);
  });

  test('provides exactly what its package.json declares', () => {
    expect(Object.keys(plugin.models)).toEqual(manifest.provides['models']);
  });
});
`,
  };
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
