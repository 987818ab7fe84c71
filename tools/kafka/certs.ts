// A private CA, a broker certificate and a client certificate for TLS and mTLS tests, made once
// with openssl into .cache/kafka/certs and reused afterwards.
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CACHE_DIR, populateOnce, runChecked } from './util.ts';

export const CERTS_DIR = path.join(CACHE_DIR, 'kafka', 'certs');

export interface KafkaCerts {
  /** PEM CA certificate that signed the broker and client certificates (trust store for clients). */
  ca: string;
  /** PEM client certificate (CN=tributary-client) for mTLS. */
  clientCert: string;
  /** PEM PKCS#8 private key of the client certificate (unencrypted). */
  clientKey: string;
  /** Client key followed by its certificate: a PEM keystore for Java clients (`ssl.keystore.type=PEM`). */
  clientKeystore: string;
  /** PEM broker certificate (SAN DNS:localhost, IP:127.0.0.1). */
  brokerCert: string;
  /** PEM PKCS#8 broker key (unencrypted). */
  brokerKey: string;
  /** Broker key followed by its certificate chain: the broker's PEM keystore. */
  brokerKeystore: string;
}

export const CERT_FILES: KafkaCerts = {
  ca: path.join(CERTS_DIR, 'ca.crt'),
  clientCert: path.join(CERTS_DIR, 'client.crt'),
  clientKey: path.join(CERTS_DIR, 'client.key'),
  clientKeystore: path.join(CERTS_DIR, 'client-keystore.pem'),
  brokerCert: path.join(CERTS_DIR, 'broker.crt'),
  brokerKey: path.join(CERTS_DIR, 'broker.key'),
  brokerKeystore: path.join(CERTS_DIR, 'broker-keystore.pem'),
};

const DAYS = '3650';

async function genKey(file: string): Promise<void> {
  // genpkey writes PKCS#8 ("BEGIN PRIVATE KEY"), which Kafka's PEM keystore requires.
  await runChecked('openssl', [
    'genpkey',
    '-algorithm',
    'RSA',
    '-pkeyopt',
    'rsa_keygen_bits:2048',
    '-out',
    file,
  ]);
}

async function signLeaf(
  dir: string,
  name: string,
  subject: string,
  extensions: string[],
): Promise<{ key: string; crt: string }> {
  const key = path.join(dir, `${name}.key`);
  const csr = path.join(dir, `${name}.csr`);
  const crt = path.join(dir, `${name}.crt`);
  const ext = path.join(dir, `${name}.ext`);
  await genKey(key);
  await runChecked('openssl', ['req', '-new', '-key', key, '-subj', subject, '-out', csr]);
  await writeFile(ext, extensions.join('\n') + '\n');
  await runChecked('openssl', [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    path.join(dir, 'ca.crt'),
    '-CAkey',
    path.join(dir, 'ca.key'),
    '-CAcreateserial',
    '-days',
    DAYS,
    '-sha256',
    '-extfile',
    ext,
    '-out',
    crt,
  ]);
  return { key, crt };
}

let pending: Promise<KafkaCerts> | undefined;

/** Creates the certificates unless `.cache/kafka/certs` already holds them; returns their paths. */
export function ensureCerts(): Promise<KafkaCerts> {
  pending ??= makeCerts().finally(() => (pending = undefined));
  return pending;
}

async function makeCerts(): Promise<KafkaCerts> {
  const files: string[] = Object.values(CERT_FILES as unknown as Record<string, string>);
  if (files.every((f) => existsSync(f))) return CERT_FILES;
  // Incomplete (made by an older version of this script): start over.
  await rm(CERTS_DIR, { recursive: true, force: true });
  await populateOnce(CERTS_DIR, async (dir) => {
    const caKey = path.join(dir, 'ca.key');
    await genKey(caKey);
    await runChecked('openssl', [
      'req',
      '-x509',
      '-new',
      '-key',
      caKey,
      '-sha256',
      '-days',
      DAYS,
      '-subj',
      '/CN=Tributary Test CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-out',
      path.join(dir, 'ca.crt'),
    ]);
    const broker = await signLeaf(dir, 'broker', '/CN=localhost', [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth,clientAuth',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ]);
    const client = await signLeaf(dir, 'client', '/CN=tributary-client', [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=clientAuth',
    ]);
    const keystore = [
      await readFile(broker.key, 'utf8'),
      await readFile(broker.crt, 'utf8'),
      await readFile(path.join(dir, 'ca.crt'), 'utf8'),
    ].join('');
    await writeFile(path.join(dir, 'broker-keystore.pem'), keystore);
    const clientKeystore = [await readFile(client.key, 'utf8'), await readFile(client.crt, 'utf8')].join('');
    await writeFile(path.join(dir, 'client-keystore.pem'), clientKeystore);
  });
  return CERT_FILES;
}
