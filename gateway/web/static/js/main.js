// The page shell: session, routes (#/queue, #/patients/ID, #/followups, #/devices, #/rosters, ...), the live
// stream shared by the views, the header switches (language, night mode, sound).
import { LANGS, lang, loadCatalogues, setLang, t, translate } from './i18n.js';
import * as prefs from './prefs.js';
import { login, onEnd, resume, session, signOut } from './session.js';
import { LiveStream } from './live.js';
import { esc } from './format.js';
import { unlockAudio } from './ui.js';
import * as queue from './queue.js';

const view = () => document.getElementById('view');
let unmount = null;
let expiredNotice = false;

const subscribers = new Set();
const live = new LiveStream(
  (type, ev) => { for (const fn of subscribers) fn(type, ev); },
  (status) => {
    const banner = document.getElementById('banner');
    const tag = document.getElementById('live');
    document.body.dataset.live = status;
    // data-i18n keeps them right across a language switch.
    if (status === 'live') {
      banner.hidden = true;
      tag.dataset.i18n = 'live.on';
      queue.reconnected();
    } else if (status === 'lost') {
      banner.dataset.i18n = 'live.lost';
      banner.hidden = false;
      tag.dataset.i18n = 'live.off';
    }
    translate(tag.parentElement);
    translate(banner.parentElement);
  },
);
live.subscribe = (fn) => subscribers.add(fn);
live.unsubscribe = (fn) => subscribers.delete(fn);

// Where each role starts: health data for clinicians, administration for administrators.
const HOME = { clinician: '#/queue', cardiologist: '#/consult', admin: '#/devices', auditor: '#/audit' };

const ROUTES = [
  [/^#\/queue$/, () => queue],
  [/^#\/patients\/([^/]+)$/, () => import('./patient.js')],
  [/^#\/patients\/([^/]+)\/strip\/([^/]+)$/, () => import('./patient.js')],
  [/^#\/followups$/, () => import('./followups.js')],
  [/^#\/devices$/, () => import('./devices.js')],
  [/^#\/rosters$/, () => import('./rosters.js')],
  [/^#\/settings$/, () => import('./settings.js')],
  [/^#\/consult$/, () => import('./consult.js')],
  [/^#\/consult\/([^/]+)$/, () => import('./consult.js')],
  // Patient list, history, reports (#28).
  [/^#\/patients$/, () => import('./patients.js')],
  [/^#\/history$/, () => import('./history.js')],
  [/^#\/alerts\/([^/]+)\/report$/, () => import('./alertreport.js')],
  [/^#\/audit$/, () => import('./audit.js')],
];

function applyPrefs() {
  setLang(prefs.get('lang'));
  document.body.classList.toggle('night', !!prefs.get('night'));
  document.getElementById('night').setAttribute('aria-pressed', String(!!prefs.get('night')));
  document.getElementById('sound').setAttribute('aria-pressed', String(!!prefs.get('sound')));
  document.getElementById('lang').lang = lang() === 'en' ? 'zh-CN' : 'en';
}

function showLogin(reason) {
  live.stop();
  document.getElementById('top').hidden = true;
  document.getElementById('banner').hidden = true;
  const el = view();
  el.innerHTML = `<section class="login" aria-labelledby="l-title">
    <h1 id="l-title" data-i18n="auth.title"></h1>
    ${reason === 'expired' ? '<p class="notice" role="status" data-i18n="auth.expired"></p>' : ''}
    <form id="login-form">
      <p><label for="l-user" data-i18n="auth.user"></label><input id="l-user" name="username" autocomplete="username" required></p>
      <p><label for="l-pass" data-i18n="auth.password"></label><input id="l-pass" name="password" type="password" autocomplete="current-password" required></p>
      <p class="error" role="alert" hidden></p>
      <p><button type="submit" class="primary" data-i18n="auth.login"></button>
         <button type="button" class="tool" id="l-lang" data-i18n="lang.switch"></button></p>
    </form></section>`;
  translate(el);
  el.querySelector('#l-lang').addEventListener('click', switchLang);
  const form = el.querySelector('#login-form');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const err = form.querySelector('.error');
    try {
      await login(form.username.value.trim(), form.password.value);
      expiredNotice = false;
      if (!location.hash || location.hash.startsWith('#/login')) location.hash = HOME[session().role] || '#/settings';
      else route();
    } catch (e) {
      err.textContent = e.status === 429 ? t('auth.too_many') : t('auth.failed');
      err.hidden = false;
    }
  });
  el.querySelector('#l-user').focus();
}

async function route() {
  if (unmount) { unmount(); unmount = null; }
  const s = session();
  if (!s) { showLogin(expiredNotice ? 'expired' : null); return; }
  const top = document.getElementById('top');
  top.hidden = false;
  document.getElementById('who').textContent = `${s.display_name} · ${t(`role.${s.role}`)}`;
  for (const a of top.querySelectorAll('nav a[data-role]')) a.hidden = !a.dataset.role.split(' ').includes(s.role);
  translate(top);
  if (s.role === 'clinician') live.start(); // the alert stream is the clinicians'
  if (!location.hash || location.hash.startsWith('#/login')) {
    history.replaceState(null, '', HOME[s.role] || '#/settings');
  }
  const hash = location.hash;
  for (const a of top.querySelectorAll('nav a')) {
    if (hash.startsWith(a.getAttribute('href'))) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  for (const [re, load] of ROUTES) {
    const m = hash.match(re);
    if (m) {
      const mod = await load();
      const el = view();
      el.innerHTML = '';
      unmount = mod.mount(el, live, ...m.slice(1).map(decodeURIComponent)) || null;
      return;
    }
  }
  notFound();
}

export function notFound() {
  if (unmount) { unmount(); unmount = null; }
  const el = view();
  el.innerHTML = `<section class="notfound"><h1 data-i18n="notfound.title"></h1>
    <p data-i18n="notfound.text"></p><p><a href="#/queue" data-i18n="nav.queue"></a></p></section>`;
  translate(el);
  document.body.dataset.page = 'notfound';
}
window.hmgNotFound = notFound;

function switchLang() {
  const next = LANGS[(LANGS.indexOf(lang()) + 1) % LANGS.length];
  prefs.set('lang', next);
  applyPrefs();
  translate(document);
  if (session()) route(); else showLogin(null);
}

async function start() {
  await loadCatalogues();
  applyPrefs();
  translate(document);
  document.getElementById('lang').addEventListener('click', switchLang);
  document.getElementById('night').addEventListener('click', () => {
    prefs.set('night', !prefs.get('night'));
    applyPrefs();
    if (session()) route();
  });
  document.getElementById('sound').addEventListener('click', () => {
    prefs.set('sound', !prefs.get('sound'));
    if (prefs.get('sound')) unlockAudio();
    applyPrefs();
  });
  document.getElementById('logout').addEventListener('click', async () => {
    expiredNotice = false;
    await signOut();
  });
  onEnd((reason) => {
    expiredNotice = reason === 'expired';
    live.stop();
    location.hash = '#/login';
    route();
  });
  window.addEventListener('hashchange', route);
  resume();
  document.body.dataset.ready = 'true';
  route();
}

start().catch((e) => {
  view().innerHTML = `<p class="error">${esc(String(e))}</p>`;
});
