import { parseArgs } from 'node:util';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isTributaryError } from '../spi/errors.ts';
import { SPI_VERSION } from '../spi/version.ts';
import { errors } from '../errors.ts';
import { createKernel } from '../lifecycle/kernel.ts';
import type { Gateway } from '../lifecycle/gateway.ts';
import { Reloader } from '../lifecycle/watch.ts';
import { formatIssues } from '../config/index.ts';
import { describePlugins, findAppDir } from '../discovery/index.ts';

const HELP = `tributary — an event-driven API gateway for Apache Kafka

Usage:
  tributary start -c <file> [--watch]   start a gateway; SIGHUP or --watch reloads the file
  tributary validate -c <file>          check a configuration, print every problem
  tributary schema [-o <file>]          print the configuration JSON Schema of the installed plugins
  tributary plugins                     list installed plugins, their types and SPI compatibility
  tributary --version                   print the kernel and SPI versions

Options:
  -c, --config <file>    configuration file (YAML or JSON); \${{ env.NAME }} is interpolated
      --watch            reload when the configuration file changes
      --app-dir <dir>    where plugins are discovered (default: nearest package.json above the config)
      --deadline <ms>    shutdown/reload drain deadline (default 10000)
  -o, --output <file>    write the schema to a file instead of standard output
  -h, --help             show this help

Exit codes: 0 success, 1 invalid configuration or start failure, 2 usage error.`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

const useColor = (stream: NodeJS.WriteStream) => stream.isTTY && !process.env['NO_COLOR'];

function fail(error: unknown): number {
  if (isTributaryError(error)) {
    if (error.issues.length > 0) {
      process.stderr.write(`${formatIssues(error.issues, { color: useColor(process.stderr) })}\n`);
    } else {
      process.stderr.write(`error ${error.code}: ${error.message}\n`);
      if (error.cause instanceof Error) process.stderr.write(`  caused by: ${error.cause.message}\n`);
    }
    return error.code === errors.TRIB_CLI_USAGE.code ? 2 : 1;
  }
  process.stderr.write(`error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return 1;
}

async function start(
  file: string,
  options: { watch: boolean; appDir: string | undefined; deadline: number },
): Promise<number> {
  // Signals first: a SIGTERM that arrives before a handler exists would kill the process outright.
  let signalled: ((signal: string) => void) | undefined;
  let pending: string | undefined;
  const onSignal = (signal: string) => (signalled ? signalled(signal) : (pending ??= signal));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  // The gateway runs until a signal, even when no binding holds a socket open.
  const keepAlive = setInterval(() => undefined, 1 << 30);

  const kernel = createKernel(options.appDir === undefined ? {} : { appDir: options.appDir });
  let gateway: Gateway;
  try {
    gateway = await kernel.start(file);
  } catch (error) {
    clearInterval(keepAlive);
    return fail(error);
  }

  const reloader = new Reloader(kernel, gateway, file, {
    deadlineMs: options.deadline,
    onReload: ({ restarted, updated }) =>
      process.stderr.write(
        `tributary: reloaded ${file} (restarted: ${restarted.join(', ') || 'none'}; updated: ${updated.join(', ') || 'none'})\n`,
      ),
    onError: (error) => {
      process.stderr.write(`tributary: ${errors.TRIB_LIFECYCLE_RELOAD_FAILED({ file }).message}\n`);
      fail(error);
    },
  });
  process.on('SIGHUP', () => void reloader.reload());
  if (options.watch) reloader.watch();

  return new Promise<number>((done) => {
    let stopping = false;
    signalled = (signal: string) => {
      if (stopping) return;
      stopping = true;
      process.stderr.write(`tributary: ${signal}, stopping (deadline ${options.deadline} ms)\n`);
      void reloader
        .close()
        .then(() => gateway.stop(options.deadline))
        .finally(() => clearInterval(keepAlive))
        .then(
          () => done(0),
          (error: unknown) => done(fail(error)),
        );
    };
    process.stderr.write(`tributary: gateway "${gateway.configuration.name}" ready\n`);
    if (pending !== undefined) signalled(pending);
  });
}

export async function main(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        watch: { type: 'boolean' },
        'app-dir': { type: 'string' },
        deadline: { type: 'string' },
        output: { type: 'string', short: 'o' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (error) {
    return fail(errors.TRIB_CLI_USAGE({ reason: `${(error as Error).message}\n\n${HELP}` }));
  }
  const { values, positionals } = parsed;
  const command = positionals[0];
  if (values.version) {
    process.stdout.write(`tributary ${version()} (SPI ${SPI_VERSION}, node ${process.versions.node})\n`);
    return 0;
  }
  if (values.help || command === undefined || command === 'help') {
    process.stdout.write(`${HELP}\n`);
    return command === undefined && !values.help ? 2 : 0;
  }
  const deadline = values.deadline === undefined ? 10_000 : Number(values.deadline);
  if (!Number.isFinite(deadline) || deadline < 0) {
    return fail(
      errors.TRIB_CLI_USAGE({
        reason: `--deadline must be a number of milliseconds, got "${values.deadline}"`,
      }),
    );
  }
  const appDir = values['app-dir'] === undefined ? undefined : resolve(values['app-dir']);
  const needConfig = () => {
    if (values.config === undefined) {
      throw errors.TRIB_CLI_USAGE({ reason: `${command} needs -c <file>\n\n${HELP}` });
    }
    return values.config;
  };
  try {
    switch (command) {
      case 'start':
        return await start(needConfig(), { watch: values.watch ?? false, appDir, deadline });
      case 'validate': {
        const file = needConfig();
        const { config } = await createKernel(appDir === undefined ? {} : { appDir }).load(file);
        process.stdout.write(
          `${file}: valid (${Object.keys(config.bindings).length} bindings, ${Object.keys(config.guards).length} guards, ${Object.keys(config.catalogs).length} catalogs)\n`,
        );
        return 0;
      }
      case 'schema': {
        const dir =
          appDir ?? findAppDir(values.config === undefined ? process.cwd() : dirname(resolve(values.config)));
        const schema = await createKernel({ appDir: dir }).schema(dir);
        const text = `${JSON.stringify(schema, null, 2)}\n`;
        if (values.output === undefined) process.stdout.write(text);
        else writeFileSync(values.output, text);
        return 0;
      }
      case 'plugins': {
        const dir = appDir ?? findAppDir(process.cwd());
        process.stdout.write(`${describePlugins(await createKernel({ appDir: dir }).installed(dir))}\n`);
        return 0;
      }
      default:
        return fail(errors.TRIB_CLI_USAGE({ reason: `unknown command "${command}"\n\n${HELP}` }));
    }
  } catch (error) {
    return fail(error);
  }
}

const argv = process.argv.slice(2);
process.exitCode = await main(argv);
// A stopped gateway lingers a moment with its signal handlers in place: wrappers (npm, a
// supervisor, the bin script) forward the same Ctrl-C a little later, and a signal landing
// while Node tears down would kill the process instead of letting it exit cleanly. Exiting
// explicitly also means a plugin that leaves a handle open cannot keep the process alive.
if (argv[0] === 'start') setTimeout(() => process.exit(), 250);
