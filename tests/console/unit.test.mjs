// Pure parts of the console, under Node's own test runner (no packages):
// where a validation path's line is in the editor's text, and the step graph's
// layered layout. Registered with ctest as console_js_unit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lineOf, pathLines } from '../../console/jsonlines.js';
import { edgesOf, layout } from '../../console/graph.js';

const TEXT = [
  '{',                                          // 1
  '  "id": "j",',                               // 2
  '  "exit": [{"event": "A"},',                 // 3
  '           {"when": {"path": "traits.x",',   // 4
  '                     "op": "exists"}}],',     // 5
  '  "steps": {',                               // 6
  '    "a": {"type": "send",',                  // 7
  '          "next": "b"},',                    // 8
  '    "b \\"q\\"": {"type": "exit"}',           // 9  (a key with escaped quotes)
  '  }',                                        // 10
  '}',                                          // 11
].join('\n');

test('each path is on the line of its key (arrays: of the element)', () => {
  const lines = pathLines(TEXT);
  assert.equal(lineOf(lines, 'id'), 2);
  assert.equal(lineOf(lines, 'exit'), 3);
  assert.equal(lineOf(lines, 'exit[0].event'), 3);
  assert.equal(lineOf(lines, 'exit[1]'), 4);
  assert.equal(lineOf(lines, 'exit[1].when.op'), 5);
  assert.equal(lineOf(lines, 'steps.a.next'), 8);
  assert.equal(lineOf(lines, 'steps.b "q".type'), 9);
});

test('a path missing from the text falls back to its nearest ancestor', () => {
  const lines = pathLines(TEXT);
  assert.equal(lineOf(lines, 'steps.a.channel'), 7);       // the field is missing: its step
  assert.equal(lineOf(lines, 'exit[1].when.value'), 4);     // the condition
  assert.equal(lineOf(lines, 'entry'), 1);                  // missing at the top: line 1
  assert.equal(lineOf(lines, ''), 1);
});

const TRIAL = {
  start: 'welcome',
  steps: {
    welcome: { type: 'send', next: 'wait1' },
    wait1: { type: 'wait', next: 'check' },
    check: { type: 'branch', cases: [{ next: 'done' }], default: 'nudge' },
    nudge: { type: 'wait_event', next: 'done', timeout_next: 'ab' },
    ab: { type: 'split', variants: [{ name: 'push', next: 'p' }, { name: 'sms', next: 's' }] },
    p: { type: 'send', next: 'tag' },
    s: { type: 'send', next: 'tag' },
    tag: { type: 'update', next: 'done' },
    done: { type: 'exit' },
  },
};

test('edges of each step type, labelled', () => {
  assert.deepEqual(edgesOf(TRIAL.steps.check), [{ to: 'done', label: 'case 0' }, { to: 'nudge', label: 'default' }]);
  assert.deepEqual(edgesOf(TRIAL.steps.nudge), [{ to: 'done', label: 'event' }, { to: 'ab', label: 'timeout' }]);
  assert.deepEqual(edgesOf(TRIAL.steps.ab), [{ to: 'p', label: 'push' }, { to: 's', label: 'sms' }]);
  assert.deepEqual(edgesOf(TRIAL.steps.done), []);
});

test('rows by longest path from start; a skipping edge gets a placeholder in each row between', () => {
  const { nodes, edges } = layout(TRIAL);
  const row = (id) => nodes.get(id).row;
  // welcome 0, wait1 1, check 2, nudge 3, ab 4, p/s 5, tag 6, done 7 (longest: via tag).
  assert.deepEqual(['welcome', 'wait1', 'check', 'nudge', 'ab', 'p', 's', 'tag', 'done'].map(row),
    [0, 1, 2, 3, 4, 5, 5, 6, 7]);
  const checkDone = edges.find((e) => e.from === 'check' && e.to === 'done');
  assert.equal(checkDone.chain.length, 6);                 // check, 4 placeholders (rows 3..6), done
  assert.deepEqual(checkDone.chain.map((n) => n.row), [2, 3, 4, 5, 6, 7]);
  assert.equal(edges.filter((e) => e.back).length, 0);
  // p and s side by side in row 5, same height, not overlapping.
  const p = nodes.get('p'), s = nodes.get('s');
  assert.equal(p.y, s.y);
  assert.ok(Math.abs(p.x - s.x) >= 184);
});

test('a loop back to an earlier step is a back edge; unreachable steps still get a place', () => {
  const { nodes, edges } = layout({ start: 'a', steps: {
    a: { type: 'wait', next: 'b' }, b: { type: 'branch', cases: [{ next: 'a' }], default: 'c' },
    c: { type: 'exit' }, lost: { type: 'exit' } } });
  assert.deepEqual(edges.map((e) => [e.from, e.to, e.back]),
    [['a', 'b', false], ['b', 'a', true], ['b', 'c', false]]);
  assert.equal(nodes.get('c').row, 2);
  assert.equal(nodes.get('lost').row, 0);
});
