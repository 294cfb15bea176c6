/** Admission at the hub's door: a token from the request, checked against the hub's secret and mesh. */
import { HappenError } from '../core/errors.ts';
import { verifyAdmissionToken, type TokenClaims } from '../security/tokens.ts';

/** The outcome of admitting a request: claims when admitted, the refusal otherwise; both absent when the hub is open. */
export interface Admission {
  claims?: TokenClaims;
  error?: HappenError;
  token?: string;
}

/** The token a request carries: `?token=` (WebSockets cannot set headers in browsers) or `Authorization: Bearer`. */
export function tokenOf(request: Request): string | undefined {
  const query = new URL(request.url).searchParams.get('token');
  if (query) return query;
  const header = request.headers.get('authorization');
  return header?.startsWith('Bearer ') ? header.slice(7) : undefined;
}

/** Checks a request's token when `secret` is set; never throws. */
export async function admit(secret: string | Uint8Array | undefined, request: Request, mesh: string): Promise<Admission> {
  if (secret === undefined) return {};
  const token = tokenOf(request);
  if (token === undefined) return { error: new HappenError('security', 'TOKEN_REQUIRED', 'This hub admits peers with an admission token only') };
  try {
    return { claims: await verifyAdmissionToken(secret, token, { mesh }), token };
  } catch (cause) {
    return { error: HappenError.from(cause), token };
  }
}
