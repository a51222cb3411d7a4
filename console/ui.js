// Pieces shared by the views: error boxes, status badges, tabs, times.
import { h } from './dom.js';

/** What went wrong, as a box: a route this node lacks, a role, or the message. */
export function errorBox(err) {
  if (err && err.unavailable) return h('p', { class: 'notice unavailable' }, 'Not available on this node.');
  if (err && err.status === 403) {
    const role = err.body && err.body.role_needed;
    return h('p', { class: 'error forbidden' }, 'Your token may not do this',
      role ? [': role needed ', h('strong', { class: 'role-needed' }, role)] : '', '.');
  }
  return h('p', { class: 'error' }, (err && err.message) || String(err));
}

export function badge(status) {
  return h('span', { class: `badge status-${String(status).replace(/[^a-z_-]/gi, '')}` }, String(status));
}

export function section(title, ...body) {
  return h('section', {}, h('h2', {}, title), body);
}

/** Links to the tabs of a page; `current` is highlighted. */
export function tabs(base, names, current) {
  return h('nav', { class: 'tabs' }, names.map(([key, label, cls]) =>
    h('a', { href: `${base}/${key}`, class: [key === current ? 'current' : '', cls || ''].join(' ').trim() || null },
      label)));
}

export function clockTime(d = new Date()) {
  return d.toTimeString().slice(0, 8);
}
