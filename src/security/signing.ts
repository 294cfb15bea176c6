import { HappenError } from '../core/errors.ts';
import type { HappenEvent } from '../core/event.ts';
import { signingBytes } from './canonical.ts';
import { checkLength, type Ed25519Backend } from './ed25519.ts';
import { fromBase64Url, toBase64Url } from './encoding.ts';
import { keyIdOf, type Identity } from './identity.ts';

/**
 * Signatures travel as `event.signature = "<keyId>.<signature>"`: the signer's key id (base64url of the
 * first 16 public-key bytes) and the 64-byte Ed25519 signature over {@link signingBytes}, base64url.
 */
export async function signEvent(event: HappenEvent, identity: Identity): Promise<string> {
  const signature = await identity.sign(signingBytes(event));
  return (event.signature = `${identity.keyId}.${toBase64Url(signature)}`);
}

/** A signature split into its parts; a malformed one is a `security` INVALID_SIGNATURE error. */
export function parseSignature(signature: unknown): { keyId: string; bytes: Uint8Array } {
  if (typeof signature !== 'string') throw missing();
  const dot = signature.indexOf('.');
  const bytes = dot > 0 ? safeDecode(signature.slice(dot + 1)) : undefined;
  if (!bytes || bytes.length !== 64) throw invalid('is malformed');
  return { keyId: signature.slice(0, dot), bytes };
}

/**
 * Verifies an event's signature against the sender's public key. Throws a `security` error:
 * MISSING_SIGNATURE, SENDER_KEY_MISMATCH (signed by another key than the sender's) or INVALID_SIGNATURE
 * (forged, or the event changed after signing).
 */
export async function verifyEvent(event: HappenEvent, publicKey: Uint8Array, backend: Ed25519Backend): Promise<void> {
  checkLength(publicKey, 32, 'An Ed25519 public key');
  const { keyId, bytes } = parseSignature(event.signature);
  if (keyId !== keyIdOf(publicKey)) {
    throw new HappenError('security', 'SENDER_KEY_MISMATCH', `${event.type} ${event.id} is signed with a key that is not ${event.context.causal.sender}'s`, {
      eventId: event.id,
      sender: event.context.causal.sender,
    });
  }
  if (!(await backend.verify(publicKey, bytes, signingBytes(event)))) throw invalid('does not match the event');
}

function safeDecode(text: string): Uint8Array | undefined {
  try {
    return fromBase64Url(text);
  } catch {
    return undefined;
  }
}

function missing(): HappenError {
  return new HappenError('security', 'MISSING_SIGNATURE', 'The event carries no signature');
}

function invalid(why: string): HappenError {
  return new HappenError('security', 'INVALID_SIGNATURE', `The event's signature ${why}`);
}
