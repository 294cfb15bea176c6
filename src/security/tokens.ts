import { HappenError } from '../core/errors.ts';
import { fromBase64Url, toBase64Url, utf8 } from './encoding.ts';

/** What an admission token says about the peer holding it. */
export interface TokenClaims {
  /** The peer (node or system) id the token admits. */
  sub: string;
  /** The mesh it may join, if restricted. */
  mesh?: string;
  /** Free-form permissions for the hub to interpret. */
  scopes?: string[];
  /** Issued at, ms since the epoch. */
  iat: number;
  /** Expires at, ms since the epoch. */
  exp: number;
}

/** Options for {@link createAdmissionToken}. */
export interface CreateTokenOptions {
  sub: string;
  mesh?: string;
  scopes?: string[];
  /** Lifetime in ms (default one hour). */
  ttlMs?: number;
  now?: number;
}

/** Options for {@link verifyAdmissionToken}. */
export interface VerifyTokenOptions {
  /** Require this mesh. */
  mesh?: string;
  now?: number;
  /** Tolerated clock difference in ms for `iat`/`exp` (default 30 s). */
  leewayMs?: number;
}

const decoder = new TextDecoder();
const keys = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string | Uint8Array): Promise<CryptoKey> {
  const raw = typeof secret === 'string' ? utf8(secret) : secret;
  if (!(raw instanceof Uint8Array) || raw.length < 16) {
    throw new HappenError('security', 'INVALID_KEY', 'An admission-token secret must be at least 16 bytes');
  }
  const id = toBase64Url(raw);
  let key = keys.get(id);
  if (!key) {
    if (keys.size > 64) keys.clear();
    key = crypto.subtle.importKey('raw', raw as BufferSource, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
    keys.set(id, key);
  }
  return key;
}

/**
 * Creates an admission token: `base64url(JSON claims) + "." + base64url(HMAC-SHA-256)`, for hubs and
 * transports to admit peers. Anyone holding the secret can mint tokens, so keep it server-side.
 */
export async function createAdmissionToken(secret: string | Uint8Array, options: CreateTokenOptions): Promise<string> {
  if (typeof options?.sub !== 'string' || options.sub.length === 0) {
    throw new HappenError('validation', 'INVALID_TOKEN_CLAIMS', 'An admission token needs a subject (sub)');
  }
  const iat = options.now ?? Date.now();
  const claims: TokenClaims = { sub: options.sub, iat, exp: iat + (options.ttlMs ?? 3_600_000) };
  if (options.mesh !== undefined) claims.mesh = options.mesh;
  if (options.scopes !== undefined) claims.scopes = options.scopes;
  const body = toBase64Url(utf8(JSON.stringify(claims)));
  const mac = await crypto.subtle.sign('HMAC', await hmacKey(secret), utf8(body) as BufferSource);
  return `${body}.${toBase64Url(new Uint8Array(mac))}`;
}

/**
 * Verifies an admission token and returns its claims, or throws a `security` error: MALFORMED_TOKEN,
 * BAD_TOKEN_SIGNATURE, TOKEN_EXPIRED, TOKEN_NOT_YET_VALID or WRONG_MESH. The MAC check is Web
 * Crypto's constant-time verify.
 */
export async function verifyAdmissionToken(secret: string | Uint8Array, token: unknown, options: VerifyTokenOptions = {}): Promise<TokenClaims> {
  const fail = (code: string, message: string) => new HappenError('security', code, message);
  if (typeof token !== 'string' || token.length > 4096) throw fail('MALFORMED_TOKEN', 'An admission token must be a string');
  const [body, mac, extra] = token.split('.');
  if (!body || !mac || extra !== undefined) throw fail('MALFORMED_TOKEN', 'An admission token has two dot-separated parts');
  let macBytes: Uint8Array;
  let claims: TokenClaims;
  try {
    macBytes = fromBase64Url(mac);
    claims = JSON.parse(decoder.decode(fromBase64Url(body)));
  } catch {
    throw fail('MALFORMED_TOKEN', 'An admission token is not base64url JSON');
  }
  const valid = await crypto.subtle.verify('HMAC', await hmacKey(secret), macBytes as BufferSource, utf8(body) as BufferSource);
  if (!valid) throw fail('BAD_TOKEN_SIGNATURE', 'The admission token was not signed with this secret');
  if (typeof claims?.sub !== 'string' || typeof claims.exp !== 'number' || typeof claims.iat !== 'number') {
    throw fail('MALFORMED_TOKEN', 'The admission token lacks sub, iat or exp');
  }
  const now = options.now ?? Date.now();
  const leeway = options.leewayMs ?? 30_000;
  if (now > claims.exp + leeway) throw fail('TOKEN_EXPIRED', `The admission token for ${claims.sub} expired`);
  if (claims.iat > now + leeway) throw fail('TOKEN_NOT_YET_VALID', `The admission token for ${claims.sub} is not valid yet`);
  if (options.mesh !== undefined && claims.mesh !== options.mesh) throw fail('WRONG_MESH', `The admission token is not for mesh ${options.mesh}`);
  return claims;
}
