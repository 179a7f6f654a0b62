// The dependencies of a job's process group as a small SVG graph: a node per
// job, an arrow from each job to those it waits for (its `dependency`,
// link-<when>-<job|work|subjob>-<id|label>), in columns by depth.
import { h, s } from './dom.js';

const W = 150, H = 34, GAP_X = 50, GAP_Y = 14;

export function targetsOf(job, byLabel) {
  const deps = Array.isArray(job.dependency) ? job.dependency : [job.dependency || ''];
  const out = [];
  for (const text of deps)
    for (const m of String(text).matchAll(/link-([a-z]+)-(job|work|subjob)-([A-Za-z0-9_.]+)/g)) {
      const id = /^\d+$/.test(m[3]) ? Number(m[3]) : byLabel.get(m[3]);
      if (id) out.push({ id, how: `${m[1]} ${m[2]}` });
    }
  return out;
}

export function dependencyGraph(jobs, currentId) {
  const byId = new Map(jobs.map((j) => [j.id, j]));
  const byLabel = new Map(jobs.filter((j) => j.label).map((j) => [j.label, j.id]));
  const edges = jobs.flatMap((j) => targetsOf(j, byLabel).filter((t) => byId.has(t.id)).map((t) => ({ from: j.id, to: t.id, how: t.how })));
  // Depth: 0 for a job that waits for none in the group; cycles cannot be submitted.
  const depth = new Map();
  const depthOf = (id, seen = new Set()) => {
    if (depth.has(id)) return depth.get(id);
    if (seen.has(id)) return 0;
    seen.add(id);
    const d = Math.max(0, ...edges.filter((e) => e.from === id).map((e) => depthOf(e.to, seen) + 1));
    depth.set(id, d);
    return d;
  };
  const columns = [];
  for (const j of [...jobs].sort((a, b) => a.id - b.id)) (columns[depthOf(j.id)] ||= []).push(j);
  const at = new Map();
  columns.forEach((col, x) => col.forEach((j, y) => at.set(j.id, { x: x * (W + GAP_X), y: y * (H + GAP_Y) })));
  const width = columns.length * (W + GAP_X) - GAP_X, height = Math.max(...columns.map((c) => c.length)) * (H + GAP_Y) - GAP_Y;
  const svg = s('svg', { viewBox: `-2 -2 ${width + 4} ${height + 4}`, width: String(width + 4), height: String(height + 4),
    role: 'img', 'aria-label': `Dependencies of process group: ${edges.length} link(s) between ${jobs.length} job(s)`, class: 'graph' },
  s('defs', {}, s('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: '10', refY: '5', markerWidth: '6', markerHeight: '6', orient: 'auto' },
    s('path', { d: 'M0,0 L10,5 L0,10 z' }))));
  for (const e of edges) {
    const a = at.get(e.from), b = at.get(e.to);
    const line = s('line', { x1: String(a.x), y1: String(a.y + H / 2), x2: String(b.x + W), y2: String(b.y + H / 2), 'marker-end': 'url(#arrow)' });
    line.append(s('title', {}, document.createTextNode(`${e.from} waits for ${e.to} (${e.how})`)));
    svg.append(line);
  }
  for (const j of jobs) {
    const p = at.get(j.id);
    const link = s('a', { href: `#/job/${j.id}`, class: 'node status-' + j.status + (j.id === currentId ? ' current' : '') },
      s('rect', { x: String(p.x), y: String(p.y), width: String(W), height: String(H), rx: '4' }),
      s('text', { x: String(p.x + 6), y: String(p.y + 14) }, document.createTextNode(`${j.id} ${(j.label || j.name || '').slice(0, 16)}`)),
      s('text', { x: String(p.x + 6), y: String(p.y + 28), class: 'sub' }, document.createTextNode(j.status)));
    svg.append(link);
  }
  return h('div', { className: 'graph-box' }, svg);
}
