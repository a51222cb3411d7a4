// The step graph of a journey, drawn top-down: a layered ("Sugiyama") layout
// kept small enough to read whole. Steps go in rows by their longest distance
// from `start` (back edges ignored); an edge that skips rows runs through
// placeholder points in the rows between, so it never crosses a box; rows are
// ordered by the barycenter of their neighbours to reduce crossings; back
// edges (loops) run round the right-hand side. Each box carries its live
// counts. Plain SVG, no layout library: a journey has tens of steps at most.
import { s } from './dom.js';

const W = 184, H = 84, GAP_X = 28, GAP_Y = 46, PAD = 16, DUMMY_W = 16, LOOP = 36;

/** The outgoing edges of one step: [{to, label}]. */
export function edgesOf(step) {
  const out = [];
  const add = (to, label) => { if (typeof to === 'string') out.push({ to, label }); };
  add(step.next, step.type === 'wait_event' ? 'event' : '');
  add(step.timeout_next, 'timeout');
  (Array.isArray(step.cases) ? step.cases : []).forEach((c, i) => add(c && c.next, `case ${i}`));
  add(step.default, 'default');
  (Array.isArray(step.variants) ? step.variants : []).forEach((v) => add(v && v.next, v && v.name));
  return out;
}

/** Edges by (from, to), labels joined: [{from, to, label}], only to known steps. */
function edgeList(steps) {
  const byPair = new Map();
  for (const [from, step] of Object.entries(steps)) {
    for (const e of edgesOf(step)) {
      if (!steps[e.to]) continue;
      const k = `${from}\n${e.to}`;
      const prev = byPair.get(k);
      if (prev) prev.label = [prev.label, e.label].filter(Boolean).join(' / ');
      else byPair.set(k, { from, to: e.to, label: e.label });
    }
  }
  return [...byPair.values()];
}

/** Row of each step: longest path from start, ignoring back edges. */
function layers(def, steps) {
  const layer = new Map();
  const onPath = new Set();
  const visit = (id, depth) => {
    if (!steps[id] || onPath.has(id)) return;
    if (layer.has(id) && layer.get(id) >= depth) return;
    layer.set(id, depth);
    onPath.add(id);
    for (const e of edgesOf(steps[id])) visit(e.to, depth + 1);
    onPath.delete(id);
  };
  if (steps[def.start]) visit(def.start, 0);
  for (const id of Object.keys(steps)) if (!layer.has(id)) visit(id, 0);  // unreachable: shown anyway
  return layer;
}

/**
 * Rows of nodes (steps and placeholders), in order, and each edge's chain of
 * nodes. Returned positions are boxes' top-left corners.
 */
export function layout(def) {
  const steps = def.steps || {};
  const layer = layers(def, steps);
  const rows = [];
  const nodes = new Map();  // key -> {key, row, step?}
  const place = (key, row, step) => {
    const n = { key, row, step, preds: [], succs: [] };
    nodes.set(key, n);
    (rows[row] = rows[row] || []).push(n);
    return n;
  };
  for (const id of Object.keys(steps)) place(id, layer.get(id), id);
  const edges = edgeList(steps).map((e) => {
    const a = layer.get(e.from), b = layer.get(e.to);
    const back = b <= a;
    const chain = [nodes.get(e.from)];
    if (!back) {
      for (let r = a + 1; r < b; r++) chain.push(place(`${e.from}\n${e.to}\n${r}`, r, null));
      chain.push(nodes.get(e.to));
      for (let i = 0; i + 1 < chain.length; i++) { chain[i].succs.push(chain[i + 1]); chain[i + 1].preds.push(chain[i]); }
    }
    return { ...e, back, chain };
  });
  order(rows);
  const widths = rows.map((r) => r.reduce((w, n) => w + (n.step ? W : DUMMY_W), 0) + GAP_X * (r.length - 1));
  const width = Math.max(W, ...widths);
  rows.forEach((r, i) => {
    let x = PAD + (width - widths[i]) / 2;
    for (const n of r) {
      n.w = n.step ? W : DUMMY_W;
      n.x = x;
      n.y = PAD + i * (H + GAP_Y);
      x += n.w + GAP_X;
    }
  });
  return { nodes, edges, width: width + PAD * 2, height: PAD * 2 + rows.length * (H + GAP_Y) - GAP_Y };
}

/** A few barycenter sweeps (down, then up) over the rows' orders. */
function order(rows) {
  const index = () => rows.forEach((r) => r.forEach((n, i) => { n.i = i; }));
  const mean = (list, fallback) => (list.length ? list.reduce((a, n) => a + n.i, 0) / list.length : fallback);
  index();
  for (let sweep = 0; sweep < 4; sweep++) {
    for (let r = 1; r < rows.length; r++) {
      rows[r].sort((p, q) => mean(p.preds, p.i) - mean(q.preds, q.i));
      rows[r].forEach((n, i) => { n.i = i; });
    }
    for (let r = rows.length - 2; r >= 0; r--) {
      rows[r].sort((p, q) => mean(p.succs, p.i) - mean(q.succs, q.i));
      rows[r].forEach((n, i) => { n.i = i; });
    }
  }
}

const num = (o, k) => (o && Number.isFinite(o[k]) ? o[k] : 0);
const sum = (o) => Object.values(o || {}).reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);

function detail(step) {
  switch (step.type) {
    case 'send': return `send · ${step.channel || '?'} · ${step.template || '?'}`;
    case 'wait': return `wait ${step.duration || ''}`;
    case 'wait_event': return `wait for ${step.event || '?'}`;
    case 'jump': return `jump → ${step.journey || '?'}`;
    default: return String(step.type || '?');
  }
}

const clip = (t, n) => (t.length > n ? `${t.slice(0, n - 1)}…` : t);

function box(id, step, st, x, y) {
  const suppressed = sum(st.suppressed);
  const reasons = Object.entries(st.suppressed || {}).map(([k, v]) => `${k}: ${v}`).join(', ');
  return s('g', { class: `step type-${step.type}`, dataset: { step: id }, transform: `translate(${x},${y})` },
    s('title', {}, `${id} (${detail(step)})${reasons ? `\nsuppressed: ${reasons}` : ''}`),
    s('rect', { width: W, height: H, rx: 6 }),
    s('text', { x: 10, y: 18, class: 'id' }, clip(id, 24)),
    s('text', { x: 10, y: 35, class: 'kind' }, clip(detail(step), 30)),
    s('text', { x: 10, y: 54, class: 'counts' },
      s('tspan', { class: 'n-visited' }, num(st, 'visited')), ' visited · ',
      s('tspan', { class: 'n-active' }, num(st, 'active')), ' here'),
    s('text', { x: 10, y: 72, class: suppressed ? 'counts warn' : 'counts' },
      step.type === 'send' ? [s('tspan', { class: 'n-sent' }, num(st, 'sent')), ' sent · '] : null,
      s('tspan', { class: 'n-suppressed' }, suppressed), ' suppressed'));
}

/** A forward edge: down through its placeholders, curved between rows. */
function forward(e) {
  const pts = [];
  e.chain.forEach((n, i) => {
    const cx = n.x + n.w / 2;
    if (i > 0) pts.push([cx, n.y]);
    if (i < e.chain.length - 1) pts.push([cx, n.y + H]);
  });
  let d = `M${pts[0][0]},${pts[0][1]}`;
  for (let i = 1; i < pts.length; i++) {
    const [x0, y0] = pts[i - 1], [x1, y1] = pts[i];
    const my = (y0 + y1) / 2;
    d += x0 === x1 && i % 2 === 0 ? ` L${x1},${y1}` : ` C${x0},${my} ${x1},${my} ${x1},${y1}`;
  }
  const [lx, ly] = [(pts[0][0] + pts[1][0]) / 2, (pts[0][1] + pts[1][1]) / 2];
  return s('g', { class: 'edge' }, s('path', { d, 'marker-end': 'url(#arrow)' }),
    e.label ? s('text', { x: lx + 4, y: ly + 4 }, e.label) : null);
}

/** A back edge (a loop): out of the source's right side, round, into the target's. */
function backward(e, nodes, right) {
  const a = nodes.get(e.from), b = nodes.get(e.to);
  const x1 = a.x + W, y1 = a.y + H / 2 + 8, x2 = b.x + W, y2 = b.y + H / 2 - 8;
  const d = `M${x1},${y1} C${right},${y1} ${right},${y2} ${x2},${y2}`;
  return s('g', { class: 'edge back' }, s('path', { d, 'marker-end': 'url(#arrow)' }),
    e.label ? s('text', { x: right - 30, y: (y1 + y2) / 2 }, e.label) : null);
}

/** The SVG graph of `def` with per-step `stats` ({step: {visited, ...}}). */
export function stepGraph(def, stats) {
  const { nodes, edges, width, height } = layout(def);
  const hasBack = edges.some((e) => e.back);
  const total = width + (hasBack ? LOOP + 40 : 0);
  const right = width - PAD + LOOP;
  const boxes = [];
  for (const [id, step] of Object.entries(def.steps || {})) {
    const n = nodes.get(id);
    boxes.push(box(id, step, (stats && stats[id]) || {}, n.x, n.y));
  }
  return s('svg', { class: 'graph', width: total, height, viewBox: `0 0 ${total} ${height}`, role: 'img',
    'aria-label': 'step graph' },
  s('defs', {}, s('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7,
    markerHeight: 7, orient: 'auto-start-reverse' }, s('path', { d: 'M0,0 L10,5 L0,10 z' }))),
  edges.map((e) => (e.back ? backward(e, nodes, right) : forward(e))), boxes);
}
