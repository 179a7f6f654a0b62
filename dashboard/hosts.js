// The hosts view: each worker's state, slots and memory, what runs on it, and
// (for admins) lock, drain and unlock.
import { api } from './api.js';
import { h, when, debounce } from './dom.js';
import { onEvent, notice, me } from './bus.js';

export function hostsView(root) {
  const result = h('p', { className: 'result', role: 'status', 'aria-live': 'polite' });
  const tbody = h('tbody');
  root.append(h('h2', {}, 'Hosts'), result,
    h('table', { className: 'hosts', id: 'hosts-table' }, h('caption', { className: 'sr-only' }, 'Hosts'),
      h('thead', {}, h('tr', {}, ['Name', 'State', 'Slots', 'Memory', 'Last heartbeat', 'Running', 'Actions'].map((t) => h('th', { scope: 'col' }, t)))),
      tbody));

  // Lock: nothing new starts; purge stops what runs; drain lets running items finish
  // and their instances take no more (qb lock HOST [--purge|--drain]).
  async function act(host, verb, body) {
    try {
      await api(`/hosts/${encodeURIComponent(host)}/${verb}`, body);
      result.textContent = `${host}: ${verb}${body.drain ? ' (drain)' : body.purge ? ' (purge)' : ''} done`;
      result.className = 'result';
    } catch (e) {
      result.textContent = `${host}: ${verb}: ${e.message}`;
      result.className = 'result error';
    }
    load();
  }

  // What runs where: the running jobs' instances, by host.
  async function running() {
    const where = new Map();
    const jobs = (await api('/jobs?status=running')).jobs;
    await Promise.all(jobs.slice(0, 200).map(async (j) => {
      try {
        const full = (await api(`/jobs/${j.id}`)).job;
        for (const s of full.instances || [])
          if (s.status === 'running' && s.host) (where.get(s.host) || where.set(s.host, []).get(s.host)).push(`${j.id}.${s.subid} ${j.name}`);
      } catch { /* ended meanwhile */ }
    }));
    return where;
  }

  async function load() {
    let hosts, where;
    try {
      [hosts, where] = await Promise.all([api('/hosts').then((r) => r.hosts), running()]);
    } catch (e) {
      notice('hosts: ' + e.message);
      return;
    }
    tbody.replaceChildren(...hosts.map((x) => {
      const state = x.state + (x.draining ? ' (draining)' : '') + (x.suspect ? ' SUSPECT' : '');
      const button = (label, verb, body) => h('button', { type: 'button', disabled: !me.admin,
        title: me.admin ? '' : 'admins only', 'aria-label': `${label} ${x.name}`, onclick: () => act(x.name, verb, body) }, label);
      return h('tr', { className: 'state-' + x.state, dataset: { host: x.name } },
        h('th', { scope: 'row' }, x.name), h('td', { title: x.suspect_reason || '' }, state),
        h('td', { className: 'num' }, `${x.slots_used}/${x.slots}`), h('td', { className: 'num' }, `${x.memory_mb} MB`),
        h('td', {}, when(x.last_heartbeat)),
        h('td', {}, (where.get(x.name) || []).map((r) => h('div', {}, h('a', { href: `#/job/${r.split('.')[0]}` }, r)))),
        h('td', { className: 'actions' }, x.state === 'locked'
          ? button('Unlock', 'unlock', {})
          : [button('Lock', 'lock', {}), button('Drain', 'lock', { drain: true })]));
    }));
  }

  const later = debounce(load, 500);
  const unsubscribe = onEvent((kind, e) => {
    if (kind === 'host' || kind === 'subjob' || (kind === 'job' && (e.event === 'running' || e.event === 'complete'))) later();
  });
  load();
  return { destroy: unsubscribe };
}
