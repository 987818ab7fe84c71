// `npm run example -- <name>`: starts a local Kafka broker (unless KAFKA_BOOTSTRAP is already
// set), creates the topics listed in examples/<name>/topics.json (those missing), and starts the
// gateway on examples/<name>/gateway.yaml, with KAFKA_BOOTSTRAP and the other listener variables
// exported. Ctrl-C stops both.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startKafka, type KafkaHandle } from './kafka/index.ts';
import { ensureTopics, type TopicSpec } from './kafka/topics.ts';
import { ensureCerts } from './kafka/certs.ts';
import { startOAuthServer, type OAuthServerHandle, type StartOAuthServerOptions } from './oauth/server.ts';

/**
 * `examples/<name>/example.json`, optional: what else the example needs besides Kafka.
 * `tls`: certificates for `localhost` (exported as TRIBUTARY_TLS_CERT / _KEY / _CA, files made
 * once with openssl); `oauth`: a local OAuth 2.0 server issuing RS256 JWTs (exported as
 * OAUTH_ISSUER, OAUTH_TOKEN_ENDPOINT, OAUTH_JWKS_URL).
 */
interface ExampleSpec {
  readonly tls?: boolean;
  readonly oauth?: Pick<StartOAuthServerOptions, 'clients' | 'lifetimeSeconds' | 'audience'>;
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const examples = join(root, 'examples');
const name = process.argv[2];

function configOf(example: string): string | undefined {
  for (const candidate of [
    join(examples, example, 'gateway.yaml'),
    join(examples, example, 'app', 'gateway.yaml'),
  ]) {
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

const available = readdirSync(examples).filter((entry) => configOf(entry) !== undefined);
const config = name === undefined ? undefined : configOf(name);
if (config === undefined) {
  process.stderr.write(
    `usage: npm run example -- <name>\n\navailable examples:\n${available.map((e) => `  ${e}`).join('\n')}\n`,
  );
  process.exit(2);
}

let kafka: KafkaHandle | undefined;
const env: NodeJS.ProcessEnv = { ...process.env };
if (env['KAFKA_BOOTSTRAP'] === undefined) {
  process.stderr.write('example: starting a local Kafka broker (jars are fetched once into .cache/)\n');
  kafka = await startKafka({ log: (line) => process.stderr.write(`kafka: ${line}\n`) });
  Object.assign(env, kafka.env());
  process.stderr.write(`example: Kafka ${kafka.version} on ${kafka.bootstrap}\n`);
}

const topicsFile = join(dirname(config), 'topics.json');
const exampleTopics = existsSync(join(examples, name!, 'topics.json'))
  ? join(examples, name!, 'topics.json')
  : existsSync(topicsFile)
    ? topicsFile
    : undefined;
if (exampleTopics !== undefined) {
  const specs = JSON.parse(readFileSync(exampleTopics, 'utf8')) as TopicSpec[];
  await ensureTopics(env['KAFKA_BOOTSTRAP']!, specs);
  process.stderr.write(`example: topics ready: ${specs.map((s) => s.name).join(', ')}\n`);
}
const specFile = join(examples, name!, 'example.json');
const spec: ExampleSpec = existsSync(specFile)
  ? (JSON.parse(readFileSync(specFile, 'utf8')) as ExampleSpec)
  : {};
const exported: Record<string, string> = { KAFKA_BOOTSTRAP: env['KAFKA_BOOTSTRAP']! };
if (spec.tls) {
  const certs = await ensureCerts();
  Object.assign(exported, {
    TRIBUTARY_TLS_CERT: certs.brokerCert,
    TRIBUTARY_TLS_KEY: certs.brokerKey,
    TRIBUTARY_TLS_CA: certs.ca,
  });
}
let oauth: OAuthServerHandle | undefined;
if (spec.oauth) {
  oauth = await startOAuthServer(spec.oauth);
  Object.assign(exported, {
    OAUTH_ISSUER: oauth.issuer,
    OAUTH_TOKEN_ENDPOINT: oauth.tokenEndpoint,
    OAUTH_JWKS_URL: oauth.jwksUrl,
  });
}
Object.assign(env, exported);
process.stderr.write('example: for kcat, curl and tokens in another terminal:\n');
for (const [key, value] of Object.entries(exported)) process.stderr.write(`  export ${key}=${value}\n`);
process.stderr.write(`example: tributary start -c ${relative(root, config)}\n`);
const gateway = spawn(
  process.execPath,
  [join(root, 'packages', 'kernel', 'bin', 'tributary.js'), 'start', '-c', config],
  { cwd: dirname(config), env, stdio: 'inherit' },
);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => gateway.kill(signal));
const code = await new Promise<number>((resolve) => gateway.on('exit', (c) => resolve(c ?? 1)));
await kafka?.stop();
await oauth?.stop();
process.stderr.write(`example: gateway exited with code ${code}\n`);
process.exitCode = code;
