// A job's page: its frame grid, the chosen item's attempts and live log, the
// dependencies of its process group, its history and its failure analysis.
import { api, request } from './api.js';
import { h, when, seconds, memory, outcome, progressBar, debounce } from './dom.js';
import { onEvent, notice } from './bus.js';
import { frameGrid } from './grid.js';
import { dependencyGraph } from './graph.js';
import { failureView } from './failures.js';

const SHOW_PAGE = 10000;       // items a `show` reply carries at most (the supervisor's page)
const FAILED_LIMIT = 100000;   // failed items read for the analysis; past these, `qb show --failed`
const LOG_KEEP = 65536;    // characters of log kept on the page

const table = (caption, heads, rows) => h('table', { className: 'small' }, h('caption', {}, caption),
  h('thead', {}, h('tr', {}, heads.map((t) => h('th', { scope: 'col' }, t)))), h('tbody', {}, rows));

export function jobView(root, id) {
  const head = h('div', { className: 'job-head' });
  const result = h('p', { className: 'result', role: 'status', 'aria-live': 'polite' });
  const itemBox = h('section', { className: 'item', 'aria-label': 'Chosen item' }, h('p', {}, 'Choose an item in the grid to see its attempts and log.'));
  const deps = h('section', { 'aria-labelledby': 'deps-h' }, h('h3', { id: 'deps-h' }, 'Dependencies'));
  const history = h('section', { 'aria-labelledby': 'hist-h' }, h('h3', { id: 'hist-h' }, 'History'));
  const failures = h('section', { 'aria-labelledby': 'fail-h' }, h('h3', { id: 'fail-h' }, 'Failure analysis'));
  const grid = frameGrid(id, chooseItem);
  root.append(h('p', {}, h('a', { href: '#/jobs' }, 'All jobs')), head, result,
    h('section', { 'aria-labelledby': 'grid-h' }, h('h3', { id: 'grid-h' }, 'Frames'), grid.element),
    itemBox, deps, failures, history);

  let job = null;     // the summary
  let log = null;     // the log tail being followed: {work, stream, offset, timer}

  async function act(verb) {
    try {
      const reply = await request(verb, { ids: [id] });
      const errors = reply.errors || [];
      result.textContent = errors.length ? `${verb}: ${errors.join('; ')}` : `${verb}: done`;
      result.className = 'result' + (errors.length ? ' error' : '');
    } catch (e) {
      result.textContent = `${verb}: ${e.message}`;
      result.className = 'result error';
    }
    loadSummary();
  }

  async function loadSummary() {
    try {
      job = (await api('/jobs?ids=' + id)).jobs[0];
    } catch (e) {
      notice(`job ${id}: ${e.message}`);
      return;
    }
    const dl = h('dl', { className: 'facts' });
    head.replaceChildren(h('h2', {}, `Job ${job.id}: ${job.name}`), dl);
    for (const [k, v] of [['User', job.user], ['Status', h('span', { className: 'badge status-' + job.status, id: 'job-status' }, job.status)],
      ['Priority', String(job.priority)], ['Pgrp', String(job.pgrp)], ['Label', job.label || '-'],
      ['Submitted', when(job.timesubmit)], ['Progress', progressBar(job.progress)], ['Reason', job.reason || '-']])
      dl.append(h('dt', {}, k), h('dd', {}, v));
    head.append(h('div', { className: 'actions', role: 'toolbar', 'aria-label': `Act on job ${id}` },
      ['block', 'unblock', 'kill', 'retry'].map((v) => h('button', { type: 'button', dataset: { verb: v }, onclick: () => act(v) }, v[0].toUpperCase() + v.slice(1)))));
  }

  async function loadDeps() {
    try {
      const group = job?.pgrp ? (await api('/jobs?pgrp=' + job.pgrp)).jobs : [job];
      deps.replaceChildren(deps.firstChild, dependencyGraph(group.filter(Boolean), id));
    } catch (e) {
      deps.replaceChildren(deps.firstChild, h('p', {}, e.message));
    }
  }

  async function loadHistory() {
    try {
      const events = (await api(`/jobs/${id}/history?limit=200`)).events.slice().reverse();
      history.replaceChildren(history.firstChild, table('Newest first', ['Time', 'Event', 'What'],
        events.map((e) => h('tr', {}, h('td', {}, when(e.time)), h('td', {}, e.event), h('td', {}, e.text || '')))));
    } catch (e) {
      history.replaceChildren(history.firstChild, h('p', {}, e.message));
    }
  }

  // Only the items that ever failed, a page at a time (`show` with failed: true,
  // as `qb show --failed`), so a job of a million items costs what its failures do.
  async function failedItems() {
    let from = 0, first = null;
    const agenda = [];
    for (;;) {
      const page = (await request('show', { id, from, count: SHOW_PAGE, failed: true })).job;
      first = first || page;
      agenda.push(...(page.agenda || []));
      if (page.agenda_next === undefined || agenda.length >= FAILED_LIMIT) return { job: { ...first, agenda }, more: page.agenda_next !== undefined };
      from = page.agenda_next;
    }
  }

  let failuresRead = 0;  // the latest read wins when failures come faster than pages
  async function loadFailures() {
    const mine = ++failuresRead;
    try {
      const { job: failed, more } = await failedItems();
      if (mine !== failuresRead) return;
      const parts = failureView(failed);
      if (more) parts.push(h('p', {}, `The first ${failed.agenda.length} failed items only: run qb show ${id} --failed for all`));
      failures.replaceChildren(failures.firstChild, ...parts);
    } catch (e) {
      if (mine === failuresRead) failures.replaceChildren(failures.firstChild, h('p', {}, e.message));
    }
  }

  function chooseItem(item) {
    const attempts = [...(item.history || [])];
    const rows = attempts.map((a) => h('tr', {}, h('td', {}, '#' + a.attempt_id), h('td', {}, a.status), h('td', {}, a.host || '-'),
      h('td', {}, when(a.timestart)), h('td', {}, when(a.timecomplete)), h('td', {}, seconds(a.walltime)),
      h('td', {}, seconds(a.cputime)), h('td', {}, memory(a.peak_rss_kb)), h('td', {}, outcome(a)), h('td', {}, a.reason || '')));
    if (item.status === 'running')
      rows.push(h('tr', {}, h('td', {}, '#' + item.attempt_id), h('td', {}, 'running'), h('td', {}, item.host || '-'),
        h('td', {}, when(item.timestart)), h('td', {}, '-'), h('td', {}, '-'), h('td', {}, '-'), h('td', {}, '-'), h('td', {}, '-'), h('td', {}, '')));
    const same = log && log.work === item.name;
    const pre = same ? log.pre : h('pre', { className: 'log', id: 'log', tabIndex: 0, 'aria-label': `Log of item ${item.name}`, 'aria-live': 'off' });
    const streamSel = same ? log.select : h('select', { id: 'log-stream', onchange: () => follow(item, streamSel.value, pre, streamSel) },
      h('option', { value: 'stdout' }, 'stdout'), h('option', { value: 'stderr' }, 'stderr'));
    itemBox.replaceChildren(h('h3', {}, `Item ${item.name}: ${item.status}`),
      table('Attempts', ['Attempt', 'Status', 'Host', 'Started', 'Ended', 'Wall', 'CPU', 'Memory', 'Exit', 'Reason'], rows),
      h('div', { className: 'log-bar' }, h('label', { htmlFor: 'log-stream' }, 'Log'), streamSel), pre);
    if (!same) follow(item, 'stdout', pre, streamSel);
    else if (item.status === 'running' && !log.running) log.poke(true);
  }

  // Reads the item's latest attempt from where it left off, every second while it runs.
  function follow(item, stream, pre, select) {
    if (log) clearTimeout(log.timer);
    pre.textContent = '';
    log = { work: item.name, stream, offset: 0, attempt: 0, pre, select, running: item.status === 'running', timer: 0 };
    const mine = log;
    const tick = async () => {
      if (log !== mine) return;
      try {
        const q = new URLSearchParams({ work: mine.work, offset: String(mine.offset) });
        const part = (await api(`/jobs/${id}/${mine.stream}?${q}`)).parts[0];
        if (part.attempt !== mine.attempt) {  // a new attempt began: read it from its start
          const again = mine.attempt !== 0 && mine.offset > 0;
          mine.attempt = part.attempt;
          if (again) { mine.offset = 0; pre.textContent = ''; return tick(); }
        }
        if (part.data) {
          mine.offset += new TextEncoder().encode(part.data).length;
          pre.textContent = (pre.textContent + part.data).slice(-LOG_KEEP);
          pre.scrollTop = pre.scrollHeight;
        }
        if (part.data && mine.offset < part.size) return tick();  // more already written
      } catch (e) {
        if (!pre.textContent) pre.textContent = `(${e.message})`;
      }
      if (log === mine && mine.running) mine.timer = setTimeout(tick, 1000);
    };
    // An event about the item: read now, and keep reading while it runs.
    mine.poke = (running) => { mine.running = running; clearTimeout(mine.timer); mine.timer = setTimeout(tick, 200); };
    tick();
  }

  const later = debounce(async () => { await loadSummary(); loadHistory(); loadDeps(); }, 400);
  const laterFailures = debounce(loadFailures, 1500);
  const unsubscribe = onEvent((kind, e) => {
    if (kind === 'item' && e.job === id) {
      grid.onItemEvent(e);
      if (log && e.work === log.work) log.poke(!['complete', 'failed', 'killed'].includes(e.event));
      later();
      if (e.event === 'failed') laterFailures();
    } else if (kind === 'job' && e.id === id) {
      later();
      grid.onItemEvent({});
    }
  });

  (async () => {
    await loadSummary();
    grid.reload();
    loadDeps();
    loadHistory();
    loadFailures();
  })();
  return { destroy: () => { unsubscribe(); if (log) clearTimeout(log.timer); log = null; } };
}
