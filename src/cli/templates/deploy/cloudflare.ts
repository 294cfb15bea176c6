/** The Cloudflare deploy template: the hub as a Worker with one Durable Object per mesh. */
import type { TemplateFile } from '../files.ts';

/** The date wrangler pins the Workers runtime's behaviour to (one the pinned wrangler's workerd supports). */
export const COMPATIBILITY_DATE = '2026-04-01';

/** deploy/cloudflare/wrangler.toml and the Worker entry. */
export function cloudflareFiles({ name }: { name: string }): TemplateFile[] {
  return [
    {
      path: 'deploy/cloudflare/wrangler.toml',
      content: `# The Happen hub on Cloudflare: one Worker, one Durable Object per mesh (WebSocket hibernation,
# Durable Object storage for the mesh's durable log).
#   npx wrangler deploy -c deploy/cloudflare/wrangler.toml            (or: npm run deploy:cloudflare)
#   npx wrangler deploy -c deploy/cloudflare/wrangler.toml --dry-run --outdir .wrangler/dry-run   (checks the bundle)
#   npx wrangler secret put HAPPEN_HUB_SECRET -c deploy/cloudflare/wrangler.toml   (peers then need admission tokens)
# Clients connect to wss://${name}-hub.<your-subdomain>.workers.dev/mesh/<mesh>/ws.
name = "${name}-hub"
main = "worker.ts"
compatibility_date = "${COMPATIBILITY_DATE}"

[[durable_objects.bindings]]
name = "HUB"
class_name = "HubDurableObject"

# SQLite-backed storage, as Cloudflare recommends for new Durable Object classes. Keep this migration;
# add a new [[migrations]] entry (tag "v2", ...) when renaming or deleting the class.
[[migrations]]
tag = "v1"
new_sqlite_classes = ["HubDurableObject"]
`,
    },
    {
      path: 'deploy/cloudflare/worker.ts',
      content: `/**
 * The Worker wrangler.toml points at: the Happen hub as shipped. Requests to /mesh/<mesh>/* go to
 * the Durable Object named after the mesh (binding HUB); /health answers { ok: true }.
 */
export { default, HubDurableObject } from 'happen/hub/cloudflare';
`,
    },
  ];
}
