// A job's frame grid: one cell per item for small ranges, or per bucket of
// items for large ones (GET /jobs/ID/grid counts them on the supervisor, so a
// 1,000,000-item agenda never crosses the wire). A bucket's cell is striped by
// its statuses' shares; activating it zooms into its range.
import { api } from './api.js';
import { h, debounce } from './dom.js';

const CELLS = 1000;       // cells drawn at most
const ITEM_LIMIT = 1000;  // ranges this short come with their items (the server's kMaxGridItems)
const ORDER = ['complete', 'running', 'failed', 'killed', 'retrying', 'pending', 'waiting', 'blocked', 'skipped'];

// What an item event means for its cell, before the grid is read again.
const EVENT_STATUS = { complete: 'complete', failed: 'failed', killed: 'killed', running: 'running', started: 'running',
  start: 'running', retried: 'pending', requeued: 'pending', blocked: 'blocked', unblocked: 'pending' };

function describe(counts) {
  return ORDER.filter((s) => counts[s]).map((s) => `${counts[s]} ${s}`).join(', ') || 'empty';
}

// onItem(item) when an item cell is chosen; returns {element, reload(), onItemEvent(e)}.
export function frameGrid(jobId, onItem) {
  const stack = [];   // zoom: the ranges above the current one
  let range = null;   // {from, to}; null: the whole agenda
  let items = new Map();  // name -> cell, when cells are items
  let chosen = '';
  const cells = h('div', { className: 'cells', role: 'group', 'aria-label': 'Frame grid' });
  const where = h('span', { className: 'range', role: 'status' });
  const out = h('button', { type: 'button', disabled: true, onclick: () => { range = stack.pop() || null; reload(); } }, 'Zoom out');
  const legend = h('ul', { className: 'legend', 'aria-label': 'Colours' },
    ORDER.map((s) => h('li', {}, h('span', { className: 'swatch status-' + s }), s)));
  const element = h('div', { className: 'grid' }, h('div', { className: 'grid-bar' }, out, where), cells, legend);

  async function reload() {
    const q = new URLSearchParams({ buckets: String(CELLS) });
    if (range) { q.set('from', range.from); q.set('to', range.to); }
    const span = range ? range.to - range.from : null;
    if (span !== null && span <= ITEM_LIMIT) q.set('items', '1');
    let g;
    try {
      g = await api(`/jobs/${jobId}/grid?${q}`);
    } catch (e) {
      where.textContent = 'grid: ' + e.message;
      return;
    }
    // The whole of a small job: ask again with its items.
    if (!g.items && g.to - g.from <= ITEM_LIMIT && g.to > g.from) {
      range = { from: g.from, to: g.to };
      return reload();
    }
    draw(g);
  }

  function draw(g) {
    out.disabled = stack.length === 0;
    where.textContent = `items ${g.from + 1}-${g.to} of ${g.total}: ${describe(g.counts)}`;
    items = new Map();
    if (g.items) {
      cells.className = 'cells items';
      cells.replaceChildren(...g.items.map((item) => {
        const cell = h('button', { type: 'button', className: 'cell status-' + item.status, title: `${item.name}: ${item.status}`,
          'aria-label': `item ${item.name}: ${item.status}`, 'aria-pressed': String(item.name === chosen),
          dataset: { work: item.name, status: item.status },
          onclick: () => { chosen = item.name; for (const c of items.values()) c.setAttribute('aria-pressed', String(c === cell)); onItem(item); } });
        items.set(item.name, cell);
        if (item.name === chosen) onItem(item);
        return cell;
      }));
      return;
    }
    cells.className = 'cells buckets';
    cells.replaceChildren(...g.buckets.map((b) => {
      const n = b.to - b.from;
      const cell = h('button', { type: 'button', className: 'cell bucket', title: `items ${b.from + 1}-${b.to}: ${describe(b.counts)}`,
        'aria-label': `items ${b.from + 1} to ${b.to}: ${describe(b.counts)}; zoom in`,
        onclick: () => { stack.push(range); range = { from: b.from, to: b.to }; reload(); } });
      // Stripes in the statuses' shares, via CSSOM (the page's CSP allows no inline style text).
      let at = 0;
      const stops = [];
      for (const s of ORDER) {
        if (!b.counts[s]) continue;
        const end = at + (100 * b.counts[s]) / n;
        stops.push(`var(--${s}) ${at}% ${end}%`);
        at = end;
      }
      cell.style.background = stops.length ? `linear-gradient(to top, ${stops.join(', ')})` : '';
      return cell;
    }));
  }

  const again = debounce(reload, 300);
  function onItemEvent(e) {
    const cell = items.get(e.work);
    const status = EVENT_STATUS[e.event];
    if (cell && status) {
      cell.className = 'cell status-' + status;
      cell.dataset.status = status;
      cell.setAttribute('aria-label', `item ${e.work}: ${status}`);
    }
    again();
  }

  return { element, reload, onItemEvent };
}
