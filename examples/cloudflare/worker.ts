/**
 * The Worker entry wrangler.toml points at: the Happen hub as shipped. Clients connect to
 * `wss://<worker>/mesh/<name>/ws`, or POST to `/mesh/<name>/frames` and read `/mesh/<name>/stream`.
 * In an app, import from `happen/hub/cloudflare` instead of the source path.
 */
export { default, HubDurableObject } from '../../src/hub/cloudflare.ts';
