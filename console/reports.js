// Attribution by model (GET /api/attribution) and the audit log (GET /api/audit).
import { get } from './api.js';
import { h, replace, show, table } from './dom.js';
import { errorBox, section } from './ui.js';

const MODELS = ['last', 'first', 'linear', 'time_decay', 'position', 'markov'];
const GROUPS = ['channel', 'journey', 'step', 'template'];

function params(hash) {
  const q = hash.indexOf('?');
  return new URLSearchParams(q < 0 ? '' : hash.slice(q + 1));
}

/** A form whose fields become the page's query (#/page?a=b): a reload keeps them. */
function filterForm(page, fields, q) {
  const inputs = fields.map(([name, label, choices, placeholder]) => {
    const input = choices
      ? h('select', { name }, choices.map((c) => h('option', { value: c, selected: q.get(name) === c }, c)))
      : h('input', { name, placeholder: placeholder || '' });
    if (!choices) input.value = q.get(name) || '';
    return h('label', {}, label, input);
  });
  return h('form', { class: 'filters', onsubmit: (ev) => {
    ev.preventDefault();
    const out = new URLSearchParams();
    for (const el of ev.target.elements) if (el.name && el.value) out.set(el.name, el.value);
    location.hash = `#/${page}?${out}`;
  } }, inputs, h('button', { type: 'submit' }, 'Show'));
}

/** The node's clock now (manual clocks differ from the browser's). */
async function nodeNow() {
  try { return new Date((await get('/api/stats')).now); } catch { return new Date(); }
}

export async function attributionView(el, page) {
  const q = params(location.hash);
  if (!q.get('from') || !q.get('to')) {
    const now = await nodeNow();
    if (!q.get('to')) q.set('to', now.toISOString());
    if (!q.get('from')) q.set('from', new Date(now - 30 * 864e5).toISOString());
  }
  if (!page.alive()) return;
  const out = h('div');
  replace(el, h('h1', {}, 'Attribution'), filterForm('attribution', [['model', 'Model', MODELS], ['by', 'By', GROUPS],
    ['from', 'From'], ['to', 'To'], ['lookback', 'Lookback', null, '30d']], q), out);
  const query = new URLSearchParams({ model: q.get('model') || 'last', by: q.get('by') || 'channel',
    from: q.get('from'), to: q.get('to') });
  if (q.get('lookback')) query.set('lookback', q.get('lookback'));
  try {
    const r = await get(`/api/attribution?${query}`);
    if (!page.alive()) return;
    replace(out, section(`Credit by ${r.by || query.get('by')} (${r.model || query.get('model')})`,
      h('p', { class: 'meta' }, `${show(r.conversions)} conversions, ${show(r.unattributed)} unattributed`),
      table(['Group', 'Conversions', 'Value'], (r.groups || []).map((g) => [g.group,
        Number.isFinite(g.conversions) ? Number(g.conversions.toFixed(2)) : show(g.conversions),
        Number.isFinite(g.value) ? Number(g.value.toFixed(2)) : show(g.value)]), { class: 'attribution' })));
  } catch (err) {
    if (page.alive()) replace(out, errorBox(err));
  }
}

export async function auditView(el, page) {
  const q = params(location.hash);
  const out = h('div');
  replace(el, h('h1', {}, 'Audit log'), filterForm('audit', [['from', 'From', null, 'RFC 3339'],
    ['to', 'To', null, 'RFC 3339'], ['journey', 'Journey', null, 'journey id']], q), out);
  const query = new URLSearchParams();
  for (const k of ['from', 'to', 'journey']) if (q.get(k)) query.set(k, q.get(k));
  try {
    const r = await get(`/api/audit${query.toString() ? `?${query}` : ''}`);
    if (!page.alive()) return;
    const entries = Array.isArray(r) ? r : r.entries || r.audit || [];
    replace(out, table(['At', 'Who', 'Action', 'Object', 'Before', 'After'],
      entries.map((e) => [e.at, e.who, e.action, show(e.object), show(e.before), show(e.after)]), { class: 'audit' }));
  } catch (err) {
    if (page.alive()) replace(out, errorBox(err));
  }
}
