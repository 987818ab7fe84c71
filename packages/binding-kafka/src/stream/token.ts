/**
 * Progress tokens: the per-partition position of a fetch stream, as a short URL-safe string that
 * a client presents to any gateway instance to continue exactly after the last record it saw
 * (DESIGN.md §4, "Resume tokens"). It is the HTTP `ETag`, the SSE `id:` and the gRPC message id,
 * so it must be safe in a URL, a header value and an SSE field without escaping.
 *
 * ## Format, version 1
 *
 * ```text
 * token   = body [ "~" etag ]
 * body    = base64url( payload [ mac ] )       RFC 4648 §5, no padding, canonical (unused bits 0)
 * payload = version:u8 (= 1)  flags:u8  count:varint  entry{count}
 * entry   = gap:varint  offset:varint          sorted by partition, ascending
 * mac     = HMAC-SHA256(key, etagLength:u8 ‖ etag ‖ payload), first 12 bytes   (RFC 2104)
 * etag    = 1*255( ALPHA / DIGIT / "-" / "." / "_" )
 * ```
 *
 * - `varint` is unsigned LEB128, minimal (no trailing `0x80…00` padding): 7 bits per byte, low
 *   group first, high bit = more bytes follow.
 * - `flags` bit 0 = signed (a `mac` follows the entries); every other bit must be 0.
 * - `count` is at most {@link MAX_TOKEN_PARTITIONS}. The first entry's `gap` is its partition;
 *   each later one is `partition − previous partition − 1`, so partitions are strictly increasing
 *   by construction. Partitions are Kafka's int32 (0…2³¹−1); offsets are the *next* offset to read,
 *   0…2⁶³−1.
 * - `~` cannot occur in base64url, so it separates the optional application etag, which is kept
 *   readable and restricted to URL-safe characters other than `~`.
 *
 * A single partition at offset 1 000 000 is 7 bytes, 10 characters; 12 partitions at offsets
 * around 10⁹ are 75 bytes, 100 characters; a signature adds 16 characters.
 *
 * ## Signing
 *
 * When a key is configured the gateway signs every token, and decoding requires a valid
 * signature: unsigned tokens are refused, and so are tokens whose payload, signature or etag was
 * changed (the MAC covers the etag too). A gateway **without** a key refuses signed tokens rather
 * than accepting them unchecked: a signature it cannot verify means the instances of a deployment
 * disagree about keys, and silently accepting would hide that until it mattered. Key rotation is
 * supported by decoding with several keys (a token signed by any of them is accepted) while
 * encoding with the new one. The MAC does not bind a token to a topic: a token is a position, and
 * callers must check that its partitions belong to the topic they resume.
 *
 * ## Errors
 *
 * {@link decodeToken} never throws for any input string: garbage yields `{ ok: false, reason }`,
 * and memory used is bounded by {@link MAX_TOKEN_LENGTH}. Encoding throws `RangeError` for values
 * no token can hold (a negative offset, a partition beyond int32, an invalid etag), and both
 * directions throw it for a key shorter than 16 bytes: those are programming or configuration
 * errors, not client input.
 *
 * @module
 */
import { hash, timingSafeEqual } from 'node:crypto';

/** The first byte of every token this module writes. */
export const TOKEN_VERSION = 1;
/** Most partitions a token may carry. */
export const MAX_TOKEN_PARTITIONS = 10_000;
/** Longest application etag. */
export const MAX_ETAG_LENGTH = 255;
/** Shortest signing key accepted (bytes). */
export const MIN_TOKEN_KEY_BYTES = 16;

const MAC_BYTES = 12;
const FLAG_SIGNED = 0x01;
const MAX_PARTITION = 0x7fff_ffff;
const MAX_OFFSET = 0x7fff_ffff_ffff_ffffn;
const MAX_PARTITION_VARINT = 5; // 31 bits
const MAX_OFFSET_VARINT = 9; // 63 bits
const MAX_COUNT_VARINT = 2; // 10 000 < 2¹⁴
const MAX_PAYLOAD_BYTES =
  2 + MAX_COUNT_VARINT + MAX_TOKEN_PARTITIONS * (MAX_PARTITION_VARINT + MAX_OFFSET_VARINT);
/** Longest token string {@link decodeToken} looks at; longer input is refused unread. */
export const MAX_TOKEN_LENGTH = Math.ceil(((MAX_PAYLOAD_BYTES + MAC_BYTES) * 4) / 3) + 1 + MAX_ETAG_LENGTH;

const EMPTY = Buffer.alloc(0);
const ETAG = /^[A-Za-z0-9._-]{1,255}$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** Where a stream stands: for each partition, the **next** offset to read. */
export interface Progress {
  readonly offsets: ReadonlyMap<number, bigint>;
  /** Application etag carried after the position (URL-safe characters, see the module doc). */
  readonly etag?: string | undefined;
}

/**
 * A signing key, or for decoding several (key rotation: a token signed with any of them is
 * accepted). Encoding signs with the key itself, or the first of several. Keys must not be
 * mutated after first use (their HMAC pads are cached per key object).
 */
export type TokenKeys = Uint8Array | readonly Uint8Array[];

export type DecodedToken =
  | { readonly ok: true; readonly offsets: Map<number, bigint>; readonly etag: string | undefined }
  | { readonly ok: false; readonly reason: string };

/** True when `etag` can ride in a token: 1–255 of `A–Z a–z 0–9 - . _`. */
export function isTokenEtag(etag: string): boolean {
  return ETAG.test(etag);
}

/** Encodes `progress` (signed when `key` is given). Throws `RangeError` for unencodable values. */
export function encodeToken(progress: Progress, key?: TokenKeys): string {
  return new TokenEncoder(progress.offsets, key, progress.etag).token();
}

/** `offsets` with `partition` moved to `next`, as a new map (the input is not changed). */
export function advance(
  offsets: ReadonlyMap<number, bigint>,
  partition: number,
  next: bigint,
): Map<number, bigint> {
  checkPartition(partition);
  checkOffset(next);
  const result = new Map(offsets);
  result.set(partition, next);
  return result;
}

/**
 * The position of one fetch stream, re-encoded cheaply after every record.
 *
 * It keeps the token's bytes in one buffer and remembers where each partition's offset varint
 * sits: {@link update} rewrites that partition's varint in place (only when a varint changes
 * length — at 2⁷, 2¹⁴, … — or a partition appears is the buffer laid out again), and
 * {@link token} signs (when keyed) and base64url-encodes the buffer natively, caching the result
 * until the next change. Signing keeps the SHA-256 state at every 64-byte block boundary of the
 * MAC input, so a token re-hashes only from the block of the first changed byte. Base64 runs
 * over the whole buffer because a partition's bytes do not fall on 3-byte boundaries; at a few
 * hundred bytes one native call costs less than assembling cached string pieces would.
 * Produces exactly what {@link encodeToken} produces for the same progress.
 *
 * Not safe for concurrent use from several workers (it is a plain object; JS is single-threaded
 * per isolate).
 */
export class TokenEncoder {
  readonly #key: PreparedKey | undefined;
  /** Partitions ascending, and their next offsets. */
  readonly #partitions: number[] = [];
  readonly #offsets: bigint[] = [];
  /** Per index: where its offset varint starts in #buf, and how long it is. */
  #offsetAt: number[] = [];
  #offsetLength: number[] = [];
  #buf: Buffer = EMPTY;
  /** The base64url input is #buf[#start, #end + mac). The MAC message is #buf[0, #end). */
  #start = 0;
  #end = 0;
  /** SHA-256 state after the ipad block and after each whole block of the MAC message. */
  #midstates = new Int32Array(0);
  /** Whole blocks of the MAC message whose end state in #midstates is current. */
  #hashed = 0;
  #etag: string | undefined;
  #suffix = '';
  #layoutDirty = true;
  #cached: string | undefined;

  /**
   * @param offsets initial next offsets (copied)
   * @param key signing key (with several, the first signs); without one, tokens are unsigned
   * @param etag application etag, see {@link TokenEncoder.etag}
   */
  constructor(offsets?: ReadonlyMap<number, bigint>, key?: TokenKeys, etag?: string) {
    const signing = key === undefined ? undefined : signingKey(key);
    this.#key = signing === undefined ? undefined : prepareKey(signing);
    if (etag !== undefined) this.etag = etag;
    if (offsets !== undefined) {
      if (offsets.size > MAX_TOKEN_PARTITIONS) {
        throw new RangeError(`a token holds at most ${MAX_TOKEN_PARTITIONS} partitions`);
      }
      const partitions = this.#partitions;
      let sorted = true;
      offsets.forEach((next, partition) => {
        checkPartition(partition);
        checkOffset(next);
        if (partitions.length > 0 && partitions[partitions.length - 1]! > partition) sorted = false;
        partitions.push(partition);
        this.#offsets.push(next);
      });
      if (!sorted) {
        partitions.sort((x, y) => x - y);
        for (let i = 0; i < partitions.length; i++) this.#offsets[i] = offsets.get(partitions[i]!)!;
      }
    }
  }

  /** The application etag carried by the token (undefined for none). */
  get etag(): string | undefined {
    return this.#etag;
  }

  set etag(etag: string | undefined) {
    if (etag !== undefined && !ETAG.test(etag)) {
      throw new RangeError(`token etag must be 1-${MAX_ETAG_LENGTH} of A-Z a-z 0-9 - . _`);
    }
    if (etag === this.#etag) return;
    this.#etag = etag;
    this.#suffix = etag === undefined ? '' : `~${etag}`;
    this.#cached = undefined;
    // The MAC input starts with the etag, so a signed layout moves.
    if (this.#key !== undefined) this.#layoutDirty = true;
  }

  /** Number of partitions tracked. */
  get size(): number {
    return this.#partitions.length;
  }

  /** The next offset of `partition`, if tracked. */
  get(partition: number): bigint | undefined {
    const slot = this.#slot(partition);
    return slot === undefined ? undefined : this.#offsets[slot];
  }

  /** A copy of the current offsets. */
  offsets(): Map<number, bigint> {
    const result = new Map<number, bigint>();
    for (let i = 0; i < this.#partitions.length; i++) result.set(this.#partitions[i]!, this.#offsets[i]!);
    return result;
  }

  /** Records that `partition` will next be read from `next` (adding the partition if new). */
  update(partition: number, next: bigint): void {
    const slot = this.#slot(partition);
    if (slot === undefined) {
      checkPartition(partition);
      checkOffset(next);
      this.#insert(partition, next);
      return;
    }
    if (this.#offsets[slot] === next) return;
    checkOffset(next);
    this.#offsets[slot] = next;
    this.#cached = undefined;
    if (this.#layoutDirty) return;
    const at = this.#offsetAt[slot]!;
    if (writeOffset(this.#buf, at, next) - at !== this.#offsetLength[slot]) {
      // A varint length changed (written past its slot or short of it): lay out again before use.
      this.#layoutDirty = true;
      return;
    }
    const block = (at / SHA256_BLOCK) | 0;
    if (block < this.#hashed) this.#hashed = block;
  }

  /** The token for the current position. Cached until the next change. */
  token(): string {
    if (this.#cached !== undefined) return this.#cached;
    if (this.#layoutDirty) this.#layout();
    let end = this.#end;
    if (this.#key !== undefined) {
      this.#hashed = writeMac(this.#key, this.#buf, end, this.#midstates, this.#hashed, this.#buf, end);
      end += MAC_BYTES;
    }
    const body = this.#buf.toString('base64url', this.#start, end);
    this.#cached = this.#suffix === '' ? body : body + this.#suffix;
    return this.#cached;
  }

  #insert(partition: number, next: bigint): void {
    if (this.#partitions.length >= MAX_TOKEN_PARTITIONS) {
      throw new RangeError(`a token holds at most ${MAX_TOKEN_PARTITIONS} partitions`);
    }
    const partitions = this.#partitions;
    this.#layoutDirty = true;
    this.#cached = undefined;
    if (partitions.length === 0 || partitions[partitions.length - 1]! < partition) {
      partitions.push(partition);
      this.#offsets.push(next);
      return;
    }
    const at = lowerBound(partitions, partition);
    partitions.splice(at, 0, partition);
    this.#offsets.splice(at, 0, next);
  }

  /** The index of `partition` in #partitions, if tracked. */
  #slot(partition: number): number | undefined {
    const partitions = this.#partitions;
    // A topic's partitions are 0…n−1, so a partition usually sits at its own index.
    if (partitions[partition] === partition) return partition;
    const at = lowerBound(partitions, partition);
    return partitions[at] === partition ? at : undefined;
  }

  /** Writes the whole buffer: [etagLength ‖ etag] (signed only) ‖ payload ‖ [room for the mac]. */
  #layout(): void {
    const count = this.#partitions.length;
    const key = this.#key;
    const etag = key !== undefined && this.#etag !== undefined ? this.#etag : '';
    const start = key === undefined ? 0 : 1 + etag.length;
    const needed = start + payloadBound(count) + MAC_BYTES;
    if (this.#buf.length < needed) {
      // Pooled (unzeroed) memory: every byte read later is written below or by writeMac first.
      this.#buf = Buffer.allocUnsafe(Math.max(needed, this.#buf.length * 2));
    }
    const buf = this.#buf;
    if (key !== undefined) {
      buf[0] = etag.length;
      buf.write(etag, 1, 'latin1');
    }
    let at = start;
    buf[at++] = TOKEN_VERSION;
    buf[at++] = key === undefined ? 0 : FLAG_SIGNED;
    at = writeSmall(buf, at, count);
    if (this.#offsetAt.length !== count) {
      this.#offsetAt = new Array<number>(count).fill(0);
      this.#offsetLength = new Array<number>(count).fill(0);
    }
    let previous = -1;
    for (let i = 0; i < count; i++) {
      const partition = this.#partitions[i]!;
      at = writeSmall(buf, at, partition - previous - 1);
      previous = partition;
      this.#offsetAt[i] = at;
      at = writeOffset(buf, at, this.#offsets[i]!);
      this.#offsetLength[i] = at - this.#offsetAt[i]!;
    }
    this.#start = start;
    this.#end = at;
    if (key !== undefined) {
      const states = 8 * (((at / SHA256_BLOCK) | 0) + 1);
      if (this.#midstates.length < states) this.#midstates = new Int32Array(states * 2);
      this.#midstates.set(key.inner, 0);
      this.#hashed = 0;
    }
    this.#layoutDirty = false;
  }
}

/** Decodes a token; with `key`, requires a valid signature. Never throws for any `token`. */
export function decodeToken(token: string, key?: TokenKeys): DecodedToken {
  if (typeof token !== 'string' || token.length === 0) return fail('empty token');
  if (token.length > MAX_TOKEN_LENGTH) return fail('token too long');
  const separator = token.indexOf('~');
  const body = separator < 0 ? token : token.slice(0, separator);
  const etag = separator < 0 ? undefined : token.slice(separator + 1);
  if (etag !== undefined && !ETAG.test(etag)) return fail('invalid etag');
  if (!BASE64URL.test(body)) return fail('not base64url');
  // A lone trailing character cannot encode a byte; unused low bits must be zero so that each
  // payload has exactly one spelling (RFC 4648 §3.5).
  const tail = body.length % 4;
  if (tail === 1) return fail('not base64url');
  const lastBits = base64Value(body.charCodeAt(body.length - 1));
  if ((tail === 2 && (lastBits & 0x0f) !== 0) || (tail === 3 && (lastBits & 0x03) !== 0)) {
    return fail('not canonical base64url');
  }
  const bytes = Buffer.from(body, 'base64url');

  if (bytes.length < 3) return fail('truncated');
  if (bytes[0] !== TOKEN_VERSION) return fail(`unsupported version ${bytes[0]}`);
  const flags = bytes[1]!;
  if ((flags & ~FLAG_SIGNED) !== 0) return fail('unknown flags');
  const signed = (flags & FLAG_SIGNED) !== 0;

  const cursor = { at: 2 };
  const count = readSmall(bytes, cursor, MAX_COUNT_VARINT);
  if (count < 0) return fail(varintFailure(count));
  if (count > MAX_TOKEN_PARTITIONS) return fail('too many partitions');
  // Each entry takes at least two bytes: refuse counts the input cannot hold before reading.
  if (count * 2 > bytes.length - cursor.at) return fail('truncated');
  const offsets = new Map<number, bigint>();
  let previous = -1;
  for (let i = 0; i < count; i++) {
    const gap = readSmall(bytes, cursor, MAX_PARTITION_VARINT);
    if (gap < 0) return fail(varintFailure(gap));
    const partition = previous + 1 + gap;
    if (partition > MAX_PARTITION) return fail('partition out of range');
    const offset = readOffset(bytes, cursor);
    if (typeof offset === 'number') return fail(varintFailure(offset));
    offsets.set(partition, offset);
    previous = partition;
  }
  const payloadEnd = cursor.at;
  const rest = bytes.length - payloadEnd;

  const keys =
    key === undefined ? [] : Array.isArray(key) ? (key as readonly Uint8Array[]) : [key as Uint8Array];
  if (!signed) {
    if (rest !== 0) return fail('trailing bytes');
    if (keys.length > 0) return fail('token is not signed');
    return { ok: true, offsets, etag };
  }
  if (rest !== MAC_BYTES) return fail(rest < MAC_BYTES ? 'truncated' : 'trailing bytes');
  if (keys.length === 0) return fail('token is signed but no key is configured');
  const etagText = etag ?? '';
  const message = Buffer.allocUnsafe(1 + etagText.length + payloadEnd);
  message[0] = etagText.length;
  message.write(etagText, 1, 'latin1');
  message.set(bytes.subarray(0, payloadEnd), 1 + etagText.length);
  const midstates = new Int32Array(8 * (((message.length / SHA256_BLOCK) | 0) + 1));
  const expected = Buffer.allocUnsafe(MAC_BYTES);
  const presented = bytes.subarray(payloadEnd);
  for (const candidate of keys) {
    const prepared = prepareKey(candidate);
    midstates.set(prepared.inner, 0);
    writeMac(prepared, message, message.length, midstates, 0, expected, 0);
    if (timingSafeEqual(expected, presented)) return { ok: true, offsets, etag };
  }
  return fail('signature does not match');
}

// ---------------------------------------------------------------------------------------------

/** The first index of the ascending `items` whose value is not below `value`. */
function lowerBound(items: readonly number[], value: number): number {
  let low = 0;
  let high = items.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (items[mid]! < value) low = mid + 1;
    else high = mid;
  }
  return low;
}

function fail(reason: string): DecodedToken {
  return { ok: false, reason };
}

function checkPartition(partition: number): void {
  if (!Number.isInteger(partition) || partition < 0 || partition > MAX_PARTITION) {
    throw new RangeError(`partition ${partition} is not in 0..${MAX_PARTITION}`);
  }
}

function checkOffset(offset: bigint): void {
  if (typeof offset !== 'bigint' || offset < 0n || offset > MAX_OFFSET) {
    throw new RangeError(`offset ${String(offset)} is not in 0..${MAX_OFFSET}`);
  }
}

/** Upper bound of the payload for `count` partitions. */
function payloadBound(count: number): number {
  return 2 + MAX_COUNT_VARINT + count * (MAX_PARTITION_VARINT + MAX_OFFSET_VARINT);
}

/** Writes a varint of a non-negative int below 2³¹; returns the position after it. */
function writeSmall(buf: Uint8Array, at: number, value: number): number {
  while (value >= 0x80) {
    buf[at++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  buf[at++] = value;
  return at;
}

/** Writes the varint of an offset (0…2⁶³−1); returns the position after it. */
function writeOffset(buf: Uint8Array, at: number, offset: bigint): number {
  let value = Number(offset);
  // Number() rounds, but monotonically: anything that converts to ≤ 2⁵³−1 was exact.
  if (value <= Number.MAX_SAFE_INTEGER) {
    while (value > 0x7fff_ffff) {
      buf[at++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    return writeSmall(buf, at, value);
  }
  let big = offset;
  while (big >= 0x80n) {
    buf[at++] = Number(big & 0x7fn) | 0x80;
    big >>= 7n;
  }
  buf[at++] = Number(big);
  return at;
}

const TRUNCATED = -1;
const OVERLONG = -2;
const NON_MINIMAL = -3;

function varintFailure(code: number): string {
  return code === TRUNCATED ? 'truncated' : code === OVERLONG ? 'varint too long' : 'non-minimal varint';
}

/** Reads a varint of at most `maxBytes` (≤ 5) bytes; a negative failure code otherwise. */
function readSmall(bytes: Uint8Array, cursor: { at: number }, maxBytes: number): number {
  let value = 0;
  for (let i = 0; i < maxBytes; i++) {
    const byte = bytes[cursor.at];
    if (byte === undefined) return TRUNCATED;
    cursor.at++;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if (byte < 0x80) return byte === 0 && i > 0 ? NON_MINIMAL : value;
  }
  return OVERLONG;
}

/** Reads an offset varint (≤ 9 bytes, ≤ 2⁶³−1); a negative failure code number otherwise. */
function readOffset(bytes: Uint8Array, cursor: { at: number }): bigint | number {
  let value = 0n;
  for (let i = 0; i < MAX_OFFSET_VARINT; i++) {
    const byte = bytes[cursor.at];
    if (byte === undefined) return TRUNCATED;
    cursor.at++;
    value |= BigInt(byte & 0x7f) << BigInt(7 * i);
    if (byte < 0x80) return byte === 0 && i > 0 ? NON_MINIMAL : value;
  }
  return OVERLONG;
}

function base64Value(code: number): number {
  if (code >= 65 && code <= 90) return code - 65; // A-Z
  if (code >= 97 && code <= 122) return code - 71; // a-z
  if (code >= 48 && code <= 57) return code + 4; // 0-9
  return code === 45 ? 62 : 63; // - _
}

// --- HMAC-SHA256 (RFC 2104, FIPS 180-4) ------------------------------------------------------
//
// Signing runs once per delivered record, so it is done here rather than with node:crypto:
// `createHmac` sets up an OpenSSL context per call (~20 µs on the reference machine), and even
// one-shot `hash()` costs over 1 µs per call, against well under 1 µs for the three or so
// SHA-256 blocks a typical token needs. The states after the key's ipad and opad blocks are
// computed once per key, and the encoder keeps the state at each block boundary of its
// message. The code has no secret-dependent branches or table indexes; tests compare it with
// `createHmac` over keys and messages of every length around the block boundaries.

const SHA256_BLOCK = 64;
const HMAC_BLOCK = SHA256_BLOCK;

const K = Int32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);
const H0 = Int32Array.from([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

/** Scratch for the message schedule, a padded last block, and a running state. */
const W = new Int32Array(64);
const TAIL = new Uint8Array(2 * SHA256_BLOCK);
const STATE = new Int32Array(8);
const OUTER = new Uint8Array(SHA256_BLOCK);

interface PreparedKey {
  /** SHA-256 state after the block K ⊕ ipad. */
  readonly inner: Int32Array;
  /** SHA-256 state after the block K ⊕ opad. */
  readonly outer: Int32Array;
}

const preparedKeys = new WeakMap<Uint8Array, PreparedKey>();

function signingKey(keys: TokenKeys): Uint8Array {
  const key = Array.isArray(keys) ? (keys as readonly Uint8Array[])[0] : (keys as Uint8Array);
  if (key === undefined) throw new RangeError('no token signing key given');
  return key;
}

function prepareKey(key: Uint8Array): PreparedKey {
  const cached = preparedKeys.get(key);
  if (cached !== undefined) return cached;
  if (!(key instanceof Uint8Array) || key.byteLength < MIN_TOKEN_KEY_BYTES) {
    throw new RangeError(`a token signing key needs at least ${MIN_TOKEN_KEY_BYTES} bytes`);
  }
  const material = key.byteLength > HMAC_BLOCK ? hash('sha256', key, 'buffer') : key;
  const ipad = new Uint8Array(HMAC_BLOCK).fill(0x36);
  const opad = new Uint8Array(HMAC_BLOCK).fill(0x5c);
  for (let i = 0; i < material.byteLength; i++) {
    ipad[i]! ^= material[i]!;
    opad[i]! ^= material[i]!;
  }
  const inner = Int32Array.from(H0);
  compress(inner, 0, ipad, 0);
  const outer = Int32Array.from(H0);
  compress(outer, 0, opad, 0);
  const prepared = { inner, outer };
  preparedKeys.set(key, prepared);
  return prepared;
}

/**
 * Writes the first 12 bytes of HMAC-SHA256(key, message[0, length)) at `out[at…]`.
 * `midstates` holds 8 words per block boundary: [0, 8) the state after the ipad block (set by
 * the caller), then the state after each whole message block; the first `hashed` of those are
 * taken as current. Returns how many are current now.
 */
function writeMac(
  key: PreparedKey,
  message: Uint8Array,
  length: number,
  midstates: Int32Array,
  hashed: number,
  out: Uint8Array,
  at: number,
): number {
  const blocks = (length / SHA256_BLOCK) | 0;
  for (let block = hashed; block < blocks; block++) {
    midstates.copyWithin(8 * (block + 1), 8 * block, 8 * block + 8);
    compress(midstates, 8 * (block + 1), message, block * SHA256_BLOCK);
  }
  // Last partial block, 0x80, zeros, and the bit length of ipad block + message (FIPS 180-4 §5.1.1).
  const rest = length - blocks * SHA256_BLOCK;
  const tail = rest + 9 <= SHA256_BLOCK ? SHA256_BLOCK : 2 * SHA256_BLOCK;
  const from = blocks * SHA256_BLOCK;
  for (let i = 0; i < rest; i++) TAIL[i] = message[from + i]!;
  TAIL[rest] = 0x80;
  TAIL.fill(0, rest + 1, tail);
  writeBitLength(TAIL, tail, SHA256_BLOCK + length);
  for (let i = 0; i < 8; i++) STATE[i] = midstates[8 * blocks + i]!;
  compress(STATE, 0, TAIL, 0);
  if (tail > SHA256_BLOCK) compress(STATE, 0, TAIL, SHA256_BLOCK);

  // Outer hash: opad block (precomputed), then the 32-byte inner digest in one padded block.
  for (let i = 0; i < 8; i++) writeWord(OUTER, 4 * i, STATE[i]!);
  OUTER[32] = 0x80;
  OUTER.fill(0, 33, SHA256_BLOCK - 8);
  writeBitLength(OUTER, SHA256_BLOCK, SHA256_BLOCK + 32);
  STATE.set(key.outer);
  compress(STATE, 0, OUTER, 0);
  for (let i = 0; i < MAC_BYTES / 4; i++) writeWord(out, at + 4 * i, STATE[i]!);
  return blocks;
}

function writeWord(out: Uint8Array, at: number, word: number): void {
  out[at] = word >>> 24;
  out[at + 1] = word >>> 16;
  out[at + 2] = word >>> 8;
  out[at + 3] = word;
}

/** The message length in bits, big-endian, in the last 8 bytes before `end`. */
function writeBitLength(block: Uint8Array, end: number, bytes: number): void {
  // Tokens are far below 2²⁹ bytes: the high word is zero and the bit count fits 32 bits.
  writeWord(block, end - 8, 0);
  writeWord(block, end - 4, bytes * 8);
}

/** The SHA-256 compression function (FIPS 180-4 §6.2.2) on `state[at…at+8)`, in place. */
function compress(state: Int32Array, at: number, data: Uint8Array, from: number): void {
  const w = W;
  for (let i = 0; i < 16; i++) {
    const j = from + 4 * i;
    w[i] = (data[j]! << 24) | (data[j + 1]! << 16) | (data[j + 2]! << 8) | data[j + 3]!;
  }
  for (let i = 16; i < 64; i++) {
    const x = w[i - 15]!;
    const y = w[i - 2]!;
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0;
  }
  let a = state[at]!;
  let b = state[at + 1]!;
  let c = state[at + 2]!;
  let d = state[at + 3]!;
  let e = state[at + 4]!;
  let f = state[at + 5]!;
  let g = state[at + 6]!;
  let h = state[at + 7]!;
  for (let i = 0; i < 64; i++) {
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + s1 + ((e & f) ^ (~e & g)) + K[i]! + w[i]!) | 0;
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  state[at] = (state[at]! + a) | 0;
  state[at + 1] = (state[at + 1]! + b) | 0;
  state[at + 2] = (state[at + 2]! + c) | 0;
  state[at + 3] = (state[at + 3]! + d) | 0;
  state[at + 4] = (state[at + 4]! + e) | 0;
  state[at + 5] = (state[at + 5]! + f) | 0;
  state[at + 6] = (state[at + 6]! + g) | 0;
  state[at + 7] = (state[at + 7]! + h) | 0;
}
