/**
 * Sessions of the `jwt` guard are **live objects owned by the guard**.
 *
 * A session's `identity` and `guard` never change. Everything that comes from the token —
 * `expiresAt`, `challengeAt`, `roles`, `attributes` — is read through getters from the session's
 * current token facts, which only the guard that issued the session can replace
 * ({@link extendSession}, called by `reauthorize` once a fresh token for the same principal has
 * verified). Every stream holding the session therefore sees the new expiry the next time it
 * reads `session.expiresAt`; nothing has to be handed to the streams.
 *
 * The consequence for bindings that enforce expiry: **read `expiresAt` and `challengeAt` again
 * whenever a decision is due** (when a timer fires, before sending a challenge, before closing a
 * stream at expiry) instead of copying them once when the stream opens. A binding that schedules
 * a timer for `expiresAt` re-reads the field when the timer fires and re-arms it if the session
 * was extended meanwhile. `verify(roles, now)` always judges the current facts.
 *
 * The facts are swapped as one object, so a reader never sees the expiry of one token with the
 * roles of another.
 *
 * @module
 */
import type { GuardSession } from '@tributary/kernel';

/** What a verified token says about its session. */
export interface TokenFacts {
  readonly identity: string;
  /** The token's `iss`; undefined when it has none. */
  readonly issuer: string | undefined;
  /** The token's `iat` in epoch ms; undefined when it has none. */
  readonly issuedAt: number | undefined;
  readonly roles: ReadonlySet<string>;
  readonly attributes: Readonly<Record<string, unknown>>;
  /** `exp` × 1000. */
  readonly expiresAt: number;
  readonly challengeAt: number | null;
}

/** Current facts by session. Module-private: only the guard (through extendSession) writes. */
const current = new WeakMap<JwtSession, TokenFacts>();

function factsOf(session: JwtSession): TokenFacts {
  // Every JwtSession has facts from its constructor on.
  return current.get(session)!;
}

export class JwtSession implements GuardSession {
  readonly guard: string;
  readonly identity: string;

  constructor(guard: string, facts: TokenFacts) {
    this.guard = guard;
    this.identity = facts.identity;
    current.set(this, facts);
  }

  /** Claims of the current token. Re-read, do not copy: reauthorization replaces them. */
  get attributes(): Readonly<Record<string, unknown>> {
    return factsOf(this).attributes;
  }

  /** Roles of the current token. Re-read, do not copy: reauthorization replaces them. */
  get roles(): ReadonlySet<string> {
    return factsOf(this).roles;
  }

  /** `exp` of the current token, epoch ms. Re-read, do not copy: reauthorization extends it. */
  get expiresAt(): number {
    return factsOf(this).expiresAt;
  }

  /** When to ask for fresh credentials, epoch ms; null with `challenge: 0`. Re-read, do not copy. */
  get challengeAt(): number | null {
    return factsOf(this).challengeAt;
  }

  verify(roles: readonly string[], now: number = Date.now()): boolean {
    const facts = factsOf(this);
    return now < facts.expiresAt && roles.every((role) => facts.roles.has(role));
  }

  /** For logs: no claims, which may be personal data. */
  toJSON(): Record<string, unknown> {
    const facts = factsOf(this);
    return {
      guard: this.guard,
      identity: this.identity,
      roles: [...facts.roles],
      expiresAt: facts.expiresAt,
      challengeAt: facts.challengeAt,
    };
  }
}

/** True for a session issued by a `jwt` guard of this copy of the package. */
export function isJwtSession(value: unknown): value is JwtSession {
  return typeof value === 'object' && value !== null && current.has(value as JwtSession);
}

/** The facts a session currently holds. */
export function sessionFacts(session: JwtSession): TokenFacts {
  return factsOf(session);
}

/** Replaces a session's facts with those of a fresh token (same identity; checked by the guard). */
export function extendSession(session: JwtSession, facts: TokenFacts): void {
  current.set(session, facts);
}
