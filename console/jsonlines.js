// Where each value of a JSON text starts: path ("steps.a.next", "exit[0]")
// -> line (1-based), in the server's validation path format. For an object
// member the line is the key's. Call on text JSON.parse accepted.
export function pathLines(text) {
  const lines = new Map();
  let i = 0, line = 1;
  const ws = () => {
    while (i < text.length && ' \t\r\n'.includes(text[i])) { if (text[i] === '\n') line++; i++; }
  };
  const str = () => {
    const start = i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i));
  };
  const value = (path) => {
    ws();
    if (!lines.has(path)) lines.set(path, line);
    const c = text[i];
    if (c === '{') {
      i++; ws();
      while (text[i] !== '}' && i < text.length) {
        ws();
        const keyLine = line;
        const key = str();
        const sub = path ? `${path}.${key}` : key;
        lines.set(sub, keyLine);
        ws(); i++;  // ':'
        value(sub);
        ws();
        if (text[i] === ',') i++;
        ws();
      }
      i++;
    } else if (c === '[') {
      i++; ws();
      let n = 0;
      while (text[i] !== ']' && i < text.length) {
        value(`${path}[${n++}]`);
        ws();
        if (text[i] === ',') i++;
        ws();
      }
      i++;
    } else if (c === '"') {
      str();
    } else {
      while (i < text.length && !',]} \t\r\n'.includes(text[i])) i++;
    }
  };
  value('');
  return lines;
}

/** The line of `path`, or of its nearest ancestor in the text (a missing field). */
export function lineOf(lines, path) {
  let p = path;
  while (p) {
    if (lines.has(p)) return lines.get(p);
    const cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
    p = cut > 0 ? p.slice(0, cut) : '';
  }
  return lines.get('') || 1;
}

/** Line (1-based) of a character offset. */
export function lineAt(text, offset) {
  let n = 1;
  for (let k = 0; k < offset && k < text.length; k++) if (text[k] === '\n') n++;
  return n;
}
