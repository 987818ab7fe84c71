/**
 * One listening address of an `http` server: a Node HTTP/1.1 server (plain or TLS) that owns
 * the port, with HTTP/2 connections handed to the binding's shared HTTP/2 server.
 *
 * - Over TLS, ALPN picks the protocol (`h2`, else HTTP/1.1; RFC 9113 §3.2).
 * - On plaintext ports the first bytes decide: the HTTP/2 connection preface
 *   (`PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`, RFC 9113 §3.4) means h2c with prior knowledge, anything
 *   else is HTTP/1.1. The bytes read are put back before the socket is handed over.
 *
 * The HTTP/1.1 server keeps owning the port so that Node's own request, header and keep-alive
 * timeouts and its connection tracking work as usual.
 *
 * @module
 */
import http from 'node:http';
import https from 'node:https';
import type http2 from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { HttpListenOptions } from '../config/schema.ts';
import type { HttpBoundAddress } from '../index.ts';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

export interface ListenerOptions {
  readonly listen: HttpListenOptions;
  /** Node TLS options (key, cert, ca, client authentication) for TLS listeners. */
  readonly tls: https.ServerOptions | undefined;
  readonly http1: http.ServerOptions;
  readonly keepAliveTimeout: number;
  /** Where HTTP/2 connections go; HTTP/1.1 only when undefined. */
  readonly http2: http2.Http2Server | undefined;
  readonly onRequest: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  readonly onCheckContinue: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  readonly onClientError: (error: Error & { code?: string }, socket: Socket) => void;
}

export type BoundAddress = HttpBoundAddress;

export class Listener {
  readonly server: http.Server;
  private readonly options: ListenerOptions;
  private closed: Promise<void> | undefined;
  /** Plaintext connections whose protocol is not known yet. */
  private readonly sniffing = new Set<Socket>();

  constructor(options: ListenerOptions) {
    this.options = options;
    const h1 =
      options.tls === undefined
        ? http.createServer(options.http1)
        : https.createServer({
            ...options.http1,
            ...options.tls,
            ALPNProtocols: options.http2 === undefined ? ['http/1.1'] : ['h2', 'http/1.1'],
          });
    h1.keepAliveTimeout = options.keepAliveTimeout;
    h1.on('request', options.onRequest);
    h1.on('checkContinue', options.onCheckContinue);
    h1.on('clientError', options.onClientError);
    const h2 = options.http2;
    if (h2 !== undefined) {
      // Take over the HTTP/1.1 server's connection listener; call it for HTTP/1.1 connections.
      const event = options.tls === undefined ? 'connection' : 'secureConnection';
      const [http1Listener] = h1.listeners(event) as ((socket: Socket) => void)[];
      if (http1Listener !== undefined) {
        h1.removeListener(event, http1Listener);
        if (options.tls === undefined) {
          h1.on(event, (socket: Socket) => {
            this.sniffing.add(socket);
            sniff(socket, h1, http1Listener, h2, () => this.sniffing.delete(socket));
          });
        } else {
          h1.on(event, (socket: TLSSocket) => {
            if (socket.alpnProtocol === 'h2') h2.emit('connection', socket);
            else http1Listener.call(h1, socket);
          });
        }
      }
    }
    this.server = h1;
  }

  /** Binds the address; rejects with the system error (EADDRINUSE…). */
  listen(): Promise<BoundAddress> {
    const { host, port } = this.options.listen;
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      this.server.once('error', onError);
      this.server.listen({ port, ...(host === undefined ? {} : { host }) }, () => {
        this.server.off('error', onError);
        resolve(this.address());
      });
    });
  }

  address(): BoundAddress {
    const info = this.server.address() as AddressInfo;
    const tls = this.options.tls !== undefined;
    const host = info.address;
    const shown = host.includes(':') ? `[${host}]` : host;
    return { host, port: info.port, tls, url: `${tls ? 'https' : 'http'}://${shown}:${info.port}` };
  }

  /** Stops accepting connections and closes idle keep-alive ones. Resolves once all are gone. */
  close(): Promise<void> {
    this.closed ??= new Promise((resolve) => {
      if (!this.server.listening) {
        resolve();
        return;
      }
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
    });
    return this.closed;
  }

  /** Destroys every HTTP/1.1 connection still open. */
  destroyConnections(): void {
    this.server.closeAllConnections();
    for (const socket of this.sniffing) socket.destroy();
  }
}

/** Reads until the preface is seen or ruled out, puts the bytes back, hands the socket over. */
function sniff(
  socket: Socket,
  h1: http.Server,
  http1Listener: (socket: Socket) => void,
  h2: http2.Http2Server,
  settled: () => void,
): void {
  let seen = Buffer.alloc(0);
  const onReadable = () => {
    let chunk: Buffer | null;
    while ((chunk = socket.read() as Buffer | null) !== null) seen = Buffer.concat([seen, chunk]);
    const n = Math.min(seen.length, PREFACE.length);
    const prefix = seen.subarray(0, n).equals(PREFACE.subarray(0, n));
    if (prefix && n < PREFACE.length) return;
    done();
    socket.unshift(seen);
    if (prefix) h2.emit('connection', socket);
    else http1Listener.call(h1, socket);
  };
  const onClose = () => done();
  const done = () => {
    socket.off('readable', onReadable);
    socket.off('close', onClose);
    socket.off('error', onClose);
    clearTimeout(timer);
    settled();
  };
  // A connection that sends nothing is dropped after the headers timeout, as HTTP/1.1 would.
  const timer = setTimeout(() => socket.destroy(), h1.headersTimeout || 60_000);
  timer.unref();
  socket.on('readable', onReadable);
  socket.once('close', onClose);
  socket.once('error', onClose);
}
