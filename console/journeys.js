// Journeys: the list, and one journey's graph, results, versions and editor.
import { api, enc, get } from './api.js';
import { fmtPct, h, replace, show, table } from './dom.js';
import { stepGraph } from './graph.js';
import { editor } from './editor.js';
import { badge, clockTime, errorBox, section, tabs } from './ui.js';

const REFRESH_MS = 2000;
const num = (v) => (Number.isFinite(v) ? v : 0);

function conversion(stats) {
  const count = num(stats && stats.conversions && stats.conversions.count);
  const entered = num(stats && stats.entered);
  return entered ? `${fmtPct(count / entered)} (${count})` : `– (${count})`;
}

/** The list answers entered/active; owner and conversions come with each journey. */
async function withDetails(list) {
  return Promise.all(list.map(async (j) => {
    try {
      const d = await get(`/api/journeys/${enc(j.id)}`);
      return { ...j, owner: j.owner || (d.definition && d.definition.owner) || '', stats: { ...d.stats, ...j.stats } };
    } catch {
      return j;
    }
  }));
}

export async function journeysView(el, page) {
  let data;
  try {
    data = await withDetails((await get('/api/journeys')).journeys || []);
  } catch (err) {
    return page.alive() && replace(el, errorBox(err));
  }
  if (!page.alive()) return;
  const rows = data.map((j) => h('tr', { dataset: { journey: j.id } },
    h('td', {}, h('a', { href: `#/journey/${enc(j.id)}` }, j.id), j.name ? h('div', { class: 'sub' }, j.name) : null),
    h('td', {}, badge(j.status)),
    h('td', { class: 'num col-version' }, j.version),
    h('td', { class: 'col-owner' }, j.owner || ''),
    h('td', { class: 'num col-entered' }, num(j.stats && j.stats.entered)),
    h('td', { class: 'num col-active' }, num(j.stats && j.stats.active)),
    h('td', { class: 'num col-conversion' }, conversion(j.stats))));
  replace(el, h('h1', {}, 'Journeys'),
    data.length ? h('table', { class: 'journeys' },
      h('thead', {}, h('tr', {}, ['Journey', 'Status', 'Version', 'Owner', 'Entered', 'Active', 'Conversion']
        .map((c) => h('th', {}, c)))),
      h('tbody', {}, rows))
      : h('p', { class: 'empty' }, 'No journeys yet. ', h('a', { href: '#/deploy' }, 'Deploy one.')));
}

const TABS = [['graph', 'Step graph'], ['results', 'Results'], ['versions', 'Versions'], ['edit', 'Edit & deploy', 'needs-editor']];

export async function journeyView(el, page, id, tab) {
  let j;
  try {
    j = await get(`/api/journeys/${enc(id)}`);
  } catch (err) {
    return page.alive() && replace(el, errorBox(err));
  }
  if (!page.alive()) return;
  const def = j.definition || {};
  const body = h('div', { class: 'tab-body' });
  replace(el,
    h('div', { class: 'title-row' },
      h('h1', {}, id), badge(j.status), h('span', { class: 'meta' }, `version ${j.version}`),
      def.owner ? h('span', { class: 'meta' }, `owner ${def.owner}`) : null,
      statusButtons(id, j.status)),
    def.name ? h('p', { class: 'sub' }, def.name) : null,
    tabs(`#/journey/${enc(id)}`, TABS, tab), body);
  const views = { graph: graphTab, results: resultsTab, versions: versionsTab, edit: editTab };
  (views[tab] || graphTab)(body, page, id, j);
}

/** Pause / resume / archive; done, the page is drawn again (a new page: its timers restart). */
function statusButtons(id, status) {
  const out = h('span', { class: 'actions' });
  const act = (verb) => h('button', { type: 'button', class: 'needs-approver', onclick: async () => {
    try {
      await api('POST', `/api/journeys/${enc(id)}/${verb}`);
      window.dispatchEvent(new HashChangeEvent('hashchange'));
    } catch (err) {
      out.append(errorBox(err));
    }
  } }, verb);
  if (status === 'active') out.append(act('pause'), act('archive'));
  else out.append(act('resume'));
  return out;
}

// ---- step graph with live counts ------------------------------------------

function stepRows(def, steps) {
  return Object.entries(def.steps || {}).map(([sid, st]) => {
    const c = steps[sid] || {};
    const group = (g) => Object.entries(c[g] || {}).map(([k, v]) => `${k}: ${v}`).join(', ');
    return [sid, st.type, num(c.visited), num(c.active), st.type === 'send' ? num(c.sent) : '',
      group('suppressed'), group('delivery'), group('exited')];
  });
}

function graphTab(body, page, id, j) {
  const stamp = h('span', { class: 'meta refresh' });
  const holder = h('div', { class: 'graph-holder' });
  const details = h('div');
  const draw = (j2) => {
    const def = j2.definition || {};
    const stats = j2.stats || {};
    replace(holder, stepGraph(def, stats.steps || {}));
    replace(details,
      section('Steps', table(['Step', 'Type', 'Visited', 'Here now', 'Sent', 'Suppressed', 'Delivery', 'Exited'],
        stepRows(def, stats.steps || {}), { class: 'steps' })),
      section('Totals', table(['Entered', 'Active', 'Conversions', 'Value', 'Exited'],
        [[num(stats.entered), num(stats.active), num(stats.conversions && stats.conversions.count),
          num(stats.conversions && stats.conversions.value), show(stats.exited)]])),
      (stats.by_version || []).length > 1 ? section('By version', table(['Version', 'Entered', 'Active', 'Conversions'],
        stats.by_version.map((v) => [v.version, num(v.entered), num(v.active), num(v.conversions && v.conversions.count)])))
        : null);
    replace(stamp, `live · updated ${clockTime()}`);
  };
  replace(body, h('div', { class: 'title-row' }, h('h2', {}, 'Step graph'), stamp), holder, details);
  draw(j);
  page.every(REFRESH_MS, async () => {
    try {
      const j2 = await get(`/api/journeys/${enc(id)}`);
      if (page.alive()) draw(j2);
    } catch (err) {
      if (page.alive()) replace(stamp, h('span', { class: 'error' }, `refresh failed: ${err.message}`));
    }
  });
}

// ---- results (PRODUCT.md §10) ---------------------------------------------

function uplift(u) {
  if (!u) return ['', '', '', ''];
  const ci = Array.isArray(u.ci) ? `[${fmtPct(u.ci[0])}, ${fmtPct(u.ci[1])}]` : '';
  return [u.vs || '', fmtPct(u.diff), ci, Number.isFinite(u.p) ? u.p.toFixed(3) : ''];
}

async function resultsTab(body, page, id) {
  let r;
  try {
    r = await get(`/api/journeys/${enc(id)}/results`);
  } catch (err) {
    return page.alive() && replace(body, errorBox(err));
  }
  if (!page.alive()) return;
  replace(body, section('Results', h('p', { class: 'meta' }, `version: ${show(r.version) || 'all'}`),
    table(['Arm', 'Entered', 'Converted', 'Rate', 'Value', 'Value / entrant', 'vs', 'Uplift', '95 % CI', 'p'],
      (r.arms || []).map((a) => [a.arm, num(a.entered), num(a.converted), fmtPct(a.rate), num(a.value),
        Number.isFinite(a.value_per_entrant) ? a.value_per_entrant.toFixed(2) : '', ...uplift(a.uplift)]),
      { class: 'results' })));
}

// ---- versions and approval (PRODUCT.md §11) --------------------------------

async function versionsTab(body, page, id) {
  let r;
  try {
    r = await get(`/api/journeys/${enc(id)}/versions`);
  } catch (err) {
    return page.alive() && replace(body, errorBox(err));
  }
  if (!page.alive()) return;
  const list = Array.isArray(r) ? r : r.versions || [];
  const detail = h('div', { class: 'version-detail' });
  const redraw = () => window.dispatchEvent(new HashChangeEvent('hashchange'));
  const rows = list.map((v) => {
    const times = Object.entries(v).filter(([k]) => k.endsWith('_at') || k === 'at').map(([k, t]) => `${k}: ${t}`);
    const approve = v.status === 'draft' ? h('button', { type: 'button', class: 'approve needs-approver', onclick: async () => {
      // Done, the whole page is drawn again: the title's live version changed too.
      try { await api('POST', `/api/journeys/${enc(id)}/versions/${enc(v.version)}/approve`); redraw(); } catch (err) {
        replace(detail, errorBox(err));
      }
    } }, 'Approve') : null;
    const open = h('button', { type: 'button', class: 'link', onclick: () => showVersion(detail, id, v.version) },
      `v${v.version}`);
    return [open, badge(v.status || ''), v.author || '', v.approver || '', times.join(' · '), approve];
  });
  replace(body, section('Versions', table(['Version', 'Status', 'Author', 'Approver', 'Times', ''], rows,
    { class: 'versions' })), detail);
}

async function showVersion(detail, id, v) {
  try {
    const r = await get(`/api/journeys/${enc(id)}/versions/${enc(v)}`);
    replace(detail, section(`Version ${v}`,
      r.diff !== undefined ? [h('h3', {}, 'Changes against the live version'),
        h('pre', { class: 'diff' }, JSON.stringify(r.diff, null, 2))] : null,
      h('h3', {}, 'Definition'), h('pre', {}, JSON.stringify(r.definition || r, null, 2))));
  } catch (err) {
    replace(detail, errorBox(err));
  }
}

function editTab(body, page, id, j) {
  replace(body, editor(JSON.stringify(j.definition || { id }, null, 2)));
}
