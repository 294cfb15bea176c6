/** The `webhook` node template: HMAC-verified webhooks (Web Crypto) that become events. */
import { fill, type NodeTemplate } from '../files.ts';

const source = `/**
 * The \`__name__\` node: receives webhooks. \`handleRequest(node)\` is a fetch-style handler — mount it
 * in a Worker, \`Deno.serve\`, hono, or anything that speaks \`Request\`/\`Response\` — that hands each
 * POST to the node as a \`__name__.deliver\` event. The node checks the body's HMAC-SHA-256 signature
 * with Web Crypto (a constant-time check) before anything else; only then does it parse the body and
 * broadcast \`__name__.received\`, so any node can react. A missing or wrong signature is refused with
 * a \`security\` error (\`BAD_SIGNATURE\`), which the handler answers with 401: it never becomes an event.
 *
 * The signature header is \`x-signature-256: sha256=<hex HMAC-SHA-256 of the raw body>\` (GitHub's
 * scheme; change SIGNATURE_HEADER and \`parseSignature\` for another sender). The secret is
 * \`options.secret\`, else the \`__NAME___SECRET\` environment variable; without one every delivery is
 * refused (\`NO_SECRET\`), never accepted unchecked.
 *
 *   Deno.serve(handleRequest(setup(happen)));
 *   // sender side, e.g. in a test: headers: { 'x-signature-256': await sign(secret, body) }
 */
import { defineEvent, HappenError, type Happen, type HappenNode } from 'happen';
import * as v from 'valibot';

/** The request header carrying the signature. */
export const SIGNATURE_HEADER = 'x-signature-256';
/** The largest body accepted, in bytes. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** \`__name__.deliver\`: a raw delivery to check → \`{ accepted: true, event }\` (the id of \`__name__.received\`). */
export const Deliver__Name__ = defineEvent('__name__.deliver', v.object({ body: v.string(), signature: v.optional(v.string()) }));

/** What \`__name__.received\` carries: the parsed body of a verified delivery. */
export interface __Name__Received {
  body: unknown;
  receivedAt: number;
}

/** Options of {@link setup}. */
export interface __Name__Options {
  /** The shared secret (default: the \`__NAME___SECRET\` environment variable). */
  secret?: string;
}

const encoder = new TextEncoder();

/** Creates the \`__name__\` node in \`happen\`. */
export default function setup(happen: Happen, options: __Name__Options = {}): HappenNode {
  const secret = options.secret ?? readEnv('__NAME___SECRET');
  const key = secret ? hmacKey(secret) : undefined;
  const node = happen.createNode('__name__');

  node.on(Deliver__Name__, async (event, ctx) => {
    if (key === undefined) throw new HappenError('security', 'NO_SECRET', '__name__ has no secret: set __NAME___SECRET');
    const mac = parseSignature(event.payload.signature);
    if (mac === undefined || !(await crypto.subtle.verify('HMAC', await key, mac, encoder.encode(event.payload.body)))) {
      throw new HappenError('security', 'BAD_SIGNATURE', 'The webhook signature does not match its body');
    }
    let body: unknown;
    try {
      body = JSON.parse(event.payload.body);
    } catch {
      throw new HappenError('validation', 'INVALID_BODY', 'The webhook body is not JSON');
    }
    const payload: __Name__Received = { body, receivedAt: Date.now() };
    const received = ctx.broadcast({ type: '__name__.received', payload });
    return { accepted: true, event: received.id };
  });

  return node;
}

/**
 * A fetch handler for the webhook endpoint: POST only (405), bodies up to MAX_BODY_BYTES (413);
 * 202 \`{ accepted, event }\` once verified, 401 for a bad or missing signature, 400 for a body that is not JSON.
 */
export function handleRequest(node: HappenNode): (request: Request) => Promise<Response> {
  return async (request) => {
    if (request.method !== 'POST') return Response.json({ error: 'POST only' }, { status: 405, headers: { allow: 'POST' } });
    if (Number(request.headers.get('content-length') ?? 0) > MAX_BODY_BYTES) return Response.json({ error: 'body too large' }, { status: 413 });
    const body = await request.text();
    if (encoder.encode(body).byteLength > MAX_BODY_BYTES) return Response.json({ error: 'body too large' }, { status: 413 });
    const signature = request.headers.get(SIGNATURE_HEADER) ?? undefined;
    try {
      const result = await node.send(node.id, Deliver__Name__.create(signature === undefined ? { body } : { body, signature })).return();
      return Response.json(result, { status: 202 });
    } catch (error) {
      const code = error instanceof HappenError ? error.code : 'FAILED';
      const status = code === 'BAD_SIGNATURE' || code === 'NO_SECRET' ? 401 : code === 'INVALID_BODY' ? 400 : 500;
      return Response.json({ error: code }, { status });
    }
  };
}

/** The signature header for \`body\`: what a sender (or a test) puts in SIGNATURE_HEADER. */
export async function sign(secret: string, body: string): Promise<string> {
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', await hmacKey(secret), encoder.encode(body)));
  return 'sha256=' + Array.from(mac, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

function hmacKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
}

// \`sha256=<64 hex digits>\` → the MAC bytes; anything else is no signature at all.
function parseSignature(header: string | undefined) {
  const hex = /^sha256=([0-9a-f]{64})$/i.exec(header?.trim() ?? '')?.[1];
  if (hex === undefined) return undefined;
  const mac = new Uint8Array(32);
  for (let i = 0; i < 32; i++) mac[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return mac;
}

// process.env on Node, Deno.env on Deno (undefined without --allow-env), nothing in browsers and Workers.
function readEnv(name: string): string | undefined {
  const runtime = globalThis as { process?: { env?: Record<string, string | undefined> }; Deno?: { env: { get(key: string): string | undefined } } };
  try {
    return runtime.process?.env?.[name] ?? runtime.Deno?.env.get(name);
  } catch {
    return undefined;
  }
}
`;

/** An HMAC-verified webhook receiver. */
export const webhookTemplate: NodeTemplate = {
  id: 'webhook',
  summary: 'verifies a webhook\'s HMAC-SHA-256 signature (Web Crypto), then broadcasts it as an event',
  events: (name) => [`${name}.deliver`, `${name}.received`],
  render: (names) => fill(source, names),
};
