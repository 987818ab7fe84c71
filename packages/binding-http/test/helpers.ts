// Shared by the binding's tests: a gateway with an `http` server in front of `test` bindings,
// the server's bound address, and real clients (curl, Node's http and http2) to talk to it.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestKernel, type TestHarness } from '@tributary/kernel/testkit';
import { boundAddresses, type HttpBoundAddress } from '../src/index.ts';
import { plugin } from '../src/plugin.ts';
import { ensureCerts, type KafkaCerts } from '../../../tools/kafka/certs.ts';

export const enc = (text: string): Uint8Array => new TextEncoder().encode(text);

/** Starts a gateway on `config` with this plugin and the kernel's test types. */
export function startGateway(config: object): Promise<TestHarness> {
  return createTestKernel({ config, plugins: [plugin], logLevel: 'warn' });
}

/** A gateway named `http-test` with the given bindings (and guards). */
export function gateway(bindings: Record<string, object>, extra: Record<string, object> = {}): object {
  return { name: 'http-test', bindings, ...extra };
}

/** The addresses the `http` server binding `name` listens on. */
export function addresses(harness: TestHarness, name = 'north'): readonly HttpBoundAddress[] {
  const bound = boundAddresses(harness.gateway.binding(name));
  if (bound === undefined) throw new Error(`binding ${name} is not a running http server`);
  return bound;
}

/** The URL of the first (or `index`th) address of server `name`, with `localhost` for TLS. */
export function urlOf(harness: TestHarness, name = 'north', index = 0): string {
  const address = addresses(harness, name)[index];
  if (address === undefined) throw new Error(`no address ${index}`);
  return address.tls ? `https://localhost:${address.port}` : address.url;
}

export function certs(): Promise<KafkaCerts> {
  return ensureCerts();
}

export interface CurlResult {
  /** curl's exit code (0 on a completed transfer). */
  readonly exit: number;
  readonly status: number;
  /** `1.1` or `2`. */
  readonly version: string;
  /** Response headers of the final response, names lower case. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  readonly stderr: string;
}

/** Runs curl with `args`, capturing status, protocol version, headers and body. */
export async function curl(args: readonly string[], input?: Buffer): Promise<CurlResult> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-http-curl-'));
  try {
    const headerFile = join(dir, 'headers');
    const bodyFile = join(dir, 'body');
    const child = spawn(
      'curl',
      ['-sS', '-D', headerFile, '-o', bodyFile, '-w', '%{http_code} %{http_version}', ...args],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdin.end(input);
    const exit = await new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
    const [status = '0', version = ''] = stdout.trim().split(' ');
    const rawHeaders = await readFile(headerFile, 'utf8').catch(() => '');
    // The last block: the final response after any 100 Continue.
    const block =
      rawHeaders
        .trim()
        .split(/\r?\n\r?\n/)
        .at(-1) ?? '';
    const headers: Record<string, string> = {};
    for (const line of block.split(/\r?\n/).slice(1)) {
      const colon = line.indexOf(':');
      if (colon > 0) {
        const name = line.slice(0, colon).trim().toLowerCase();
        const value = line.slice(colon + 1).trim();
        headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
      }
    }
    const body = await readFile(bodyFile).catch(() => Buffer.alloc(0));
    return { exit, status: Number(status), version, headers, body, stderr };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface NodeResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  readonly trailers: NodeJS.Dict<string>;
}

/** One HTTP/1.1 request with Node's client (a fresh connection). */
export function request(
  url: string,
  options: http.RequestOptions & { body?: Buffer | string } = {},
): Promise<NodeResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { agent: false, ...options }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks),
          trailers: res.trailers,
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** One HTTP/2 request (h2c with prior knowledge, or TLS with `ca`) with Node's client. */
export async function request2(
  origin: string,
  headers: http2.OutgoingHttpHeaders,
  body?: Buffer | string,
  connect: http2.SecureClientSessionOptions = {},
): Promise<NodeResponse> {
  const session = http2.connect(origin, connect);
  try {
    return await new Promise<NodeResponse>((resolve, reject) => {
      session.on('error', reject);
      const stream = session.request(headers, { endStream: body === undefined, waitForTrailers: false });
      let status = 0;
      let responseHeaders: http.IncomingHttpHeaders = {};
      let trailers: NodeJS.Dict<string> = {};
      const chunks: Buffer[] = [];
      stream.on('response', (h) => {
        status = Number(h[':status']);
        responseHeaders = h;
      });
      stream.on('trailers', (t) => (trailers = t as NodeJS.Dict<string>));
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () =>
        resolve({ status, headers: responseHeaders, body: Buffer.concat(chunks), trailers }),
      );
      stream.on('error', reject);
      if (body !== undefined) stream.end(body);
    });
  } finally {
    session.close();
  }
}

/** Parses a problem document. */
export function problemOf(body: Buffer): Record<string, unknown> {
  return JSON.parse(body.toString('utf8')) as Record<string, unknown>;
}
