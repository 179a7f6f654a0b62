// The dashboard's shell (docs/dashboard.md): sign-in, the views by URL hash
// (#/jobs, #/job/ID, #/hosts) and the one event stream every view listens to.
import { api, token, setToken, clearToken, streamEvents } from './api.js';
import { jobsView } from './jobs.js';
import { jobView } from './job.js';
import { hostsView } from './hosts.js';
import { me, emit, notice } from './bus.js';

const $ = (id) => document.getElementById(id);
let stopEvents = null;
let current = null;  // the view shown: {destroy()}

function showLogin(message) {
  if (stopEvents) stopEvents();
  stopEvents = null;
  if (current) current.destroy();
  current = null;
  $('view').replaceChildren();
  $('login').hidden = false;
  $('nav').hidden = $('logout').hidden = true;
  $('whoami').textContent = '';
  notice(message);
  $('token').focus();
}

async function signIn() {
  try {
    const ping = await api('/ping');
    me.user = ping.user || '';
    me.admin = !!ping.admin;
  } catch (e) {
    clearToken();
    showLogin(e.status === 401 ? 'That token was refused: ' + e.message : e.message);
    return;
  }
  $('login').hidden = true;
  $('nav').hidden = $('logout').hidden = false;
  $('whoami').textContent = `signed in as ${me.user || '?'}${me.admin ? ' (admin)' : ''}`;
  notice('');
  stopEvents = streamEvents(
    emit,
    (state) => {
      $('live').textContent = state === 'live' ? 'live' : state === 'unauthorised' ? 'signed out' : 'reconnecting...';
      $('live').className = 'live ' + state;
      if (state === 'unauthorised') showLogin('The token is no longer valid.');
    });
  route();
}

function route() {
  if (!token() || !$('login').hidden) return;
  if (current) current.destroy();
  const hash = location.hash || '#/jobs';
  const view = $('view');
  view.replaceChildren();
  const job = hash.match(/^#\/job\/(\d+)/);
  for (const a of document.querySelectorAll('nav a')) a.removeAttribute('aria-current');
  if (job) current = jobView(view, Number(job[1]));
  else if (hash.startsWith('#/hosts')) { current = hostsView(view); $('nav-hosts').setAttribute('aria-current', 'page'); }
  else { current = jobsView(view); $('nav-jobs').setAttribute('aria-current', 'page'); }
}

$('login').addEventListener('submit', (e) => {
  e.preventDefault();
  setToken($('token').value);
  $('token').value = '';
  signIn();
});
$('logout').addEventListener('click', () => { clearToken(); showLogin('Signed out.'); });
window.addEventListener('hashchange', route);
if (token()) signIn(); else showLogin('');
