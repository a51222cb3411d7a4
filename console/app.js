// Waymark console: a single page over the admin API (PRODUCT.md §11).
// Plain ES modules, no framework and no build step: the files in this folder
// are embedded into the node's binary as they are.
import { api, session, whenUnauthorized } from './api.js';
import { h, replace } from './dom.js';
import { journeysView, journeyView } from './journeys.js';
import { deployView } from './editor.js';
import { customerSearchView, customerView } from './customer.js';
import { attributionView, auditView } from './reports.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const logout = document.getElementById('logout');

// The page being shown: its timers stop, and its late answers are dropped,
// once another page is opened.
let current = { alive: () => false, stop() {} };

function newPage() {
  current.stop();
  const timers = [];
  let alive = true;
  current = {
    alive: () => alive,
    /** Runs async `f` every `ms` while the page is shown, never two at once. */
    every(ms, f) {
      let busy = false;
      timers.push(setInterval(async () => {
        if (!alive || busy) return;
        busy = true;
        try { await f(); } finally { busy = false; }
      }, ms));
    },
    stop() { alive = false; timers.forEach(clearInterval); },
  };
  return current;
}

function loginView(message) {
  nav.hidden = true;
  logout.hidden = true;
  const input = h('input', { name: 'token', type: 'password', autocomplete: 'off', required: true,
    placeholder: 'admin token', 'aria-label': 'admin token' });
  const status = h('p', { class: 'login-status', role: 'alert' }, message || '');
  const form = h('form', { class: 'login', onsubmit: async (ev) => {
    ev.preventDefault();
    const token = input.value.trim();
    replace(status, 'Checking…');
    try {
      await api('GET', '/api/journeys', undefined, token);
    } catch (err) {
      if (err.status === 401) return replace(status, h('span', { class: 'error' }, 'This token was refused.'));
      if (err.status !== 403) return replace(status, h('span', { class: 'error' }, err.message));
    }
    session.token = token;
    if (!location.hash || location.hash === '#/login') location.hash = '#/journeys';
    else route();
  } },
  h('h1', {}, 'Waymark console'),
  h('label', {}, 'Admin token', input),
  h('button', { type: 'submit' }, 'Log in'),
  status);
  replace(main, form);
  input.focus();
}

const routes = [
  [/^#\/journeys$/, () => journeysView],
  [/^#\/journey\/([^/]+)(?:\/([a-z]+))?$/, (m) => (el, page) => journeyView(el, page, decodeURIComponent(m[1]), m[2] || 'graph')],
  [/^#\/deploy$/, () => deployView],
  [/^#\/customers$/, () => customerSearchView],
  [/^#\/customer\/(.+)$/, (m) => (el, page) => customerView(el, page, decodeURIComponent(m[1]))],
  [/^#\/attribution(\?.*)?$/, () => attributionView],
  [/^#\/audit(\?.*)?$/, () => auditView],
];

/**
 * The caller's role (PRODUCT.md §11 roles), from GET /api/whoami
 * {"name","role","teams"} when the node has that route: the page then hides
 * what the role may not do. Without it every action shows, and the node's
 * 403 names the role needed.
 */
let roleKnown = false;
async function learnRole() {
  roleKnown = true;
  try {
    const me = await api('GET', '/api/whoami');
    if (me && typeof me.role === 'string') document.body.dataset.role = me.role;
  } catch {
    delete document.body.dataset.role;
  }
}

function route() {
  const page = newPage();
  if (!session.token) {
    roleKnown = false;
    delete document.body.dataset.role;
    return loginView();
  }
  if (!roleKnown) learnRole();
  nav.hidden = false;
  logout.hidden = false;
  const hash = location.hash || '#/journeys';
  for (const a of nav.querySelectorAll('a')) a.classList.toggle('current', hash.startsWith(a.getAttribute('href')));
  for (const [re, view] of routes) {
    const m = hash.match(re);
    if (m) {
      replace(main, h('p', { class: 'loading' }, 'Loading…'));
      return view(m)(main, page);
    }
  }
  location.hash = '#/journeys';
}

whenUnauthorized(() => {
  session.token = null;
  roleKnown = false;  // the next token may be someone else's
  delete document.body.dataset.role;
  newPage();
  loginView('Your token was refused: log in again.');
});
logout.addEventListener('click', () => { session.token = null; route(); });
window.addEventListener('hashchange', route);
route();
