// A customer: profile, value, journey instances, history, deliveries and the
// decision trace (GET /api/customers/{id}).
import { enc, get } from './api.js';
import { h, replace, show, table } from './dom.js';
import { errorBox, section } from './ui.js';

function searchForm(value) {
  const input = h('input', { name: 'customer', placeholder: 'customer id (or an alias)', required: true });
  input.value = value || '';
  return h('form', { class: 'search', onsubmit: (ev) => {
    ev.preventDefault();
    location.hash = `#/customer/${enc(input.value.trim())}`;
  } }, input, h('button', { type: 'submit' }, 'Open'));
}

export function customerSearchView(el) {
  replace(el, h('h1', {}, 'Customers'), searchForm(''));
}

export async function customerView(el, page, id) {
  let c;
  try {
    c = await get(`/api/customers/${enc(id)}`);
  } catch (err) {
    return page.alive() && replace(el, h('h1', {}, 'Customers'), searchForm(id), errorBox(err));
  }
  if (!page.alive()) return;
  const p = c.profile || {};
  const traits = Object.entries(p.traits || {}).map(([k, v]) => [k, show(v)]);
  const v = c.value;
  replace(el, h('h1', {}, 'Customers'), searchForm(id),
    h('div', { class: 'title-row' }, h('h2', { class: 'customer-id' }, c.id)),
    section('Profile',
      table(['Trait', 'Value'], traits, { class: 'profile' }),
      h('p', { class: 'meta' }, `created ${p.created_at || ''} · updated ${p.updated_at || ''}`,
        (p.merged_ids || []).length ? ` · merged ids: ${p.merged_ids.join(', ')}` : '')),
    v ? section('Value', table(['Realized', 'Conversions', 'First', 'Last', 'Predicted'],
      [[show(v.realized), show(v.conversions), show(v.first), show(v.last),
        v.predicted === null ? 'not fitted' : show(v.predicted)]])) : null,
    section('Journeys', table(['Journey', 'Version', 'Step', 'Since', 'Entered', 'Key', 'Waiting until'],
      (c.instances || []).map((i) => [h('a', { href: `#/journey/${enc(i.journey)}` }, i.journey), i.version, i.step,
        i.since, i.entered_at, show(i.key), i.waiting_until || '']), { class: 'instances' })),
    section('Deliveries', table(['Id', 'Channel', 'Journey', 'Step', 'Status', 'Attempts', 'At', 'Detail'],
      (c.deliveries || []).map((d) => [d.id, d.channel, d.journey, d.step, d.status, show(d.attempts), d.at,
        show(d.detail)]), { class: 'deliveries' })),
    section('Trace', table(['At', 'Trigger', 'Journey', 'Version', 'Step', 'What'],
      (c.trace || []).map((t) => [t.at, t.trigger, t.journey, t.version, t.step, t.what]), { class: 'trace' })),
    section('History', table(['Event', 'At', 'Properties'],
      (c.history || []).map((e) => [e.name, e.at, show(e.properties)]), { class: 'history' })));
}
