/**
 * The dashboard page's script: plain browser JavaScript (no framework, no build), kept as a string.
 * It reads the JSON API and the event stream of `dashboard.ts`, and builds every element with DOM
 * calls (never markup from data), so an event type or payload cannot inject anything into the page.
 * Written without template literals so it can live inside one.
 */
import { DASHBOARD_DRAWINGS } from './dashboard-drawings.ts';

/** The data, the stream and the tables. */
const CORE = String.raw`
'use strict';
const cfg = JSON.parse(document.getElementById('happen-config').textContent);
const token = new URLSearchParams(location.search).get('token');
const SVGNS = 'http://www.w3.org/2000/svg';
const $ = (id) => document.getElementById(id);
function make(ns, tag, attrs, kids) {
  const node = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
  for (const key in attrs || {}) {
    const value = attrs[key];
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, String(value));
  }
  for (const kid of kids) if (kid !== undefined && kid !== null && kid !== false) node.append(kid instanceof Node ? kid : String(kid));
  return node;
}
const h = (tag, attrs, ...kids) => make(null, tag, attrs, kids);
const s = (tag, attrs, ...kids) => make(SVGNS, tag, attrs, kids);
function query(params) {
  const search = new URLSearchParams();
  for (const key in params || {}) if (params[key] !== undefined && params[key] !== '') search.set(key, params[key]);
  if (token) search.set('token', token);
  const text = search.toString();
  return text ? '?' + text : '';
}
const api = (path, params) => '/dashboard/api/' + encodeURIComponent(cfg.mesh) + path + query(params);
async function call(url, init) {
  const response = await fetch(url, init);
  let body;
  try { body = await response.json(); } catch { throw new Error('HTTP ' + response.status); }
  if (!body.ok) throw new Error(body.error ? body.error.code + ': ' + body.error.message : 'HTTP ' + response.status);
  return body;
}
const pending = new Map();
function soon(name, fn, ms) {
  if (pending.has(name)) return;
  pending.set(name, setTimeout(() => { pending.delete(name); fn(); }, ms || 80));
}
const clock = (ms) => new Date(ms).toISOString().slice(11, 23);
const ago = (ms) => { const s = Math.max(0, Math.round((Date.now() - ms) / 1000)); return s < 60 ? s + ' s ago' : Math.round(s / 60) + ' min ago'; };
const state = { systems: [], edges: new Map(), events: [], ids: new Set(), health: new Map(), selected: '' };
const edgeKey = (e) => e.from + '\n' + e.to;

// Type patterns as on(): '*' one segment, '**' any depth (a trailing '.**' also matches none), {a,b} alternatives.
function glob(pattern) {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (pattern.startsWith('.**', i) && i + 3 === pattern.length) { out += '(?:\\..+)?'; i += 2; }
    else if (pattern.startsWith('**', i)) { out += '.*'; i += 1; }
    else if (c === '*') out += '[^.]+';
    else if (c === '{') out += '(?:';
    else if (c === '}') out += ')';
    else if (c === ',') out += '|';
    else out += c.replace(/[.+?^$()|[\]\\]/g, '\\$&');
  }
  return new RegExp('^' + out + '$');
}
function currentFilter() {
  const f = { type: $('f-type').value.trim(), node: $('f-node').value.trim(), corr: $('f-corr').value.trim(), re: null };
  $('f-type').classList.remove('bad');
  if (f.type) { try { f.re = glob(f.type); } catch { $('f-type').classList.add('bad'); } }
  return f;
}
const matches = (e, f) => (!f.re || f.re.test(e.type)) && (!f.node || e.sender === f.node || e.target === f.node) && (!f.corr || e.correlationId === f.corr);

function eventRow(e) {
  return h('tr', { 'data-id': e.id, 'data-type': e.type, class: e.error ? 'error' : undefined },
    h('td', { class: 'mono' }, clock(e.timestamp)),
    h('td', { class: 'type' }, e.type, e.error ? h('span', { class: 'badge bad' }, e.error) : null, e.frames > 1 ? h('span', { class: 'badge' }, e.frames + ' sends') : null),
    h('td', {}, e.sender + ' → ' + (e.target || '*')),
    h('td', { class: 'muted' }, e.system + (e.targetSystem ? ' → ' + e.targetSystem : '')),
    h('td', {}, h('button', { class: 'link mono', title: e.correlationId, onclick: () => showFlow(e.correlationId) }, e.correlationId.slice(-10))),
    h('td', { class: 'payload mono', title: e.payload }, e.payload));
}
function renderStream() {
  const f = currentFilter();
  const shown = state.events.filter((e) => matches(e, f)).slice(-300).reverse();
  $('stream-body').replaceChildren(...shown.map(eventRow));
  $('stream-count').textContent = shown.length + ' shown of ' + state.events.length;
}
function addEvent(e, live) {
  if (state.ids.has(e.id)) return;
  state.ids.add(e.id);
  state.events.push(e);
  if (state.events.length > 2000) state.ids.delete(state.events.shift().id);
  if (live) {
    const edge = state.edges.get(edgeKey({ from: e.sender, to: e.target || '*' })) || { from: e.sender, to: e.target || '*', count: 0 };
    edge.count++; edge.lastAt = e.seenAt; edge.lastType = e.type;
    state.edges.set(edgeKey(edge), edge);
    soon('map', renderMap);
    if (e.correlationId === state.selected) soon('flow', () => showFlow(state.selected), 200);
  }
  soon('stream', renderStream);
}

function connect() {
  const source = new EventSource(api('/stream'));
  let first = true;
  source.onopen = () => { $('status').textContent = 'live'; $('status').className = 'status live'; };
  source.onerror = () => { $('status').textContent = 'reconnecting'; $('status').className = 'status down'; };
  source.addEventListener('nodes', (m) => {
    const map = JSON.parse(m.data);
    state.systems = map.systems;
    state.edges = new Map(map.edges.map((e) => [edgeKey(e), e]));
    $('tapping').hidden = !map.tapping;
    soon('map', renderMap);
    if (first) { first = false; loadEvents(); loadNodes(); }
  });
  source.addEventListener('event', (m) => addEvent(JSON.parse(m.data), true));
  source.addEventListener('gap', (m) => note('stream', JSON.parse(m.data).dropped + ' events dropped (the page read too slowly)'));
}
async function loadEvents() {
  const body = await call(api('/events', { limit: 500 }));
  for (const e of body.events) addEvent(e, false);
  state.events.sort((a, b) => a.seenAt - b.seenAt);
  renderStream();
}
async function loadNodes() {
  const body = await call(api('/nodes'));
  state.systems = body.systems;
  soon('map', renderMap);
}
function note(where, text, bad) {
  const target = $(where + '-note');
  target.textContent = text;
  target.className = 'note' + (bad ? ' bad' : '');
}

async function loadHealth() {
  let body;
  try { body = await call(api('/health')); } catch (error) { return note('health', error.message, true); }
  note('health', '');
  state.health.clear();
  const cards = body.systems.map((answer) => {
    if (!answer.ok) return h('div', { class: 'card muted', 'data-health-system': answer.system }, h('b', {}, answer.system), ' ', answer.error.code === 'NO_OPS_NODE' ? 'no ops node' : answer.error.code + ': ' + answer.error.message);
    const sys = answer.value;
    for (const n of sys.nodes) state.health.set(n.node, n.status);
    return h('div', { class: 'card', 'data-health-system': answer.system },
      h('div', {}, h('b', {}, sys.system), h('span', { class: 'muted' }, '  queue ' + sys.queue.depth + ' · dead letters ' + sys.deadLetters + ' · peers ' + sys.peers)),
      h('table', {}, h('tbody', {}, ...sys.nodes.filter((n) => !n.node.startsWith('happen.ops.')).map((n) => h('tr', { 'data-health-node': n.node, class: n.status },
        h('td', {}, n.node), h('td', { class: 'status-cell' }, n.status),
        h('td', { title: 'events in / out' }, n.eventsIn + ' / ' + n.eventsOut),
        h('td', { title: 'error rate' }, (n.errorRate * 100).toFixed(1) + '%'),
        h('td', { title: 'mean handler time' }, n.avgLatencyMs.toFixed(1) + ' ms'),
        h('td', { class: 'muted' }, n.lastSeen ? ago(n.lastSeen) : 'never'))))));
  });
  $('health').replaceChildren(...cards);
  soon('map', renderMap);
}

async function loadDeadLetters() {
  let body;
  try { body = await call(api('/dead-letters')); } catch (error) { return note('dead', error.message, true); }
  const rows = [];
  for (const answer of body.systems) {
    if (!answer.ok) continue;
    for (const letter of answer.value) {
      rows.push(h('tr', { 'data-key': letter.key, 'data-system': answer.system },
        h('td', {}, answer.system), h('td', { class: 'type' }, letter.event.type),
        h('td', {}, letter.event.context.causal.sender + ' → ' + (letter.event.context.target || '*')),
        h('td', {}, letter.attempts), h('td', { class: 'muted' }, letter.lastError ? letter.lastError.message : ''),
        h('td', { class: 'muted' }, ago(letter.deadAt)),
        h('td', {}, h('button', { 'data-action': 'redrive', onclick: (ev) => act(answer.system, letter.key, 'redrive', ev.target) }, 'Redrive'),
          h('button', { 'data-action': 'discard', class: 'quiet', onclick: (ev) => act(answer.system, letter.key, 'discard', ev.target) }, 'Discard'))));
    }
  }
  $('dead-body').replaceChildren(...rows);
  $('dead-count').textContent = rows.length ? String(rows.length) : 'none';
}
async function act(system, key, action, button) {
  button.disabled = true;
  try {
    const answer = await call(api('/dead-letters/' + encodeURIComponent(system) + '/' + encodeURIComponent(key) + '/' + action), { method: 'POST', headers: { 'x-happen-dashboard': '1' } });
    const done = action === 'redrive' ? answer.redriven : answer.discarded;
    note('dead', key + (done ? (action === 'redrive' ? ' redriven' : ' discarded') : ': nothing to ' + action));
  } catch (error) {
    note('dead', error.message, true);
  }
  await loadDeadLetters();
}
`;

/** Starts the page: the mesh view, or the index of meshes. */
const START = String.raw`
async function index() {
  const body = await call('/dashboard/api/meshes' + query());
  $('meshes').replaceChildren(...body.meshes.map((m) => h('li', {}, h('a', { href: '/dashboard/mesh/' + encodeURIComponent(m.mesh) + query() }, m.mesh), h('span', { class: 'muted' }, '  ' + m.peers + ' peers · ' + m.nodes + ' nodes'))));
  if (!body.meshes.length) $('meshes').append(h('li', { class: 'muted' }, 'No mesh has been opened on this hub yet.'));
}
if (cfg.refusal) {
  // nothing to run: the page says why
} else if (!cfg.mesh) {
  $('open-mesh').addEventListener('submit', (ev) => { ev.preventDefault(); location.href = '/dashboard/mesh/' + encodeURIComponent($('mesh-input').value.trim()) + query(); });
  index().catch((error) => { $('meshes').replaceChildren(h('li', { class: 'bad' }, error.message)); });
} else {
  for (const id of ['f-type', 'f-node', 'f-corr']) $(id).addEventListener('input', () => soon('stream', renderStream, 120));
  $('flow-form').addEventListener('submit', (ev) => { ev.preventDefault(); const id = $('flow-id').value.trim(); if (id) showFlow(id); });
  connect();
  renderMap();
  const poll = () => { loadHealth(); loadDeadLetters(); };
  poll();
  setInterval(poll, 3000);
  setInterval(() => soon('map', renderMap), 1500);
  const wanted = new URLSearchParams(location.search).get('correlationId');
  if (wanted) showFlow(wanted);
}
`;

/** The whole script. */
export const DASHBOARD_SCRIPT = `(() => {${CORE}${DASHBOARD_DRAWINGS}${START}})();`;
