// CLI for the Kafka launcher: `node tools/kafka/cli.ts fetch|start|versions`.
import { startKafka } from './broker.ts';
import { ensureCerts } from './certs.ts';
import { KAFKA_VERSIONS, fetchKafka, resolveKafkaVersion } from './fetch.ts';
import { parseArgs } from './util.ts';

const HELP = `Usage: node tools/kafka/cli.ts <command> [options]

Commands:
  fetch [--version V]   Download the broker jars from Maven Central into .cache/kafka/<version>/libs
                        (both ${KAFKA_VERSIONS.current} and ${KAFKA_VERSIONS.compat} unless --version is given)
                        and create the test certificates.
  start [--version V]   Start a single-node KRaft broker on 127.0.0.1 and stay in the foreground.
                        Prints "export KAFKA_BOOTSTRAP=..." lines for every listener on stdout;
                        stops cleanly on Ctrl-C / SIGTERM.
        [--prefix P]    Variable prefix (default KAFKA).
        [--json]        Print the connection info as JSON instead of export lines.
  versions              Print the known versions.

V is current (${KAFKA_VERSIONS.current}, default), compat (${KAFKA_VERSIONS.compat}) or an explicit x.y.z.
`;

function shellQuote(v: string): string {
  return /^[\w@%+=:,./-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`;
}

const err = (msg: string) => process.stderr.write(`${msg}\n`);

async function main(argv: string[]): Promise<number> {
  const { positional, flags } = parseArgs(argv);
  const cmd = positional[0];
  if (flags.has('help') || cmd === undefined || cmd === 'help') {
    process.stdout.write(HELP);
    return cmd === undefined && !flags.has('help') ? 2 : 0;
  }
  const versionFlag = flags.get('version');
  const version = typeof versionFlag === 'string' ? versionFlag : undefined;
  switch (cmd) {
    case 'versions':
      process.stdout.write(`current ${KAFKA_VERSIONS.current}\ncompat ${KAFKA_VERSIONS.compat}\n`);
      return 0;
    case 'fetch': {
      const versions = version
        ? [resolveKafkaVersion(version)]
        : [KAFKA_VERSIONS.current, KAFKA_VERSIONS.compat];
      for (const v of versions) await fetchKafka(v, err);
      await ensureCerts();
      err(`Kafka ${versions.join(', ')} ready in the cache`);
      return 0;
    }
    case 'start': {
      const prefixFlag = flags.get('prefix');
      const kafka = await startKafka({ version: resolveKafkaVersion(version), log: err, keepRunDir: false });
      if (flags.has('json')) {
        process.stdout.write(JSON.stringify(kafka.info(), null, 2) + '\n');
      } else {
        const env = kafka.env(typeof prefixFlag === 'string' ? prefixFlag : 'KAFKA');
        for (const [k, v] of Object.entries(env)) process.stdout.write(`export ${k}=${shellQuote(v)}\n`);
      }
      err(`broker log: ${kafka.logFile}\nCtrl-C to stop.`);
      const signalled = new Promise<NodeJS.Signals>((resolve) => {
        process.once('SIGINT', () => resolve('SIGINT'));
        process.once('SIGTERM', () => resolve('SIGTERM'));
        process.once('SIGHUP', () => resolve('SIGHUP'));
      });
      const first = await Promise.race([signalled, kafka.exited]);
      if (typeof first === 'string') {
        err(`${first}: stopping Kafka ...`);
        await kafka.stop();
        return 0;
      }
      err(`Kafka exited unexpectedly (${first.code ?? first.signal}); see ${kafka.logFile}`);
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
