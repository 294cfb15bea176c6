/**
 * Who may look at the dashboard. A hub without a secret (embedded defaults, loopback development) is
 * open. A hub with one wants an admission token whose subject is `dashboard` (`?token=`, which the
 * page and its event stream carry along, or `Authorization: Bearer`); a token naming a mesh opens
 * that mesh only.
 */
import { HappenError } from '../core/errors.ts';
import { tokenOf } from '../hub/admission.ts';
import { createAdmissionToken, verifyAdmissionToken, type TokenClaims } from '../security/tokens.ts';

/** The subject a dashboard token carries. */
export const DASHBOARD_SUBJECT = 'dashboard';

/** Options for {@link createDashboardToken}. */
export interface DashboardTokenOptions {
  /** Limits the token to one mesh (default: every mesh of the hub). */
  mesh?: string;
  /** Lifetime in ms (default one hour). */
  ttlMs?: number;
}

/** Mints a token that opens the dashboard of a hub holding `secret`. */
export function createDashboardToken(secret: string | Uint8Array, options: DashboardTokenOptions = {}): Promise<string> {
  return createAdmissionToken(secret, {
    sub: DASHBOARD_SUBJECT,
    ...(options.mesh !== undefined ? { mesh: options.mesh } : {}),
    ...(options.ttlMs !== undefined ? { ttlMs: options.ttlMs } : {}),
  });
}

/**
 * Checks a dashboard request: `undefined` when the hub is open, the claims when admitted, the refusal
 * otherwise. `mesh` is the mesh asked for (none for the hub-wide index).
 */
export async function admitDashboard(secret: string | Uint8Array | undefined, request: Request, mesh?: string): Promise<TokenClaims | HappenError | undefined> {
  if (secret === undefined) return undefined;
  const token = tokenOf(request);
  if (token === undefined) return new HappenError('security', 'TOKEN_REQUIRED', 'This hub opens its dashboard with a dashboard token only (?token=)');
  let claims: TokenClaims;
  try {
    claims = await verifyAdmissionToken(secret, token);
  } catch (cause) {
    return HappenError.from(cause);
  }
  if (claims.sub !== DASHBOARD_SUBJECT) return new HappenError('security', 'WRONG_SUBJECT', `This token admits ${claims.sub}, not the dashboard`, { sub: claims.sub });
  if (mesh !== undefined && claims.mesh !== undefined && claims.mesh !== mesh) return new HappenError('security', 'WRONG_MESH', `The dashboard token is not for mesh ${mesh}`, { mesh });
  return claims;
}
