// The jobs view: every job the farm has, filtered, sorted and steered in bulk.
// Only the rows in sight are in the DOM (virtual scrolling), so 10,000 jobs
// paint as fast as 30; events update single rows in place.
import { api, request } from './api.js';
import { h, when, progressBar, debounce } from './dom.js';
import { onEvent, notice } from './bus.js';

const ROW = 30;        // px; style.css gives every row this height
const OVERSCAN = 10;   // rows drawn beyond the visible ones, above and below
const STATUSES = ['pending', 'blocked', 'waiting', 'running', 'suspended', 'complete', 'failed', 'killed', 'dying'];
const COLUMNS = [
  ['id', 'ID', (j) => j.id], ['name', 'Name', (j) => j.name], ['user', 'User', (j) => j.user],
  ['status', 'Status', (j) => j.status], ['priority', 'Priority', (j) => j.priority],
  ['pgrp', 'Pgrp', (j) => j.pgrp], ['label', 'Label', (j) => j.label],
  ['progress', 'Progress', (j) => (j.progress?.total ? j.progress.complete / j.progress.total : 0)],
  ['timesubmit', 'Submitted', (j) => j.timesubmit || 0],
];
// The protocol's verbs (docs/http-api.md), as `qb VERB IDS` sends them.
// performance.mark'd once a page load has painted its first jobs table: the
// figure docs/performance.md reports (tests/browser/test_dashboard.py measures it).
export const FIRST_PAINT_MARK = 'qube:jobs-painted';
let firstPaintMarked = false;
const VERBS = [['block', 'Block'], ['unblock', 'Unblock'], ['kill', 'Kill'], ['retry', 'Retry'], ['remove', 'Remove']];

export function jobsView(root) {
  const jobs = new Map();   // id -> summary
  const selected = new Set();
  let shown = [];           // the filtered, sorted jobs
  let sort = { key: 'id', dir: -1 };

  const filters = {};
  const filterBar = h('form', { className: 'filters', 'aria-label': 'Filter jobs', onsubmit: (e) => e.preventDefault() });
  const field = (key, label, input) => {
    input.id = 'filter-' + key;
    input.addEventListener('input', debounce(refilter, 120));
    filters[key] = input;
    filterBar.append(h('label', { htmlFor: input.id }, label), input);
  };
  field('user', 'User', h('input', { type: 'search', size: 8 }));
  field('status', 'Status', h('select', {}, h('option', { value: '' }, 'any'), STATUSES.map((s) => h('option', { value: s }, s))));
  field('label', 'Label', h('input', { type: 'search', size: 8 }));
  field('pgrp', 'Pgrp', h('input', { type: 'search', size: 5, inputMode: 'numeric' }));
  field('name', 'Name', h('input', { type: 'search', size: 12 }));
  const count = h('span', { className: 'count', role: 'status' });

  const priority = h('input', { id: 'priority', type: 'number', size: 5, value: '500' });
  const actionButtons = VERBS.map(([verb, label]) =>
    h('button', { type: 'button', dataset: { verb }, disabled: true, onclick: () => act(verb) }, label));
  const setPriority = h('button', { type: 'button', id: 'set-priority', disabled: true, onclick: () => act('modify') }, 'Set priority');
  const selectedCount = h('span', { className: 'count' }, 'none selected');
  const actions = h('div', { className: 'actions', role: 'toolbar', 'aria-label': 'Act on the selected jobs' },
    selectedCount, actionButtons, h('label', { htmlFor: 'priority' }, 'Priority'), priority, setPriority);
  const result = h('p', { className: 'result', role: 'status', 'aria-live': 'polite' });

  const all = h('input', { type: 'checkbox', 'aria-label': 'Select every job shown', onchange: () => {
    if (all.checked) shown.forEach((j) => selected.add(j.id)); else selected.clear();
    selectionChanged();
    draw();
  } });
  const heads = COLUMNS.map(([key, label]) => h('th', { scope: 'col', dataset: { key } },
    h('button', { type: 'button', className: 'sort', onclick: () => {
      sort = { key, dir: sort.key === key ? -sort.dir : 1 };
      refilter();
    } }, label)));
  const table = h('table', { className: 'jobs', id: 'jobs-table' },
    h('caption', { className: 'sr-only' }, 'Jobs (sortable; scroll for more)'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, all), heads)));
  const tbody = h('tbody');
  table.append(tbody);
  const scroller = h('div', { className: 'scroller', tabIndex: 0 }, table);
  scroller.addEventListener('scroll', () => requestAnimationFrame(draw), { passive: true });

  root.append(h('h2', {}, 'Jobs'), filterBar, count, actions, result, scroller);

  function matches(j) {
    const f = (k) => filters[k].value.trim();
    if (f('user') && j.user !== f('user')) return false;
    if (f('status') && j.status !== f('status')) return false;
    if (f('label') && !(j.label || '').includes(f('label'))) return false;
    if (f('pgrp') && String(j.pgrp) !== f('pgrp')) return false;
    if (f('name') && !(j.name || '').toLowerCase().includes(f('name').toLowerCase())) return false;
    return true;
  }

  function refilter() {
    const col = COLUMNS.find(([k]) => k === sort.key);
    shown = [...jobs.values()].filter(matches);
    shown.sort((a, b) => {
      const x = col[2](a), y = col[2](b);
      return (x < y ? -1 : x > y ? 1 : a.id - b.id) * sort.dir;
    });
    for (const th of heads)
      th.setAttribute('aria-sort', th.dataset.key === sort.key ? (sort.dir > 0 ? 'ascending' : 'descending') : 'none');
    count.textContent = `${shown.length} of ${jobs.size} jobs`;
    table.setAttribute('aria-rowcount', String(shown.length + 1));
    draw();
  }

  function row(j, index) {
    const box = h('input', { type: 'checkbox', checked: selected.has(j.id), 'aria-label': `Select job ${j.id}`,
      onchange: () => { box.checked ? selected.add(j.id) : selected.delete(j.id); selectionChanged(); } });
    return h('tr', { className: 'status-' + j.status, 'aria-rowindex': String(index + 2), dataset: { id: String(j.id) } },
      h('td', {}, box),
      h('td', {}, h('a', { href: `#/job/${j.id}` }, String(j.id))),
      h('td', { title: j.name }, j.name || '-'), h('td', {}, j.user),
      h('td', {}, h('span', { className: 'badge status-' + j.status }, j.status)),
      h('td', { className: 'num' }, String(j.priority)), h('td', { className: 'num' }, String(j.pgrp || '-')),
      h('td', {}, j.label || '-'), h('td', {}, progressBar(j.progress)), h('td', {}, when(j.timesubmit)));
  }

  function draw() {
    const first = Math.max(0, Math.floor(scroller.scrollTop / ROW) - OVERSCAN);
    const visible = Math.ceil((scroller.clientHeight || 600) / ROW) + 2 * OVERSCAN;
    const last = Math.min(shown.length, first + visible);
    const spacer = (px) => h('tr', { className: 'spacer', 'aria-hidden': 'true' }, h('td', { colSpan: COLUMNS.length + 1 }));
    const top = spacer(), bottom = spacer();
    top.firstChild.style.height = first * ROW + 'px';
    bottom.firstChild.style.height = (shown.length - last) * ROW + 'px';
    const rows = [];
    for (let i = first; i < last; ++i) rows.push(row(shown[i], i));
    tbody.replaceChildren(top, ...rows, bottom);
  }

  function selectionChanged() {
    for (const id of selected) if (!jobs.has(id)) selected.delete(id);
    selectedCount.textContent = selected.size ? `${selected.size} selected` : 'none selected';
    for (const b of [...actionButtons, setPriority]) b.disabled = selected.size === 0;
    all.checked = selected.size > 0 && selected.size >= shown.length;
  }

  // One request for every selected job; the farm answers per job (refused ones in `errors`).
  async function act(verb) {
    const ids = [...selected];
    if ((verb === 'kill' || verb === 'remove') && !confirm(`${verb} ${ids.length} job(s)?`)) return;
    const body = { ids };
    if (verb === 'modify') {
      const p = Number(priority.value);
      if (!Number.isInteger(p)) { result.textContent = 'Priority: a whole number'; return; }
      body.set = { priority: p };
    }
    try {
      const reply = await request(verb, body);
      const errors = reply.errors || [];
      const done = ids.length - errors.length;
      result.textContent = `${verb}: ${done} job(s) done` + (errors.length ? `; refused: ${errors.join('; ')}` : '');
      result.className = 'result' + (errors.length ? ' error' : '');
      refresh(ids);
    } catch (e) {
      result.textContent = `${verb}: ${e.message}`;
      result.className = 'result error';
    }
  }

  async function loadAll() {
    try {
      const reply = await api('/jobs');
      jobs.clear();
      for (const j of reply.jobs) jobs.set(j.id, j);
      selectionChanged();
      refilter();
      if (!firstPaintMarked) {
        firstPaintMarked = true;
        // The next frame's callback runs before it is painted; the task after it, once painted.
        requestAnimationFrame(() => setTimeout(() => performance.mark(FIRST_PAINT_MARK)));
      }
    } catch (e) {
      notice('jobs: ' + e.message);
    }
  }

  // The jobs events named, read again together (a removed one is dropped by its event).
  const pending = new Set();
  const flush = debounce(async () => {
    const ids = [...pending].filter((id) => !gone.has(id));
    pending.clear();
    for (let at = 0; at < ids.length; at += 200) {
      try {
        const reply = await api('/jobs?ids=' + ids.slice(at, at + 200).join(','));
        for (const j of reply.jobs) jobs.set(j.id, j);
      } catch (e) {
        return loadAll();  // one of them went meanwhile: read the list again
      }
    }
    refilter();
  }, 250);
  const gone = new Set();
  function refresh(ids) { ids.forEach((id) => pending.add(id)); flush(); }

  const unsubscribe = onEvent((kind, e) => {
    if (kind === 'job') {
      if (e.event === 'remove' || e.event === 'removed' || !e.status) {
        gone.add(e.id);
        if (jobs.delete(e.id)) { selectionChanged(); refilter(); }
      } else refresh([e.id]);
    } else if (kind === 'item' && jobs.has(e.job)) refresh([e.job]);
  });

  loadAll();
  return { destroy: unsubscribe };
}
