// What the views share with the shell: who is signed in, the event stream's
// listeners, and the page's notice line.
export const me = { user: '', admin: false };
const listeners = new Set();

// A view subscribes to events for as long as it is shown; returns the unsubscribe.
export function onEvent(fn) { listeners.add(fn); return () => listeners.delete(fn); }
export function emit(kind, data) { for (const fn of listeners) fn(kind, data); }

export function notice(text) {
  const n = document.getElementById('notice');
  n.textContent = text || '';
  n.hidden = !text;
}
