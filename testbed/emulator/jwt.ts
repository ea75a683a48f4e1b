/**
 * JSON Web Tokens for the emulator, with node:crypto only: RS256 (OIDC, Entra, ACR) and ES256 (the hub token server,
 * whose key is the bed's EC P-256 signing key), JWKS export, and verification against a set of keys.
 * Expiry and audience are checked by each caller, because each service words those failures its own way.
 */
import { createHash, createPublicKey, generateKeyPair, sign, verify, type KeyObject } from 'node:crypto';

export type JwtAlg = 'RS256' | 'ES256';
export type Claims = Record<string, unknown>;

export interface SigningKey {
  kid: string;
  alg: JwtAlg;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** Base64 (not url) DER certificates for the `x5c` header, when the key comes with a certificate. */
  x5c?: string[];
}

export const b64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

/** Seconds since the epoch. */
export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** A fresh RSA 2048 key; its `kid` is the base64url SHA-1 of the public key's DER, shaped like Entra's key ids. */
export async function generateRsaKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await new Promise<{ privateKey: KeyObject; publicKey: KeyObject }>(
    (resolve, reject) =>
      generateKeyPair('rsa', { modulusLength: 2048 }, (error, pub, priv) =>
        error ? reject(error) : resolve({ privateKey: priv, publicKey: pub }),
      ),
  );
  return { kid: keyId(publicKey), alg: 'RS256', privateKey, publicKey };
}

/** A key from PEM files (RSA -> RS256, EC P-256 -> ES256), with its certificate chain for `x5c`. */
export function keyFromPem(privateKey: KeyObject, certPem: string): SigningKey {
  const publicKey = createPublicKey(privateKey);
  const alg: JwtAlg = privateKey.asymmetricKeyType === 'ec' ? 'ES256' : 'RS256';
  const x5c = [...certPem.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/g)].map(
    (m) => (m[1] ?? '').replace(/\s+/g, ''),
  );
  return { kid: keyId(publicKey), alg, privateKey, publicKey, x5c };
}

function keyId(publicKey: KeyObject): string {
  return b64url(
    createHash('sha1')
      .update(publicKey.export({ type: 'spki', format: 'der' }))
      .digest(),
  );
}

/** Signs `claims`; the header gets `typ`, `alg`, `kid` (unless `header.kid === null`) and whatever `header` adds. */
export function signJwt(key: SigningKey, claims: Claims, header: Record<string, unknown> = {}): string {
  const fullHeader: Record<string, unknown> = { typ: 'JWT', alg: key.alg, kid: key.kid, ...header };
  if (fullHeader['kid'] === null) delete fullHeader['kid'];
  const input = `${b64url(JSON.stringify(fullHeader))}.${b64url(JSON.stringify(claims))}`;
  const signature = sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${b64url(signature)}`;
}

export interface DecodedJwt {
  header: Record<string, unknown>;
  claims: Claims;
  signingInput: string;
  signature: Buffer;
}

/** Splits and parses a compact JWS without checking anything; undefined when it is not one. */
export function decodeJwt(token: string): DecodedJwt | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [h, p, s] = parts as [string, string, string];
  try {
    const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as unknown;
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as unknown;
    if (!isObject(header) || !isObject(claims)) return undefined;
    return { header, claims, signingInput: `${h}.${p}`, signature: Buffer.from(s, 'base64url') };
  } catch {
    return undefined;
  }
}

export type VerifyResult =
  | { ok: true; header: Record<string, unknown>; claims: Claims; key: SigningKey }
  | { ok: false; reason: 'malformed' | 'unknown-key' | 'bad-signature'; claims?: Claims };

/** Checks the signature against `keys` (by `kid` when the token names one). No time or audience checks. */
export function verifyJwt(token: string, keys: readonly SigningKey[]): VerifyResult {
  const decoded = decodeJwt(token);
  if (!decoded) return { ok: false, reason: 'malformed' };
  const { header, claims } = decoded;
  const kid = typeof header['kid'] === 'string' ? header['kid'] : undefined;
  const candidates = keys.filter((k) => k.alg === header['alg'] && (kid === undefined || k.kid === kid));
  if (candidates.length === 0) return { ok: false, reason: 'unknown-key', claims };
  for (const key of candidates) {
    const good = verify(
      'sha256',
      Buffer.from(decoded.signingInput),
      { key: key.publicKey, dsaEncoding: 'ieee-p1363' },
      decoded.signature,
    );
    if (good) return { ok: true, header, claims, key };
  }
  return { ok: false, reason: 'bad-signature', claims };
}

/** The public half of `keys` as a JWKS document. */
export function jwks(keys: readonly SigningKey[]): { keys: Record<string, unknown>[] } {
  return {
    keys: keys.map((k) => ({
      ...(k.publicKey.export({ format: 'jwk' }) as Record<string, unknown>),
      kid: k.kid,
      use: 'sig',
      alg: k.alg,
      ...(k.x5c ? { x5c: k.x5c } : {}),
    })),
  };
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A numeric claim, or undefined. */
export function numClaim(claims: Claims, name: string): number | undefined {
  const v = claims[name];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** A string claim, or undefined. */
export function strClaim(claims: Claims, name: string): string | undefined {
  const v = claims[name];
  return typeof v === 'string' ? v : undefined;
}

/** `aud` as a list (a JWT may carry one string or an array). */
export function audiences(claims: Claims): string[] {
  const aud = claims['aud'];
  if (typeof aud === 'string') return [aud];
  return Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : [];
}
