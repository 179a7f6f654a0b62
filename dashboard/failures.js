// The failure analysis of `qb show --failed` (qb/format.cpp, failure_summary):
// failed attempts grouped by host and by how they ended, with the usual reading
// of each ending.
import { h, outcome } from './dom.js';

const SIGNALS = { 9: 'killed: often out of memory (the kernel\'s OOM killer) or a kill',
  11: 'crashed (segmentation fault)', 6: 'aborted (an assertion or an uncaught exception)',
  15: 'terminated (killed by a user or a time limit)' };
const EXITS = { 137: '128+9: killed, often out of memory', 127: 'command not found', 126: 'command not executable' };

function hint(a) {
  if (Number.isInteger(a.signal)) return SIGNALS[a.signal] || '';
  if (Number.isInteger(a.exitcode)) return EXITS[a.exitcode] || '';
  return '';
}

export function failureSummary(job) {
  const byHost = new Map(), byOutcome = new Map();
  let total = 0;
  for (const item of job.agenda || [])
    for (const a of item.history || []) {
      if (a.status !== 'failed') continue;
      const host = a.host || '-', what = outcome(a);
      const hc = byHost.get(host) || new Map();
      hc.set(what, (hc.get(what) || 0) + 1);
      byHost.set(host, hc);
      const o = byOutcome.get(what) || { failures: 0, hosts: new Set(), hint: hint(a) };
      o.failures++;
      o.hosts.add(host);
      byOutcome.set(what, o);
      ++total;
    }
  return { total, byHost, byOutcome, excluded: job.excluded_hosts || [] };
}

export function failureView(job) {
  const f = failureSummary(job);
  const parts = [h('p', {}, `${f.total} failed attempt(s)`)];
  if (f.excluded.length)
    parts.push(h('p', {}, 'Excluded hosts: ' + f.excluded.map((e) => `${e.host} (${e.reason})`).join(', ')));
  if (!f.total) return parts;
  parts.push(h('table', { className: 'small' }, h('caption', {}, 'By host'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Host'), h('th', { scope: 'col' }, 'Failures'), h('th', { scope: 'col' }, 'Endings'))),
    h('tbody', {}, [...f.byHost].map(([host, counts]) => h('tr', {}, h('td', {}, host),
      h('td', { className: 'num' }, String([...counts.values()].reduce((a, b) => a + b, 0))),
      h('td', {}, [...counts].map(([w, c]) => `${w} x${c}`).join(', ')))))));
  parts.push(h('table', { className: 'small' }, h('caption', {}, 'By exit'),
    h('thead', {}, h('tr', {}, ['Ending', 'Failures', 'Hosts', 'Likely'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, [...f.byOutcome].map(([what, o]) => h('tr', {}, h('td', {}, what), h('td', { className: 'num' }, String(o.failures)),
      h('td', { className: 'num' }, String(o.hosts.size)), h('td', {}, o.hint))))));
  return parts;
}
