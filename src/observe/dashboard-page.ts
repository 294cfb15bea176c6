/**
 * The dashboard page: HTML and CSS as strings, with the script of `dashboard-script.ts`. One page
 * serves both the index of meshes (`/dashboard`) and a mesh's live view (`/dashboard/mesh/<mesh>`).
 */
import { DASHBOARD_SCRIPT } from './dashboard-script.ts';

/** What a page is for: a mesh (none: the index), or the reason it is refused. */
export interface DashboardPageOptions {
  mesh?: string;
  refusal?: string;
}

const STYLE = `
:root { color-scheme: light dark; --bg: #f6f7f9; --panel: #fff; --ink: #1d2330; --muted: #6b7280; --line: #d8dce3;
  --accent: #2563eb; --hot: #f59e0b; --bad: #dc2626; --ok: #16a34a; --warn: #d97706; }
@media (prefers-color-scheme: dark) { :root { --bg: #11141a; --panel: #1a1f27; --ink: #e5e7eb; --muted: #9aa3b2; --line: #2e3542; } }
* { box-sizing: border-box; }
body { margin: 0; font: 13px/1.45 system-ui, sans-serif; background: var(--bg); color: var(--ink); }
header { display: flex; gap: 14px; align-items: baseline; padding: 10px 18px; border-bottom: 1px solid var(--line); background: var(--panel); }
header h1 { font-size: 16px; margin: 0; }
main { display: grid; grid-template-columns: minmax(0, 1fr); gap: 12px; padding: 12px; }
#health { display: grid; grid-template-columns: repeat(auto-fill, minmax(320px, 1fr)); gap: 8px; }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; min-width: 0; }
.panel.wide { grid-column: 1 / -1; }
h2 { font-size: 13px; margin: 0 0 8px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
.scroll { overflow: auto; max-height: 420px; }
svg { max-width: 100%; height: auto; display: block; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 3px 6px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
.mono, .payload { font-family: ui-monospace, monospace; font-size: 12px; }
.payload { max-width: 260px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.muted { color: var(--muted); } .small { font-size: 10px; }
.bad, tr.error .type, li.error .type { color: var(--bad); }
.badge { display: inline-block; margin-left: 6px; padding: 0 5px; border-radius: 8px; background: var(--line); font-size: 11px; color: var(--ink); }
.badge.bad { background: var(--bad); color: #fff; }
.status { padding: 1px 8px; border-radius: 10px; background: var(--line); }
.status.live { background: var(--ok); color: #fff; } .status.down { background: var(--bad); color: #fff; }
.filters, form { display: flex; gap: 6px; margin-bottom: 8px; flex-wrap: wrap; }
input { flex: 1; min-width: 120px; padding: 4px 6px; border: 1px solid var(--line); border-radius: 4px; background: var(--bg); color: var(--ink); }
input.bad { border-color: var(--bad); }
button { padding: 3px 10px; border: 1px solid var(--accent); background: var(--accent); color: #fff; border-radius: 4px; cursor: pointer; }
button.quiet { background: transparent; color: var(--ink); border-color: var(--line); margin-left: 4px; }
button.link { background: none; border: 0; color: var(--accent); padding: 0; }
button:disabled { opacity: .5; }
.note { min-height: 1em; color: var(--muted); } .note.bad { color: var(--bad); }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 6px 8px; }
h2 .badge { text-transform: none; letter-spacing: 0; }
tr.degraded .status-cell { color: var(--warn); } tr.failing .status-cell { color: var(--bad); } tr.ok .status-cell { color: var(--ok); }
.system rect { fill: none; stroke: var(--line); stroke-width: 1.5; }
.system.other rect { stroke-dasharray: 4 3; }
.system-title { font-weight: 600; fill: var(--muted); }
.node rect { fill: var(--bg); stroke: var(--accent); }
.node.degraded rect { stroke: var(--warn); } .node.failing rect { stroke: var(--bad); stroke-width: 2; }
.node text, .lane text { fill: var(--ink); font-size: 12px; }
.edge path { fill: none; stroke: var(--muted); opacity: .75; }
.edge.hot path { stroke: var(--hot); opacity: 1; }
.edge .count { font-size: 11px; fill: var(--ink); paint-order: stroke; stroke: var(--panel); stroke-width: 3px; }
marker path { fill: var(--muted); }
.lane rect { fill: var(--bg); stroke: var(--accent); }
.lifeline { stroke: var(--line); stroke-dasharray: 4 4; }
.step line, .step path { stroke: var(--accent); stroke-width: 1.6; fill: none; }
.step text { font-size: 11px; fill: var(--ink); }
.step.error line, .step.error path { stroke: var(--bad); } .step.error text { fill: var(--bad); }
#flow-list { margin: 8px 0 0; padding-left: 22px; font-size: 12px; }
`;

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function meshView(): string {
  return `<section class="panel" id="map-panel"><h2>Node map <span class="badge" id="tapping" hidden>live tap</span></h2><svg id="map" role="img" aria-label="Nodes and traffic"></svg></section>
<section class="panel" id="health-panel"><h2>Health</h2><div class="note" id="health-note"></div><div id="health"></div></section>
<section class="panel wide" id="stream-panel"><h2>Events <span class="muted" id="stream-count"></span></h2><div class="note" id="stream-note"></div>
<div class="filters"><input id="f-type" placeholder="type pattern (order.*, {a,b}.done)" aria-label="type pattern"><input id="f-node" placeholder="node" aria-label="node"><input id="f-corr" placeholder="correlation id" aria-label="correlation id"></div>
<div class="scroll"><table id="stream"><thead><tr><th>time</th><th>type</th><th>sender → target</th><th>systems</th><th>correlation</th><th>payload</th></tr></thead><tbody id="stream-body"></tbody></table></div></section>
<section class="panel wide" id="flow-panel"><h2>Causal flow</h2><form id="flow-form"><input id="flow-id" placeholder="correlation id (or click one in the events)" aria-label="correlation id"><button>Show</button></form><div class="note" id="flow-note"></div><div class="scroll"><svg id="flow" role="img" aria-label="Causal flow"></svg></div><ol id="flow-list"></ol></section>
<section class="panel wide" id="dead-panel"><h2>Dead letters <span class="muted" id="dead-count"></span></h2><div class="note" id="dead-note"></div>
<table id="dead"><thead><tr><th>system</th><th>type</th><th>sender → target</th><th>attempts</th><th>last error</th><th>dead</th><th></th></tr></thead><tbody id="dead-body"></tbody></table></section>`;
}

function indexView(): string {
  return `<section class="panel wide"><h2>Meshes on this hub</h2><ul id="meshes"></ul>
<form id="open-mesh"><input id="mesh-input" placeholder="mesh name" aria-label="mesh name" required><button>Open</button></form></section>`;
}

/** The page's HTML. The mesh name reaches the script as JSON (never as markup). */
export function dashboardPage(options: DashboardPageOptions): string {
  const title = options.mesh === undefined ? 'Happen dashboard' : `${escapeHtml(options.mesh)} · Happen dashboard`;
  const body = options.refusal !== undefined ? `<section class="panel wide"><h2>Not admitted</h2><p class="bad">${escapeHtml(options.refusal)}</p><p class="muted">This hub has a secret: open the dashboard with <code>?token=</code> and a token whose subject is <code>dashboard</code> (<code>createDashboardToken(secret)</code>).</p></section>` : options.mesh === undefined ? indexView() : meshView();
  const config = JSON.stringify({ mesh: options.mesh ?? null, refusal: options.refusal ?? null }).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title}</title><style>${STYLE}</style></head>
<body><header><h1>Happen</h1><span>${options.mesh === undefined ? 'hub' : `mesh <b id="mesh-name">${escapeHtml(options.mesh)}</b>`}</span><span class="status" id="status">${options.mesh === undefined ? '' : 'connecting'}</span></header>
<main>${body}</main>
<script id="happen-config" type="application/json">${config}</script>
<script>${DASHBOARD_SCRIPT}</script></body></html>`;
}
