// CLI for the Apicurio Registry launcher: `node tools/apicurio/cli.ts fetch|start`.
import { parseArgs } from '../kafka/util.ts';
import { APICURIO_VERSION, fetchApicurio, findJava, startApicurio } from './index.ts';

const HELP = `Usage: node tools/apicurio/cli.ts <command> [options]

Commands:
  fetch [--version V]   Download apicurio-registry-app-V-all.tar.gz from Maven Central and unpack it
                        into .cache/apicurio/V (default ${APICURIO_VERSION}).
  start [--version V]   Start the registry (in-memory storage) on a free 127.0.0.1 port and stay in
                        the foreground; prints "export APICURIO_URL=..." lines; Ctrl-C stops it.
        [--json]        Print the connection info as JSON instead.

Needs Java 21+ (found through APICURIO_JAVA_HOME, JAVA_HOME, PATH or the system JVM folder).
`;

const err = (msg: string) => process.stderr.write(`${msg}\n`);

async function main(argv: string[]): Promise<number> {
  const { positional, flags } = parseArgs(argv);
  const cmd = positional[0];
  if (flags.has('help') || cmd === undefined || cmd === 'help') {
    process.stdout.write(HELP);
    return cmd === undefined && !flags.has('help') ? 2 : 0;
  }
  const v = flags.get('version');
  const version = typeof v === 'string' ? v : APICURIO_VERSION;
  switch (cmd) {
    case 'fetch': {
      const launcher = await fetchApicurio(version, err);
      const java = await findJava();
      err(`Apicurio Registry ${version} ready (${launcher}); will run on Java ${java.version} (${java.bin})`);
      return 0;
    }
    case 'start': {
      const reg = await startApicurio({ version, log: err });
      if (flags.has('json')) {
        process.stdout.write(JSON.stringify(reg.info(), null, 2) + '\n');
      } else {
        for (const [k, val] of Object.entries(reg.env())) process.stdout.write(`export ${k}=${val}\n`);
      }
      err(`log: ${reg.logFile}\nCtrl-C to stop.`);
      const signalled = new Promise<NodeJS.Signals>((resolve) => {
        process.once('SIGINT', () => resolve('SIGINT'));
        process.once('SIGTERM', () => resolve('SIGTERM'));
        process.once('SIGHUP', () => resolve('SIGHUP'));
      });
      const first = await Promise.race([signalled, reg.exited]);
      if (typeof first === 'string') {
        err(`${first}: stopping Apicurio ...`);
        await reg.stop();
        return 0;
      }
      err(`Apicurio exited unexpectedly (${first.code ?? first.signal}); see ${reg.logFile}`);
      return 1;
    }
    default:
      err(`unknown command "${cmd}"\n`);
      process.stderr.write(HELP);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    err(e instanceof Error ? e.message : String(e));
    process.exit(1);
  },
);
