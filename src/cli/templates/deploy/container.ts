/** The container deploy template: the Node hub in a Docker image, with its entry script. */
import type { TemplateFile } from '../files.ts';

const hubEntry = `// The hub in the container: happen/hub/node, listening on 0.0.0.0. Settings come from
// happen.config.json (hub.port, mesh), overridden by HAPPEN_HUB_PORT (or PORT), HAPPEN_HUB_HOSTNAME
// and HAPPEN_SECRET (when set, peers need an admission token). Stops cleanly on SIGTERM / SIGINT.
import { readFile } from 'node:fs/promises';
import { serveHub } from 'happen/hub/node';

const env = process.env;
const text = await readFile(new URL('../../happen.config.json', import.meta.url), 'utf8').catch(() => '{}');
const config = JSON.parse(text);
const portText = String(env.HAPPEN_HUB_PORT ?? env.PORT ?? config.hub?.port ?? 8787);
const port = Number(portText);
if (!/^\\d+$/.test(portText) || port > 65535) {
  console.error('hub: the port must be an integer between 0 and 65535 (got ' + JSON.stringify(portText) + ')');
  process.exit(2);
}
const mesh = env.HAPPEN_MESH ?? config.mesh ?? 'default';
const hub = await serveHub({ port, hostname: env.HAPPEN_HUB_HOSTNAME ?? '0.0.0.0', ...(env.HAPPEN_SECRET ? { secret: env.HAPPEN_SECRET } : {}) });
console.log('happen hub listening on ' + hub.url + ' (mesh ' + mesh + ': ' + hub.url + '/mesh/' + mesh + '/ws)');

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await hub.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
`;

/** deploy/container/Dockerfile, its entry script, and .dockerignore (the build context is the project root). */
export function containerFiles({ name }: { name: string }): TemplateFile[] {
  return [
    {
      path: 'deploy/container/Dockerfile',
      content: `# The Happen hub in a container (Node 20). Build from the project root:
#   docker build -f deploy/container/Dockerfile -t ${name}-hub .      (or: npm run build:container)
#   docker run -p 8787:8787 -e HAPPEN_SECRET=... ${name}-hub
FROM node:20-slim
WORKDIR /app
ENV NODE_ENV=production HAPPEN_HUB_HOSTNAME=0.0.0.0 HAPPEN_HUB_PORT=8787
COPY package*.json ./
RUN if [ -f package-lock.json ]; then npm ci --omit=dev --no-audit --no-fund; else npm install --omit=dev --no-audit --no-fund; fi
COPY happen.config.json ./
COPY deploy/container/hub.mjs deploy/container/hub.mjs
USER node
EXPOSE 8787
HEALTHCHECK --interval=30s --timeout=3s CMD node -e "fetch('http://127.0.0.1:' + process.env.HAPPEN_HUB_PORT + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
CMD ["node", "deploy/container/hub.mjs"]
`,
    },
    { path: 'deploy/container/hub.mjs', content: hubEntry },
    { path: '.dockerignore', content: 'node_modules\n.git\n.wrangler\n.happen\ndist\n' },
  ];
}
