/**
 * The dashboard page's two drawings, hand-made SVG: the node map (systems as columns of node boxes,
 * traffic as counted arrows between them) and the causal flow map (a lane per node, an arrow per
 * event, top to bottom in causal order). Part of the page script (`dashboard-script.ts`), whose
 * helpers (`s`, `h`, `state`, `call`, `api`, `note`) it uses.
 */

/** The drawing functions, as script text. */
export const DASHBOARD_DRAWINGS = String.raw`
function arrowhead(id) {
  return s('defs', {}, s('marker', { id, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, s('path', { d: 'M0,0 L10,5 L0,10 z' })));
}
function renderMap() {
  const svg = $('map');
  const W = 170, GAP = 110, NH = 28, NG = 12, TOP = 34, Y0 = 56;
  const columns = state.systems.map((sys) => ({ title: sys.system, ops: sys.ops, nodes: sys.nodes.filter((n) => !n.startsWith('happen.ops.')) }));
  const live = new Set(columns.flatMap((c) => c.nodes));
  const others = [];
  for (const e of state.edges.values()) for (const n of [e.from, e.to]) if (!live.has(n) && !others.includes(n)) others.push(n);
  if (others.length) columns.push({ title: 'not connected', other: true, nodes: others });
  const placed = new Map();
  const parts = [arrowhead('map-arrow')];
  let height = 60;
  columns.forEach((col, i) => {
    const x = 20 + i * (W + GAP);
    const boxH = TOP + col.nodes.length * (NH + NG) + 4;
    height = Math.max(height, Y0 + boxH + 40);
    const group = s('g', { class: 'system' + (col.other ? ' other' : ''), 'data-system': col.other ? undefined : col.title },
      s('rect', { x, y: Y0, width: W, height: boxH, rx: 8 }),
      s('text', { x: x + 10, y: Y0 + 20, class: 'system-title' }, col.title + (col.ops ? ' · ops' : '')));
    col.nodes.forEach((n, j) => {
      const y = Y0 + TOP + j * (NH + NG);
      const status = state.health.get(n);
      group.append(s('g', { class: 'node' + (status ? ' ' + status : ''), 'data-node': n },
        s('rect', { x: x + 10, y, width: W - 20, height: NH, rx: 5 }),
        s('text', { x: x + W / 2, y: y + 17, 'text-anchor': 'middle' }, n === '*' ? '* (broadcast)' : n),
        s('title', {}, n + (status ? ' — ' + status : ''))));
      placed.set(n, { x: x + 10, y, w: W - 20, h: NH, col: i });
    });
    parts.push(group);
  });
  const recent = Date.now() - 3000;
  for (const e of state.edges.values()) {
    const a = placed.get(e.from), b = placed.get(e.to);
    if (!a || !b) continue;
    const ay = a.y + a.h / 2, by = b.y + b.h / 2;
    let d, lx, ly;
    if (a === b) {
      const x = a.x + a.w;
      d = 'M' + x + ',' + (ay - 6) + ' C' + (x + 40) + ',' + (ay - 30) + ' ' + (x + 40) + ',' + (ay + 30) + ' ' + x + ',' + (ay + 6);
      lx = x + 34; ly = ay + 4;
    } else if (a.col === b.col) {
      const x = a.x + a.w, bend = x + 30 + Math.abs(by - ay) / 3;
      d = 'M' + x + ',' + ay + ' C' + bend + ',' + ay + ' ' + bend + ',' + by + ' ' + x + ',' + by;
      lx = bend - 6; ly = (ay + by) / 2;
    } else if (Math.abs(b.col - a.col) > 1) {
      // Around the columns between, not through their boxes: forward over them, backward under them.
      const forward = b.col > a.col, skip = 12 * (Math.abs(b.col - a.col) - 2);
      const x1 = forward ? a.x + a.w : a.x, x2 = forward ? b.x : b.x + b.w;
      const bend = forward ? Math.max(6, Y0 - 12 - skip) : height - 34 + skip;
      d = 'M' + x1 + ',' + ay + ' C' + (x1 + (forward ? 60 : -60)) + ',' + bend + ' ' + (x2 + (forward ? -60 : 60)) + ',' + bend + ' ' + x2 + ',' + by;
      lx = (x1 + x2) / 2; ly = 0.75 * bend + (ay + by) / 8 + (forward ? -3 : 12); // the curve's midpoint
    } else {
      const forward = b.col > a.col;
      const x1 = forward ? a.x + a.w : a.x, x2 = forward ? b.x : b.x + b.w;
      const mid = (x1 + x2) / 2, lift = forward ? -8 : 8;
      d = 'M' + x1 + ',' + (ay + lift / 2) + ' C' + mid + ',' + (ay + lift) + ' ' + mid + ',' + (by + lift) + ' ' + x2 + ',' + (by + lift / 2);
      lx = mid; ly = (ay + by) / 2 + lift - 3;
    }
    parts.push(s('g', { class: 'edge' + (e.lastAt > recent ? ' hot' : ''), 'data-from': e.from, 'data-to': e.to, 'data-count': e.count },
      s('path', { d, 'marker-end': 'url(#map-arrow)', 'stroke-width': 1 + Math.min(4, Math.log2(e.count + 1) / 2) }),
      s('text', { x: lx, y: ly, 'text-anchor': 'middle', class: 'count' }, e.count),
      s('title', {}, e.from + ' → ' + e.to + ': ' + e.count + ' events, last ' + e.lastType)));
  }
  const width = Math.max(300, 40 + columns.length * (W + GAP));
  height += 12 * Math.max(0, columns.length - 3); // room for the arcs under the boxes
  svg.replaceChildren(...parts);
  svg.setAttribute('viewBox', '0 0 ' + width + ' ' + height);
  svg.setAttribute('width', width);
  svg.setAttribute('height', height);
  if (!columns.length) svg.append(s('text', { x: 20, y: 40, class: 'muted' }, 'No system is connected to this mesh yet.'));
}

async function showFlow(id) {
  state.selected = id;
  $('flow-id').value = id;
  try { renderFlow(await call(api('/trace/' + encodeURIComponent(id)))); note('flow', ''); } catch (error) { note('flow', error.message, true); }
}
function renderFlow(graph) {
  const svg = $('flow');
  const lanes = graph.nodes.map((n) => n.id);
  const systemOf = new Map(graph.nodes.map((n) => [n.id, n.system]));
  if (graph.steps.some((st) => st.to === '*')) lanes.push('*');
  const LW = 170, X0 = 95, TOP = 62, ROW = 34;
  const x = (node) => X0 + lanes.indexOf(node) * LW;
  const height = TOP + graph.steps.length * ROW + 20;
  const parts = [arrowhead('flow-arrow')];
  for (const lane of lanes) {
    parts.push(s('g', { class: 'lane', 'data-lane': lane },
      s('rect', { x: x(lane) - 70, y: 8, width: 140, height: 40, rx: 6 }),
      s('text', { x: x(lane), y: 25, 'text-anchor': 'middle' }, lane === '*' ? '* (broadcast)' : lane),
      s('text', { x: x(lane), y: 41, 'text-anchor': 'middle', class: 'muted small' }, systemOf.get(lane) || ''),
      s('line', { x1: x(lane), y1: 48, x2: x(lane), y2: height - 6, class: 'lifeline' })));
  }
  graph.steps.forEach((st, i) => {
    const y = TOP + i * ROW + 14, x1 = x(st.from), x2 = x(st.to), e = st.event;
    const line = st.from === st.to
      ? s('path', { d: 'M' + x1 + ',' + (y - 8) + ' h34 v16 h-32', 'marker-end': 'url(#flow-arrow)' })
      : s('line', { x1, y1: y, x2: x2 + (x2 > x1 ? -4 : 4), y2: y, 'marker-end': 'url(#flow-arrow)' });
    parts.push(s('g', { class: 'step' + (e.error ? ' error' : ''), 'data-step': st.step, 'data-from': st.from, 'data-to': st.to, 'data-type': e.type, 'data-id': e.id, 'data-cause': e.causationId || '' },
      line,
      s('text', { x: st.from === st.to ? x1 + 40 : (x1 + x2) / 2, y: y - 5, 'text-anchor': st.from === st.to ? 'start' : 'middle' }, (i + 1) + '. ' + e.type + (e.error ? ' ✕ ' + e.error : '')),
      s('title', {}, e.id + (e.causationId ? '\ncaused by ' + e.causationId : '\n(root)') + '\n' + e.payload)));
  });
  const width = Math.max(300, X0 + (lanes.length - 1) * LW + 95);
  svg.replaceChildren(...parts);
  svg.setAttribute('viewBox', '0 0 ' + width + ' ' + height);
  svg.setAttribute('width', width);
  svg.setAttribute('height', height);
  $('flow-list').replaceChildren(...graph.steps.map((st) => h('li', { style: 'margin-left:' + st.depth * 18 + 'px', 'data-step': st.step, class: st.event.error ? 'error' : undefined },
    h('span', { class: 'type' }, st.event.type), ' ', st.from + ' → ' + st.to, st.event.error ? h('span', { class: 'badge bad' }, st.event.error) : null)));
  if (!graph.steps.length) $('flow-list').append(h('li', { class: 'muted' }, 'The hub saw no event of this correlation id (yet).'));
}
`;
