// CLI for the test OAuth server: `node tools/oauth/cli.ts start [options]`.
import { parseArgs } from '../kafka/util.ts';
import { DEFAULT_OAUTH_CLIENTS, startOAuthServer, type OAuthClientSpec } from './server.ts';

const HELP = `Usage: node tools/oauth/cli.ts start [options]

Starts a tiny OAuth 2.0 authorization server on 127.0.0.1 (client credentials grant, RS256 JWT
access tokens, JWKS at /.well-known/jwks.json, OIDC discovery) and stays in the foreground.
Prints "export OAUTH_TOKEN_ENDPOINT=..." lines on stdout; stops on Ctrl-C / SIGTERM.

Options:
  --port P              Port (default: any free one).
  --client ID:SECRET    A client (default gateway:gateway-secret); may be repeated as a
                        comma-separated list: --client a:x,b:y
  --lifetime S          Token lifetime in seconds (default 300).
  --audience A          Default aud claim (default kafka).
  --prefix P            Variable prefix (default OAUTH).
  --json                Print the endpoints as JSON instead of export lines.
`;

const err = (msg: string) => process.stderr.write(`${msg}\n`);

function clientsOf(flag: string | true | undefined): Record<string, OAuthClientSpec> {
  if (typeof flag !== 'string') return { ...DEFAULT_OAUTH_CLIENTS };
  const clients: Record<string, OAuthClientSpec> = {};
  for (const pair of flag.split(',')) {
    const colon = pair.indexOf(':');
    if (colon <= 0) throw new Error(`bad --client "${pair}" (use ID:SECRET)`);
    clients[pair.slice(0, colon)] = { secret: pair.slice(colon + 1) };
  }
  return clients;
}

function numberOf(flag: string | true | undefined, name: string): number | undefined {
  if (flag === undefined) return undefined;
  const n = Number(flag);
  if (typeof flag !== 'string' || !Number.isInteger(n) || n < 0) throw new Error(`bad --${name} "${flag}"`);
  return n;
}

async function main(argv: string[]): Promise<number> {
  const { positional, flags } = parseArgs(argv);
  const cmd = positional[0];
  if (flags.has('help') || cmd !== 'start') {
    process.stdout.write(HELP);
    return flags.has('help') || cmd === 'help' ? 0 : 2;
  }
  const port = numberOf(flags.get('port'), 'port');
  const lifetimeSeconds = numberOf(flags.get('lifetime'), 'lifetime');
  const audience = flags.get('audience');
  const server = await startOAuthServer({
    clients: clientsOf(flags.get('client')),
    ...(port === undefined ? {} : { port }),
    ...(lifetimeSeconds === undefined ? {} : { lifetimeSeconds }),
    ...(typeof audience === 'string' ? { audience } : {}),
    log: err,
  });
  const prefix = flags.get('prefix');
  if (flags.has('json')) process.stdout.write(JSON.stringify(server.info(), null, 2) + '\n');
  else {
    for (const [k, v] of Object.entries(server.env(typeof prefix === 'string' ? prefix : undefined)))
      process.stdout.write(`export ${k}=${v}\n`);
  }
  err('Ctrl-C to stop.');
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  err(`${signal}: stopping the OAuth server`);
  await server.stop();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    err(e instanceof Error ? e.message : String(e));
    process.exit(1);
  },
);
