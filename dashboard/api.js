// Every call to the supervisor's HTTP API (docs/http-api.md), with the bearer
// token of this tab. The token lives in sessionStorage: gone when the tab closes.
const KEY = 'qube.token';

export const token = () => sessionStorage.getItem(KEY) || '';
export const setToken = (t) => sessionStorage.setItem(KEY, t.trim());
export const clearToken = () => sessionStorage.removeItem(KEY);

export class ApiError extends Error {
  constructor(message, status) { super(message); this.status = status; }
}

function headers(json) {
  const h = { Authorization: 'Bearer ' + token() };
  if (json) h['Content-Type'] = 'application/json';
  return h;
}

// GET (no body) or POST (body: an object, {} when none); the reply's JSON, or ApiError.
export async function api(path, body) {
  const init = body === undefined ? { headers: headers(false) }
    : { method: 'POST', headers: headers(true), body: JSON.stringify(body) };
  const res = await fetch('/api/v1' + path, init);
  let reply = null;
  try { reply = await res.json(); } catch { reply = null; }
  if (!res.ok) throw new ApiError((reply && reply.error) || res.status + ' ' + res.statusText, res.status);
  return reply;
}

// One protocol request to many jobs or hosts at once (POST /request).
export const request = (type, body) => api('/request', { type, body });

// GET /events as a stream read by fetch(), not EventSource: EventSource cannot
// send the Authorization header, and a token in the URL would land in logs.
// Calls onEvent(kind, data) for each event and onState('live' | 'reconnecting')
// as the stream comes and goes; reconnects with a growing pause. Returns a stop().
export function streamEvents(onEvent, onState) {
  const abort = new AbortController();
  let pause = 500;
  const run = async () => {
    while (!abort.signal.aborted) {
      try {
        const res = await fetch('/api/v1/events', { headers: headers(false), signal: abort.signal });
        if (!res.ok) throw new ApiError('events: ' + res.status, res.status);
        onState('live');
        pause = 500;
        const reader = res.body.getReader();
        const decoder = new TextDecoder();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          let end;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            let kind = 'message', data = '';
            for (const line of block.split('\n')) {
              if (line.startsWith('event: ')) kind = line.slice(7);
              else if (line.startsWith('data: ')) data += line.slice(6);
            }
            if (data) {
              try { onEvent(kind, JSON.parse(data)); } catch (e) { console.warn('event', kind, e); }
            }
          }
        }
      } catch (e) {
        if (abort.signal.aborted) return;
        if (e instanceof ApiError && e.status === 401) { onState('unauthorised'); return; }
      }
      onState('reconnecting');
      await new Promise((r) => setTimeout(r, pause));
      pause = Math.min(pause * 2, 10000);
    }
  };
  run();
  return () => abort.abort();
}
