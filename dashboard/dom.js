// Small helpers shared by the views: building elements (never from HTML text,
// so that a job's name or log can hold no markup) and formatting values.

// h('td', {className: 'x', onclick: f}, child, 'text', ...)
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else if (k === 'className' || k === 'textContent' || k === 'value') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

export const SVG = 'http://www.w3.org/2000/svg';
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  for (const c of children) el.append(c);
  return el;
}

export function when(t) {
  if (!t) return '-';
  const d = new Date(t * 1000);
  const p = (n) => String(n).padStart(2, '0');
  return `${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export const seconds = (x) => (x ? (x < 10 ? x.toFixed(2) : x.toFixed(1)) + 's' : '-');

export function memory(kb) {
  if (!kb || kb <= 0) return '-';
  if (kb >= 1048576) return (kb / 1048576).toFixed(1) + 'G';
  if (kb >= 1024) return (kb / 1024).toFixed(1) + 'M';
  return kb + 'K';
}

// How an attempt ended, as `qb show` words it.
export function outcome(a) {
  const names = { 1: 'HUP', 2: 'INT', 6: 'ABRT', 9: 'KILL', 11: 'SEGV', 15: 'TERM' };
  if (Number.isInteger(a.signal)) return `signal ${a.signal}` + (names[a.signal] ? ` (SIG${names[a.signal]})` : '');
  if (Number.isInteger(a.exitcode)) return `exit ${a.exitcode}`;
  return 'no exit code';
}

// A progress bar that reads as text too.
export function progressBar(p) {
  const total = p?.total || 0, done = p?.complete || 0, failed = p?.failed || 0;
  const pct = total ? Math.round((100 * done) / total) : 0;
  const bar = h('progress', { max: String(total || 1), value: String(done),
    'aria-label': `${done} of ${total} items complete${failed ? `, ${failed} failed` : ''}` });
  return h('span', { className: 'progress' + (failed ? ' has-failed' : '') }, bar, h('span', {}, `${pct}%`));
}

export function debounce(fn, ms) {
  let timer = 0;
  return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
}
