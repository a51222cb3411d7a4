// Deploy: a JSON editor for a journey, PUT /api/journeys/{id}; validation
// errors (422 {"errors":[{path,message}]}) are marked on the line holding
// the path they name, and listed with it.
import { api, enc } from './api.js';
import { h, replace } from './dom.js';
import { lineAt, lineOf, pathLines } from './jsonlines.js';
import { errorBox } from './ui.js';

const SAMPLE = {
  id: 'my-journey',
  name: 'My journey',
  owner: 'my-team',
  entry: { event: 'Signed Up' },
  start: 'welcome',
  steps: {
    welcome: { type: 'send', channel: 'email', template: 'welcome', next: 'done' },
    done: { type: 'exit' },
  },
};

export function deployView(el) {
  replace(el, h('h1', {}, 'Deploy a journey'),
    h('p', { class: 'sub' }, 'Paste or write the journey JSON (PRODUCT.md §7). Each deploy is a new version.'),
    editor(JSON.stringify(SAMPLE, null, 2)));
}

/** The editor: line numbers, the text, a deploy button, and the answer. */
export function editor(initial) {
  const area = h('textarea', { class: 'code', name: 'journey', spellcheck: 'false', wrap: 'off',
    'aria-label': 'journey JSON' });
  area.value = initial;
  const gutter = h('div', { class: 'gutter', 'aria-hidden': 'true' });
  const result = h('div', { class: 'deploy-result', role: 'status' });
  let marks = new Map();  // line -> messages
  const drawGutter = () => {
    const n = area.value.split('\n').length;
    const rows = [];
    for (let i = 1; i <= n; i++) {
      const msgs = marks.get(i);
      rows.push(h('div', msgs ? { class: 'err', title: msgs.join('\n'), dataset: { line: i } } : { dataset: { line: i } },
        msgs ? '● ' : '', String(i)));
    }
    replace(gutter, rows);
    gutter.scrollTop = area.scrollTop;
  };
  area.addEventListener('input', () => { marks = new Map(); drawGutter(); });
  area.addEventListener('scroll', () => { gutter.scrollTop = area.scrollTop; });
  const goTo = (line) => {
    const starts = [0];
    for (let k = 0; k < area.value.length; k++) if (area.value[k] === '\n') starts.push(k + 1);
    const a = starts[line - 1] || 0;
    const b = line < starts.length ? starts[line] - 1 : area.value.length;
    area.focus();
    area.setSelectionRange(a, b);
  };
  const showErrors = (errors) => {
    marks = new Map();
    for (const e of errors) marks.set(e.line, [...(marks.get(e.line) || []), `${e.path || '(journey)'}: ${e.message}`]);
    drawGutter();
    replace(result, h('p', { class: 'error' }, `Not deployed: ${errors.length} error${errors.length === 1 ? '' : 's'}.`),
      h('ul', { class: 'validation-errors' }, errors.map((e) => h('li', { dataset: { path: e.path, line: e.line } },
        h('button', { type: 'button', class: 'link', onclick: () => goTo(e.line) }, `line ${e.line}`), ' ',
        h('code', { class: 'path' }, e.path || '(journey)'), ' ', h('span', { class: 'message' }, e.message)))));
  };
  const deploy = async () => {
    const text = area.value;
    let obj;
    try {
      obj = JSON.parse(text);
    } catch (err) {
      const m = /position (\d+)/.exec(err.message);
      return showErrors([{ path: '', line: m ? lineAt(text, Number(m[1])) : 1, message: err.message }]);
    }
    if (!obj || typeof obj !== 'object' || typeof obj.id !== 'string' || !obj.id) {
      return showErrors([{ path: 'id', line: lineOf(pathLines(text), 'id'), message: 'a journey needs a string "id"' }]);
    }
    replace(result, h('p', {}, 'Deploying…'));
    try {
      const r = await api('PUT', `/api/journeys/${enc(obj.id)}`, text);
      marks = new Map();
      drawGutter();
      replace(result, h('p', { class: 'ok' }, `Deployed ${obj.id}, version ${r && r.version}`,
        r && r.status ? ` (${r.status})` : '', '. ', h('a', { href: `#/journey/${enc(obj.id)}` }, 'Open it')));
    } catch (err) {
      if (err.status === 422 && Array.isArray(err.body.errors)) {
        const lines = pathLines(text);
        return showErrors(err.body.errors.map((e) => ({ path: String(e.path || ''), message: String(e.message || ''),
          line: lineOf(lines, String(e.path || '')) })));
      }
      replace(result, errorBox(err));
    }
  };
  drawGutter();
  return h('div', { class: 'editor' },
    h('div', { class: 'code-box' }, gutter, area),
    h('div', { class: 'actions' }, h('button', { type: 'button', class: 'primary deploy needs-editor', onclick: deploy }, 'Deploy')),
    result);
}
