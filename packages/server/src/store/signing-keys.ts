/**
 * The keys that sign JWT access tokens (RFC 9068, EdDSA with Ed25519, RFC 8037): made on demand,
 * sealed at rest under the master key, rotated after a period, and published (as a JWK set,
 * RFC 7517 §5) until every token they signed has expired.
 *
 * Several instances on one database agree: a key made by one is read by the others, and two that
 * rotate at the same moment race for the same `generation` number, which is unique, so exactly
 * one new key wins and both use it.
 *
 * @packageDocumentation
 */

import { createPrivateKey, createPublicKey, generateKeyPairSync, type JsonWebKey, type KeyObject } from 'node:crypto';
import { openSecret, sealSecret } from '@keyward/core';
import { calculateJwkThumbprint, errors, type JWK, type JWTVerifyGetKey } from 'jose';
import { SIGNING_ALGORITHM } from '../verify/jwt.js';
import { StoreUnavailableError } from '../verify/ports.js';
import type { StoreContext } from './context.js';
import type { SigningKeyRow } from './schema.js';
import { MAX_TOKEN_TTL_MS } from './tokens.js';

/** How long a signing key signs before the next one takes over, by default: 30 days. */
export const DEFAULT_SIGNING_KEY_ROTATION_MS = 30 * 24 * 60 * 60 * 1000;
export { SIGNING_ALGORITHM } from '../verify/jwt.js';

// Public keys read from the database are trusted for this long before a re-read; a `kid` not in
// the cache is looked up at once, so a key another instance just made is found on first use.
const PUBLIC_CACHE_MS = 60_000;

/** An Ed25519 public key as a JWK (RFC 8037 §2), as the JWK set lists it (RFC 7517 §4). */
export interface PublicJwk {
  readonly kty: string;
  readonly crv: string;
  readonly x: string;
  readonly kid: string;
  readonly alg: string;
  readonly use: 'sig';
}

/** A published key: its public JWK and its periods. */
export interface PublicSigningKey {
  /** `kid` (RFC 7515 §4.1.4): the RFC 7638 thumbprint of the public key. */
  readonly kid: string;
  readonly generation: number;
  /** The public JWK as served at `/.well-known/jwks.json`, with `kid`, `alg` and `use`. */
  readonly jwk: PublicJwk;
  readonly publicKey: KeyObject;
  readonly createdAt: number;
  /** Signs tokens until then. */
  readonly signUntil: number;
  /** Published until then: every token it signed has expired by this time. */
  readonly publishUntil: number;
}

/** The key that signs now, with its private half opened. */
export interface SigningKey extends PublicSigningKey {
  readonly privateKey: KeyObject;
}

/** Settings of the signing key repository. */
export interface SigningKeyOptions {
  /** How long a key signs before a new one is made, in milliseconds. Default 30 days; at least one hour. */
  readonly rotationMs?: number | undefined;
}

/** The signing key repository. */
export class SigningKeys {
  /** How long a key signs, in milliseconds. */
  readonly rotationMs: number;
  private signer: SigningKey | undefined;
  private making: Promise<SigningKey> | undefined;
  private published: { keys: Map<string, PublicSigningKey>; loadedAt: number } | undefined;
  private loading: Promise<Map<string, PublicSigningKey>> | undefined;

  constructor(
    private readonly ctx: StoreContext,
    options: SigningKeyOptions = {},
  ) {
    const rotationMs = options.rotationMs ?? DEFAULT_SIGNING_KEY_ROTATION_MS;
    if (!Number.isSafeInteger(rotationMs) || rotationMs < 60 * 60 * 1000) {
      throw new TypeError('signing key rotation must be a whole number of milliseconds, at least one hour');
    }
    this.rotationMs = rotationMs;
  }

  /**
   * The key that signs now: the cached one while its period lasts, else the newest usable one in
   * the database, else a new one (made once, whichever instance gets there first).
   */
  async current(): Promise<SigningKey> {
    const now = this.ctx.clock.now();
    if (this.signer !== undefined && this.signer.signUntil > now) return this.signer;
    // One lookup (and at most one new key) at a time in this process.
    this.making ??= this.findOrMake().finally(() => {
      this.making = undefined;
    });
    return this.making;
  }

  /** The keys published now (their tokens may still be live), newest first. */
  async publishedKeys(): Promise<PublicSigningKey[]> {
    const now = this.ctx.clock.now();
    const cached = this.published;
    const keys = cached !== undefined && now - cached.loadedAt < PUBLIC_CACHE_MS ? cached.keys : await this.load();
    return [...keys.values()].filter((k) => k.publishUntil > now).sort((a, b) => b.generation - a.generation);
  }

  /** A published key by `kid`, read from the database when this process has not seen it yet. */
  async publicKey(kid: string): Promise<PublicSigningKey | undefined> {
    const now = this.ctx.clock.now();
    const cached = this.published;
    let key = cached !== undefined && now - cached.loadedAt < PUBLIC_CACHE_MS ? cached.keys.get(kid) : undefined;
    // Another instance may have made it since the last read. (Lookups for made-up kids are
    // bounded by the verifier's per-address failure limit.)
    key ??= (await this.load()).get(kid);
    return key !== undefined && key.publishUntil > now ? key : undefined;
  }

  /**
   * A jose key resolver over the published keys, for `jwtVerify` and the verifier's `jwt`
   * option: EdDSA only, the key named by the header's `kid` only (RFC 7515 §4.1.4).
   */
  keyResolver(): JWTVerifyGetKey {
    return async (header) => {
      // RFC 8725 §3.1: the algorithm is ours to choose, never the token's.
      if (header.alg !== SIGNING_ALGORITHM) throw new errors.JOSEAlgNotAllowed('only EdDSA tokens are accepted');
      if (typeof header.kid !== 'string') throw new errors.JWKSNoMatchingKey('the token names no kid');
      let key: PublicSigningKey | undefined;
      try {
        key = await this.publicKey(header.kid);
      } catch (error) {
        // The verifier fails closed (503) on a store that cannot be read, not on a bad token.
        throw new StoreUnavailableError('the store could not read the signing keys', { cause: error });
      }
      if (key === undefined) throw new errors.JWKSNoMatchingKey();
      return key.publicKey;
    };
  }

  /** Reads every key still published; single-flight, so a burst of misses costs one query. */
  private load(): Promise<Map<string, PublicSigningKey>> {
    this.loading ??= (async () => {
      try {
        const now = this.ctx.clock.now();
        const rows = await this.ctx.db
          .selectFrom('signing_keys')
          .selectAll()
          .where('publish_until', '>', now)
          .orderBy('generation', 'desc')
          .execute();
        const keys = new Map(rows.map((row) => [row.id, toPublic(row)] as const));
        this.published = { keys, loadedAt: now };
        return keys;
      } finally {
        this.loading = undefined;
      }
    })();
    return this.loading;
  }

  private async usable(now: number): Promise<SigningKeyRow | undefined> {
    return this.ctx.db
      .selectFrom('signing_keys')
      .selectAll()
      .where('sign_until', '>', now)
      .orderBy('generation', 'desc')
      .limit(1)
      .executeTakeFirst();
  }

  /** The newest generation made so far; 0 before the first key. */
  private async lastGeneration(): Promise<number> {
    const last = await this.ctx.db
      .selectFrom('signing_keys')
      .select((eb) => eb.fn.max('generation').as('generation'))
      .executeTakeFirst();
    return Number(last?.generation ?? 0);
  }

  private async findOrMake(): Promise<SigningKey> {
    const now = this.ctx.clock.now();
    // The newest generation is read before the look for a usable key, never after: an instance
    // that finds no usable key then makes the generation after the one it saw before looking.
    // Read after, it could see a key another instance made just after the look and make the
    // generation after that one: two new keys where one was due, the instances signing with
    // different ones.
    const last = await this.lastGeneration();
    let row = await this.usable(now);
    if (row === undefined) {
      await this.make(now, last + 1);
      // Ours, or the one another instance made for the same generation.
      row = await this.usable(now);
      if (row === undefined) throw new Error('no usable signing key after making one');
    }
    const key = this.open(row);
    this.signer = key;
    // Publish it here at once, whoever made it.
    if (this.published !== undefined && !this.published.keys.has(key.kid)) {
      this.published = { keys: new Map([[key.kid, key], ...this.published.keys]), loadedAt: this.published.loadedAt };
    }
    return key;
  }

  /**
   * Makes the key of `generation` unless another instance already did (the generation is
   * unique: exactly one insert wins); forgets fully expired keys.
   */
  private async make(now: number, generation: number): Promise<void> {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const jwk = publicKey.export({ format: 'jwk' }) as JWK;
    const kid = await calculateJwkThumbprint({ kty: jwk.kty, crv: jwk.crv, x: jwk.x } as JWK, 'sha256');
    const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64url');
    const signUntil = now + this.rotationMs;
    await this.ctx.db
      .insertInto('signing_keys')
      .values({
        id: kid,
        generation,
        algorithm: SIGNING_ALGORITHM,
        public_jwk: JSON.stringify({ kty: jwk.kty, crv: jwk.crv, x: jwk.x }),
        // Bound to the kid: a sealed key copied onto another row does not open.
        sealed_private_key: sealSecret(pkcs8, this.ctx.keyring.current, `signing-key:${kid}`, this.ctx.random),
        created_at: now,
        sign_until: signUntil,
        // A token lives at most an hour (RFC-free, our rule), so none it signed outlives this.
        publish_until: signUntil + MAX_TOKEN_TTL_MS,
      })
      .onConflict((oc) => oc.column('generation').doNothing())
      .execute();
    // Keys whose every token has expired serve no one; the newest row always stays, so the
    // next generation number is never reused.
    await this.ctx.db
      .deleteFrom('signing_keys')
      .where('publish_until', '<=', now)
      .where('generation', '<', generation)
      .execute();
  }

  private open(row: SigningKeyRow): SigningKey {
    const opened = openSecret(row.sealed_private_key, this.ctx.keyring.masterKeys, `signing-key:${row.id}`);
    // A wrong master key, not bad input: refuse to sign rather than make a key nobody can check.
    if (!opened.ok) throw new Error(`sealed signing key ${row.id} does not open: ${opened.code}`);
    const privateKey = createPrivateKey({ key: Buffer.from(opened.value, 'base64url'), format: 'der', type: 'pkcs8' });
    return { ...toPublic(row), privateKey };
  }
}

function toPublic(row: SigningKeyRow): PublicSigningKey {
  const raw = JSON.parse(row.public_jwk) as { kty: string; crv: string; x: string };
  return {
    kid: row.id,
    generation: Number(row.generation),
    // RFC 7517 §4.2-4.5: a signature key, for this algorithm, named by its kid.
    jwk: { kty: raw.kty, crv: raw.crv, x: raw.x, kid: row.id, alg: row.algorithm, use: 'sig' },
    publicKey: createPublicKey({ key: raw as JsonWebKey, format: 'jwk' }),
    createdAt: row.created_at,
    signUntil: row.sign_until,
    publishUntil: row.publish_until,
  };
}
