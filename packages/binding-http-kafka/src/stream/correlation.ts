/**
 * Correlation ids of request-reply routes: `<idempotency key or uuid>-<hash of the request>`.
 *
 * The hash covers the method, the request target and the body, so that replaying a request with
 * the same idempotency key and the same content finds the same id (and the reply already given),
 * while reusing a key for a different request does not.
 */
import { createHash } from 'node:crypto';

export function correlationId(key: string, method: string, target: string, body: Uint8Array): string {
  const hash = createHash('sha256');
  // Length-prefixed fields: no two different requests serialise to the same bytes.
  for (const field of [method, target]) {
    const bytes = Buffer.from(field, 'utf8');
    hash.update(`${bytes.byteLength}:`);
    hash.update(bytes);
  }
  hash.update(`${body.byteLength}:`);
  hash.update(body);
  return `${key}-${hash.digest('base64url').slice(0, 22)}`;
}
