// The step graph of a journey: steps as boxes laid out in columns by their
// distance from `start` (longest path, back edges ignored), `next` edges as
// arrows, each box with its live counts. Plain SVG, no layout library: a
// journey has tens of steps at most, and columns read well for flows.
import { s } from './dom.js';

const W = 184, H = 84, GAP_X = 64, GAP_Y = 26, PAD = 16;

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

/** Columns (layers) and rows for each step id. */
export function layout(def) {
  const steps = def.steps || {};
  const ids = Object.keys(steps);
  const layer = new Map();
  const onPath = new Set();
  const visit = (id, depth) => {
    if (!steps[id] || onPath.has(id)) return;  // unknown target, or a back edge
    if (layer.has(id) && layer.get(id) >= depth) return;
    layer.set(id, depth);
    onPath.add(id);
    for (const e of edgesOf(steps[id])) visit(e.to, depth + 1);
    onPath.delete(id);
  };
  if (steps[def.start]) visit(def.start, 0);
  for (const id of ids) if (!layer.has(id)) visit(id, 0);  // unreachable: shown anyway
  const columns = [];
  for (const id of ids) {
    const c = layer.get(id);
    (columns[c] = columns[c] || []).push(id);
  }
  const pos = new Map();
  columns.forEach((col, c) => col.forEach((id, r) => pos.set(id, { c, r })));
  return { pos, columns: columns.length, rows: Math.max(1, ...columns.map((c) => (c ? c.length : 0))) };
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

function edge(a, b, label, back) {
  const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2;
  let d;
  if (back) {  // loop under the boxes, back to the target's left side
    const low = Math.max(a.y, b.y) + H + GAP_Y / 2;
    d = `M${x1},${y1} C${x1 + 40},${low} ${x2 - 40},${low} ${x2},${y2}`;
  } else {
    const mx = (x1 + x2) / 2;
    d = `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`;
  }
  return s('g', { class: back ? 'edge back' : 'edge' },
    s('path', { d, 'marker-end': 'url(#arrow)' }),
    label ? s('text', { x: (x1 + x2) / 2, y: (y1 + y2) / 2 - 4, 'text-anchor': 'middle' }, label) : null);
}

/** The SVG graph of `def` with per-step `stats` ({step: {visited, ...}}). */
export function stepGraph(def, stats) {
  const { pos, columns, rows } = layout(def);
  const at = new Map();
  for (const [id, p] of pos) at.set(id, { x: PAD + p.c * (W + GAP_X), y: PAD + p.r * (H + GAP_Y) });
  const width = PAD * 2 + columns * (W + GAP_X) - GAP_X, height = PAD * 2 + rows * (H + GAP_Y) + GAP_Y;
  const edges = [], boxes = [];
  for (const [id, step] of Object.entries(def.steps || {})) {
    for (const e of edgesOf(step)) {
      if (!at.has(e.to)) continue;
      edges.push(edge(at.get(id), at.get(e.to), e.label, pos.get(e.to).c <= pos.get(id).c));
    }
    boxes.push(box(id, step, (stats && stats[id]) || {}, at.get(id).x, at.get(id).y));
  }
  return s('svg', { class: 'graph', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img',
    'aria-label': 'step graph' },
  s('defs', {}, s('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7,
    markerHeight: 7, orient: 'auto-start-reverse' }, s('path', { d: 'M0,0 L10,5 L0,10 z' }))),
  edges, boxes);
}
