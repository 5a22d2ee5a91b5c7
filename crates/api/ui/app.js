/* 清廉 Qinglian workbench: the whole single-page app.
 *
 * Vanilla ES2020, no framework, no build step. The server's Content-Security-Policy forbids
 * inline script/style and eval, so everything is built with DOM calls, and every piece of
 * data reaches the page as text (textContent via h()), never as HTML.
 *
 * Every view is a URL under /ui/ (filters in the query string); links are real hrefs that
 * a document-level click handler turns into history.pushState + render().
 */
(() => {
'use strict';

const MAX_GRAPH = 300;     // elements (nodes + edges) one graph may hold
const PAGE = 50;           // rows per page in lists and per edge group
const EXPAND_LIMIT = 20;   // edges per group fetched when a graph node is expanded
const EXPORT_PAGE = 500;   // page size used to fetch a whole filtered list for export
const SEVERITIES = ['red', 'yellow', 'green'];
const SEV_RANK = { red: 3, yellow: 2, green: 1 };
const FINDING_STATUSES = ['open', 'confirmed', 'dismissed'];
const CASE_STATUSES = ['open', 'closed'];
// Fallback for the rule filter when the summary cannot be read (ids of queries/*.toml).
const KNOWN_RULES = ['bid_rigging', 'blacklisted_bidder', 'deceased_recipient',
  'evaluator_conflict', 'linked_subsidy', 'relative_wins', 'revolving_door', 'self_dealing',
  'split_contracts', 'undeclared_interest'];
// Node kinds at each end of an edge kind (crates/model/src/kinds.rs); null = several kinds.
// Used to colour a neighbour we only know by id.
const EDGE_ENDS = {
  POSITION: ['Person', 'Agency'], RELATION: ['Person', 'Person'], OWNS: [null, 'Company'],
  ROLE: ['Person', 'Company'], PART_OF: ['Agency', 'Agency'], RAN: ['Agency', 'Tender'],
  BID: ['Company', 'Tender'], HANDLED: ['Person', 'Tender'], AWARDED: ['Agency', 'Contract'],
  TO: [null, null], APPROVED_BY: [null, 'Person'], UNDER: ['Contract', 'Tender'],
  PAID: ['Agency', 'Subsidy'], DECLARED: ['Person', null],
};

const state = {
  session: undefined,  // undefined: not asked yet; null: signed out; else GET /ui/session
  caseForm: false,     // show the case-context form instead of the view
  seq: 0,              // render generation: async work of an older render is dropped
};

/* ---------- small helpers ---------- */

const enc = encodeURIComponent;
const $ = (sel, root = document) => root.querySelector(sel);

/** h('a', {href, class, onclick}, ...children): an element; strings become text nodes. */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  const a = attrs || {};
  for (const [k, v] of Object.entries(a)) {
    if (v == null || v === false || k === 'value') continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  // A select's value can only be set once its options exist.
  if (a.value != null) el.value = a.value;
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Appends children to el (nulls skipped; the DOM's own append would write "null"). */
const add = (el, ...children) => append(el, children);
/** Replaces el's children. */
const fill = (el, ...children) => { el.replaceChildren(); return append(el, children); };

/** t() with {name} placeholders filled in. */
function tf(key, vars) {
  return t(key).replace(/\{(\w+)\}/g, (m, k) => (vars && k in vars ? String(vars[k]) : m));
}

/** Label for a data value (rule id, status, kind...): its translation, else the raw value. */
function tk(prefix, value) {
  if (value == null || value === '') return '—';
  const key = prefix + '.' + value;
  const dict = window.QL_I18N && (QL_I18N[qlLang()] || QL_I18N.zh);
  return dict && Object.prototype.hasOwnProperty.call(dict, key) ? t(key) : String(value);
}

/** '/path?k=v' with empty values left out; URLSearchParams percent-encodes (UTF-8). */
function url(path, params) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v != null && v !== '') qs.set(k, String(v));
  }
  const s = qs.toString();
  return s ? path + '?' + s : path;
}

function toInt(v, dflt, min = 0, max = Infinity) {
  const n = Number.parseInt(v, 10);
  return Number.isFinite(n) ? Math.min(max, Math.max(min, n)) : dflt;
}

function safeDecode(s) {
  try { return decodeURIComponent(s); } catch (e) { return s; }
}

const today = () => new Date().toISOString().slice(0, 10);
/** Epoch milliseconds → 'YYYY-MM-DD HH:MM:SS UTC'. */
const fmtTs = (ms) => (Number.isFinite(ms) ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) + ' UTC' : '—');
const fmtScore = (s) => (Number.isFinite(s) ? String(Math.round(s * 10) / 10) : '—');
const fmtValid = (v) => (!v || (!v.start && !v.end) ? '—' : `${v.start || '—'} – ${v.end || '—'}`);
const fmtSource = (s) => (s && s.file ? `${s.file}:${s.line}` : '—');
const truncate = (s, n) => (s && s.length > n ? s.slice(0, n - 1) + '…' : s || '');
/** File names are built from our own ids; keep them to safe characters anyway. */
const safeName = (s) => String(s).replace(/[^A-Za-z0-9._-]/g, '_');

const findingHref = (id) => '/ui/finding/' + enc(id);
const entityHref = (id) => '/ui/entity/' + enc(id);
const caseHref = (n) => '/ui/case/' + enc(n);

/* ---------- API ---------- */

/**
 * fetch() with the session cookie. POST/DELETE carry the session's CSRF token (all but the
 * sign-in itself). A string body is sent as is (a pasted clearance must reach the server
 * byte for byte). Errors throw an Error with .status, .code and the server's message.
 */
async function api(method, path, body, bearer) {
  const headers = { Accept: 'application/json' };
  // Only the sign-in sends the token, in the header: never in a body, which the audit keeps.
  if (bearer) headers.Authorization = 'Bearer ' + bearer;
  const opts = { method, credentials: 'same-origin', headers };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    opts.body = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const csrf = state.session && state.session.csrf;
  if ((method === 'POST' || method === 'DELETE') && path !== '/ui/session' && csrf) {
    headers['X-CSRF-Token'] = csrf;
  }
  let res;
  try {
    res = await fetch(path, opts);
  } catch (e) {
    throw Object.assign(new Error(t('error.network')), { status: 0, code: 'network' });
  }
  if (res.status === 204) return null;
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
  if (!res.ok) {
    const err = (data && data.error) || {};
    const e = new Error(err.message || `${res.status} ${res.statusText}`);
    e.status = res.status;
    e.code = err.code || 'http_' + res.status;
    throw e;
  }
  return data;
}

/** 401 → sign-in, 400 case_required → case form; true when handled that way. */
function handledGlobally(e) {
  if (e.status === 401) { state.session = null; render(); return true; }
  if (e.code === 'case_required') { state.caseForm = true; render(); return true; }
  return false;
}

function errorBox(e) {
  return h('p', { class: 'error', role: 'alert' }, tf('error.prefix', { code: e.code || '?' }), ' ', e.message);
}

/** For errors inside a section or form: global cases, else the message in `el`. */
function showError(el, e) {
  if (handledGlobally(e)) return;
  fill(el, errorBox(e));
}

/* ---------- downloads ---------- */

function saveText(name, text, type) {
  const href = URL.createObjectURL(new Blob([text], { type }));
  const a = h('a', { href, download: name, class: 'visually-hidden' });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 30000);
}

const saveJson = (name, value) => saveText(name, JSON.stringify(value, null, 2) + '\n', 'application/json');

/** [[header, value of a row]] for columns that are plain fields of the API's objects. */
const fieldCols = (keys) => keys.map((k) => [k, (x) => x[k]]);

const FINDING_COLS = fieldCols(['id', 'severity', 'pattern', 'score', 'status', 'official', 'official_name',
  'agency', 'target', 'target_name', 'target2', 'ref', 'ref_type', 'explanation']);

/** One CSV cell: quoted; a leading = + - @ tab or CR gets a ' so spreadsheets show, not run, it. */
function csvCell(v) {
  let s = v == null ? '' : String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = "'" + s;
  return '"' + s.replace(/"/g, '""') + '"';
}

/** CSV text (CRLF, as spreadsheets expect) of rows under cols' headers. */
function toCsv(rows, cols) {
  const lines = [cols.map(([head]) => csvCell(head)).join(',')];
  for (const r of rows) lines.push(cols.map(([, get]) => csvCell(get(r))).join(','));
  return lines.join('\r\n') + '\r\n';
}

/**
 * Saves `<file>-YYYY-MM-DD.csv|jsonl`. JSONL keeps the API's objects untouched; CSV flattens
 * them with cols, after `explode` (object, index) → rows when one object makes several rows.
 */
function saveExport(file, fmt, objs, cols, explode) {
  const name = `${file}-${today()}`;
  if (fmt === 'jsonl') {
    saveText(name + '.jsonl', objs.map((x) => JSON.stringify(x) + '\n').join(''), 'application/x-ndjson');
    return;
  }
  const rows = explode ? objs.flatMap(explode) : objs;
  // The BOM makes Excel read the file as UTF-8 (names are Chinese).
  saveText(name + '.csv', '\uFEFF' + toCsv(rows, cols), 'text/csv;charset=utf-8');
}

/**
 * CSV + JSONL buttons for one list: ids `<id>-csv`, `<id>-jsonl`, `<id>-status`.
 * opts: {id, file, label (names the group for screen readers: pages hold several bars),
 * cols, explode?, load(status) → the objects, read at click time so rows added later count}.
 */
function listExport(opts) {
  const status = h('span', { id: opts.id + '-status', class: 'muted', 'aria-live': 'polite' });
  const run = (fmt) => async (ev) => {
    const btn = ev.currentTarget;
    btn.disabled = true;
    try {
      const objs = await opts.load(status);
      saveExport(opts.file, fmt, objs, opts.cols, opts.explode);
      status.textContent = tf('export.done', { n: objs.length });
    } catch (e) {
      showError(status, e);
    } finally {
      btn.disabled = false;
    }
  };
  return h('div', { class: 'exportbar', role: 'group', 'aria-label': opts.label },
    h('button', { id: opts.id + '-csv', type: 'button', class: 'secondary', onclick: run('csv') }, t('export.csv')),
    h('button', { id: opts.id + '-jsonl', type: 'button', class: 'secondary', onclick: run('jsonl') }, t('export.jsonl')),
    status);
}

/** A list the view shows whole: the export is what is on the page. */
const shownList = (list) => async () => list;

/** Every page of a server-paged list (EXPORT_PAGE at a time) with the view's filters. */
async function fetchAll(path, params, key, status) {
  const all = [];
  for (let offset = 0; ;) {
    const page = await api('GET', url(path, { ...params, limit: EXPORT_PAGE, offset }));
    const list = page[key] || [];
    all.push(...list);
    offset += list.length;
    status.textContent = tf('export.progress', { n: all.length, total: page.total });
    // No total (should not happen): stop at the first empty page.
    if (!list.length || offset >= page.total) break;
  }
  return all;
}

/* ---------- router ---------- */

const SIMPLE_ROUTES = { '': 'dashboard', findings: 'findings', search: 'search', paths: 'paths',
  preaward: 'preaward', cases: 'cases', audit: 'audit' };
const ARG_ROUTES = { finding: 'finding', entity: 'entity', case: 'case' };

/** location → {name, arg, q}: /ui/finding/<id> gives {name: 'finding', arg: id}. */
function parseRoute() {
  const q = new URLSearchParams(location.search);
  const m = location.pathname.match(/^\/ui(?:\/([^/]*)(?:\/(.+?))?)?\/?$/);
  if (!m) return { name: 'notfound', q };
  const seg = m[1] || '';
  if (m[2] && seg in ARG_ROUTES) return { name: ARG_ROUTES[seg], arg: safeDecode(m[2]), q };
  if (!m[2] && seg in SIMPLE_ROUTES) return { name: SIMPLE_ROUTES[seg], q };
  return { name: 'notfound', q };
}

function navigate(href, replace) {
  history[replace ? 'replaceState' : 'pushState'](null, '', href);
  render({ focus: true });
}

/** In-app links: plain left clicks on same-origin /ui/ hrefs become pushState. */
document.addEventListener('click', (ev) => {
  if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  const a = ev.target.closest && ev.target.closest('a[href]');
  if (!a || a.target || a.hasAttribute('download')) return;
  const u = new URL(a.href, location.href);
  if (u.origin !== location.origin || !/^\/ui(\/|$)/.test(u.pathname)) return;
  if (/^\/ui\/(assets|login)\//.test(u.pathname)) return;
  ev.preventDefault();
  navigate(u.pathname + u.search);
});
window.addEventListener('popstate', () => render());

/* ---------- rendering ---------- */

const VIEWS = {
  dashboard: dashboardView, findings: findingsView, finding: findingView, search: searchView,
  entity: entityView, paths: pathsView, preaward: preawardView, cases: casesView,
  case: caseView, audit: auditView, notfound: notFoundView,
};

/** Renders the header and the view of the current URL. */
async function render(opts = {}) {
  const seq = ++state.seq;
  destroyGraph();
  const root = document.getElementById('app');
  document.documentElement.lang = qlLang() === 'en' ? 'en' : 'zh-CN';
  root.setAttribute('aria-busy', 'true');
  let loadError = null;
  if (state.session === undefined) loadError = await loadSession();
  if (seq !== state.seq) return;
  let route = parseRoute();
  const s = state.session;
  // Auditors have only the audit view.
  if (s && s.role === 'auditor' && route.name !== 'audit') {
    history.replaceState(null, '', '/ui/audit');
    route = parseRoute();
  }
  const main = h('main', { id: 'main', tabindex: '-1' });
  fill(root, header(route), main);
  const ctx = { main, route, q: route.q, alive: () => seq === state.seq };
  const view = pickView(route, loadError);
  root.dataset.view = view.name.replace(/View$/, '');
  try {
    await view(ctx, loadError);
  } catch (e) {
    if (ctx.alive() && !handledGlobally(e)) add(main, errorBox(e));
  }
  if (!ctx.alive()) return;
  root.setAttribute('aria-busy', 'false');
  if (opts.focus) ($('h1', main) || main).focus();
}

async function loadSession() {
  try {
    state.session = await api('GET', '/ui/session');
  } catch (e) {
    if (e.status === 401) state.session = null;
    else return e;
  }
  return null;
}

function pickView(route, loadError) {
  const s = state.session;
  if (loadError) return sessionErrorView;
  if (!s) return signInView;
  if (s.role === 'admin') return adminView;
  const needsCase = s.role !== 'auditor';
  if (state.caseForm || (needsCase && !(s.case && s.purpose))) return caseFormView;
  return VIEWS[route.name] || notFoundView;
}

/** The view's <h1> (focus target after navigation) and the document title. */
function title(text, ...extra) {
  document.title = `${text} — 清廉 Qinglian`;
  return h('h1', { tabindex: '-1' }, text, ...extra);
}

function header(route) {
  const s = state.session;
  const work = s && s.role !== 'admin' && s.role !== 'auditor';
  return h('header', { class: 'topbar' },
    h('a', { class: 'brand', href: s && s.role === 'auditor' ? '/ui/audit' : '/ui/' }, '清廉 Qinglian'),
    s ? navBar(route, s.role) : null,
    work ? searchForm(route) : null,
    h('div', { class: 'topbar-right' }, langSwitch(), s ? sessionBox(s) : null));
}

function navBar(route, role) {
  const items = role === 'auditor' ? [['audit', '/ui/audit', 'nav.audit']]
    : role === 'admin' ? []
    : [['dashboard', '/ui/', 'nav.dashboard'], ['findings', '/ui/findings', 'nav.findings'],
      ['paths', '/ui/paths', 'nav.paths'], ['preaward', '/ui/preaward', 'nav.preaward']]
      // Cases hold investigators' free text, which may name anybody: not for analysts.
      .concat(role === 'investigator' ? [['cases', '/ui/cases', 'nav.cases']] : []);
  const current = { finding: 'findings', case: 'cases' }[route.name] || route.name;
  return h('nav', { class: 'mainnav', 'aria-label': t('nav.label') },
    h('ul', {}, items.map(([name, href, key]) =>
      h('li', {}, h('a', { href, 'aria-current': name === current ? 'page' : null }, t(key))))));
}

function searchForm(route) {
  const input = h('input', { id: 'search-q', type: 'search', name: 'q', autocomplete: 'off',
    placeholder: t('search.placeholder'), value: route.name === 'search' ? route.q.get('q') || '' : '' });
  return h('form', { class: 'topsearch', role: 'search', onsubmit: (ev) => {
    ev.preventDefault();
    navigate(url('/ui/search', { q: input.value.trim() }));
  } },
  h('label', { for: 'search-q', class: 'visually-hidden' }, t('search.label')), input,
  h('button', { id: 'search-submit', type: 'submit' }, t('search.submit')));
}

function langSwitch() {
  const btn = (lang, id, text) => h('button', { id, type: 'button', lang: lang === 'zh' ? 'zh-CN' : 'en',
    'aria-pressed': String(qlLang() === lang), onclick: () => { qlSetLang(lang); render(); } }, text);
  return h('div', { class: 'langswitch', role: 'group', 'aria-label': t('lang.label') },
    btn('zh', 'lang-zh', '中文'), btn('en', 'lang-en', 'English'));
}

function sessionBox(s) {
  return h('div', { class: 'sessionbox' },
    h('span', {}, t('session.role'), ' ', h('strong', { id: 'session-role' }, tk('role', s.role))),
    h('span', {}, t('session.case'), ' ', h('strong', { id: 'session-case' }, s.case || '—')),
    h('span', {}, t('session.purpose'), ' ', h('strong', { id: 'session-purpose' }, s.purpose || '—')),
    h('button', { id: 'case-switch', type: 'button', class: 'secondary',
      onclick: () => { state.caseForm = true; render({ focus: true }); } }, t('session.switchCase')),
    h('button', { id: 'signout', type: 'button', class: 'secondary', onclick: signOut }, t('session.signout')));
}

async function signOut() {
  try {
    await api('POST', '/ui/session/end');
  } catch (e) {
    /* signed out either way: the cookie is gone or was already invalid */
  }
  state.session = null;
  state.caseForm = false;
  render({ focus: true });
}

/* ---------- shared components ---------- */

/** Severity badge: the colour always comes with its word. */
function sevBadge(sev) {
  return h('span', { class: `badge sev-${SEV_RANK[sev] ? sev : 'none'}`, 'data-severity': sev || '' },
    tk('sev', sev));
}

function statusBadge(status, id) {
  return h('span', { id, class: `badge status-${status || 'none'}`, 'data-status': status || '' },
    tk('status', status));
}

function kindTag(kind) {
  return h('span', { class: `kind kind-${kind || 'Unknown'}` }, tk('kind', kind));
}

/** "name (id)" linking to the entity page. */
function entityLink(id, name) {
  if (!id) return '—';
  return h('a', { href: entityHref(id) }, name ? `${name} (${id})` : id);
}

function field(label, input, hint) {
  return h('div', { class: 'field' }, h('label', { for: input.id }, label), input,
    hint ? h('small', { class: 'hint' }, hint) : null);
}

function select(id, options, value) {
  return h('select', { id, name: id, value: value == null ? '' : value },
    options.map(([v, label]) => h('option', { value: v }, label)));
}

/** <table> in a horizontally scrolling wrapper. rows: arrays of cells or {attrs, cells}. */
function table(id, headers, rows, caption) {
  return h('div', { class: 'table-wrap' }, h('table', { id },
    caption ? h('caption', {}, caption) : null,
    h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, rows.map((r) => {
      const row = Array.isArray(r) ? { cells: r } : r;
      return h('tr', row.attrs, row.cells.map((c) => h('td', {}, c)));
    }))));
}

/** Previous / next links for offset paging; the links are real URLs of the same view. */
function pager(prefix, base, params, offset, limit, total, shown) {
  const link = (id, off, text) => h('a', { id, class: 'button-link', href: url(base, { ...params, offset: off || null }) }, text);
  return h('nav', { class: 'pager', 'aria-label': t('page.label') },
    offset > 0 ? link(prefix + '-prev', Math.max(0, offset - limit), t('page.prev')) : null,
    h('span', { id: prefix + '-range' }, shown ? tf('page.range', { from: offset + 1, to: offset + shown, total })
      : tf('page.none', { total })),
    offset + shown < total ? link(prefix + '-next', offset + limit, t('page.next')) : null);
}

/** Details of an edge beyond kind/ends: label, share, bid amount and date. */
function edgeDetails(e) {
  const parts = [];
  if (e.label) parts.push(e.label);
  if (e.share_pct != null) parts.push(`${e.share_pct}%`);
  if (e.amount != null) parts.push(tf('edgeinfo.amount', { amount: Number(e.amount).toLocaleString(qlLang() === 'en' ? 'en' : 'zh-CN') }));
  if (e.submitted) parts.push(tf('edgeinfo.submitted', { date: e.submitted }));
  if (e.won != null) parts.push(e.won ? t('edgeinfo.won') : t('edgeinfo.lost'));
  return parts.join(' · ') || '—';
}

/** Table of edges: kind, from, to, details, validity, source file:line. */
/** Flat columns of an edge as the API gives it (evidence, chains). */
const EDGE_COLS = [['kind', (e) => e.kind], ['from', (e) => e.from], ['to', (e) => e.to],
  ['label', (e) => e.label], ['valid_start', (e) => e.valid && e.valid.start],
  ['valid_end', (e) => e.valid && e.valid.end],
  ['source', (e) => (e.source && e.source.file ? `${e.source.file}:${e.source.line}` : '')]];

/** Columns of a history entry or note. */
const HISTORY_COLS = fieldCols(['at', 'by', 'what', 'text']);

/** A list the page shows whole, with its CSV/JSONL export above it (every list has one). */
function withExport(id, label, cols, rows, list) {
  return h('div', {}, listExport({ id: id + '-export', file: id, label, cols, load: shownList(rows) }), list);
}

function edgeTable(id, edges, names) {
  const end = (x) => entityLink(x, names && names[x]);
  return withExport(id, t('col.source'), EDGE_COLS, edges,
    table(id, [t('col.kind'), t('col.from'), t('col.to'), t('col.details'), t('col.validity'), t('col.source')],
      edges.map((e) => [tk('edge', e.kind), end(e.from), end(e.to), edgeDetails(e), fmtValid(e.valid), fmtSource(e.source)])));
}

/** A list of findings as links with badge, rule and sentence. */
function findingList(id, findings) {
  if (!findings.length) return h('p', { id, class: 'muted' }, t('findings.none'));
  return withExport(id, t('nav.findings'), FINDING_COLS, findings,
    h('ul', { id, class: 'finding-list' }, findings.map((f) => h('li', { 'data-id': f.id },
      sevBadge(f.severity), ' ', h('a', { href: findingHref(f.id) }, tk('rule', f.pattern)), ' ',
      h('span', { class: 'muted' }, truncate(f.explanation, 200))))));
}

/** A list of history entries {at, by, ...}; `what` builds the description. */
function historyList(id, items, what) {
  if (!items || !items.length) return h('p', { id, class: 'muted' }, t('history.none'));
  return withExport(id, t('history.title'), HISTORY_COLS, items,
    h('ol', { id, class: 'history' }, items.map((x) => h('li', {},
      h('span', { class: 'when' }, x.at || '—'), ' ', h('span', { class: 'who' }, x.by || '—'), ' — ', what(x)))));
}

/* ---------- graphs (cytoscape) ---------- */

const KIND_STYLE = {
  Person: ['ellipse', '#2f6db3'], Company: ['round-rectangle', '#2e7d32'],
  Agency: ['hexagon', '#6a3d9a'], Tender: ['diamond', '#b35900'],
  Contract: ['rectangle', '#7a5230'], Subsidy: ['triangle', '#00796b'],
};

function graphStyle() {
  const style = [
    { selector: 'node', style: { label: 'data(label)', 'text-wrap': 'wrap', 'text-max-width': '150px',
      'font-size': 10, color: '#1b1b1b', 'text-valign': 'bottom', 'text-margin-y': 4,
      'text-background-color': '#ffffff', 'text-background-opacity': 0.85, 'text-background-padding': '1px',
      'background-color': '#8a8f98', shape: 'ellipse', width: 26, height: 26 } },
    { selector: 'edge', style: { label: 'data(label)', 'font-size': 8, color: '#333333', width: 1.5,
      'line-color': '#8a8f98', 'target-arrow-color': '#8a8f98', 'target-arrow-shape': 'triangle',
      'curve-style': 'bezier', 'text-wrap': 'wrap', 'text-rotation': 'autorotate',
      'text-background-color': '#ffffff', 'text-background-opacity': 0.85 } },
    { selector: 'node.center', style: { 'border-width': 4, 'border-color': '#111111' } },
    { selector: 'node.expanded', style: { 'border-width': 2, 'border-color': '#444444' } },
    { selector: ':selected', style: { 'border-width': 4, 'border-color': '#d4a017', 'line-color': '#d4a017' } },
  ];
  for (const [kind, [shape, colour]] of Object.entries(KIND_STYLE)) {
    style.push({ selector: `node[kind = "${kind}"]`, style: { shape, 'background-color': colour } });
  }
  return style;
}

const nodeLabel = (n) => (n.name ? `${n.name}\n${n.id}` : n.id);

/** A node element; `info` is a node of the data ({id, kind, name}) or what we guessed. */
function nodeEl(info, position) {
  const el = { group: 'nodes', data: { id: info.id, kind: info.kind || 'Unknown', name: info.name || '', label: nodeLabel(info) } };
  if (position) el.position = position;
  return el;
}

/** Edge label: kind + label, validity, file:line (the short form only kind + label). */
function edgeLabel(e, short) {
  const head = tk('edge', e.kind) + (e.label ? ' ' + e.label : '');
  if (short) return head;
  const v = fmtValid(e.valid);
  return [head, v === '—' ? null : v, fmtSource(e.source)].filter(Boolean).join('\n');
}

const edgeKey = (e) => `${e.from}|${e.kind}|${e.label || ''}|${e.to}|${fmtSource(e.source)}`;

function edgeEl(e, short) {
  return { group: 'edges', data: { id: 'e:' + edgeKey(e), source: e.from, target: e.to, kind: e.kind,
    label: edgeLabel(e, short), validity: fmtValid(e.valid), sourceRow: fmtSource(e.source) } };
}

/** Kind of the node at `id` on edge `e`, when the edge kind says. */
function guessKind(e, id) {
  const ends = EDGE_ENDS[e.kind] || [null, null];
  return (id === e.from ? ends[0] : ends[1]) || 'Unknown';
}

function destroyGraph() {
  if (window.qlGraph) {
    try { window.qlGraph.destroy(); } catch (e) { /* already gone */ }
  }
  window.qlGraph = null;
}

/** The graph box and its note; the box is a canvas, so the tables beside it carry the data. */
function graphBox(labelKey) {
  return {
    box: h('div', { id: 'graph', role: 'img', 'aria-label': t(labelKey) }),
    note: h('p', { id: 'graph-note', class: 'muted', 'aria-live': 'polite' }),
  };
}

/**
 * Adds edges (and their missing end nodes) to `cy` while it holds fewer than MAX_GRAPH
 * elements. Returns the ids of nodes left out and how many edges were left out.
 */
function addCapped(cy, edges, known, short, near) {
  const left = new Set();
  let leftEdges = 0;
  cy.batch(() => {
    for (const e of edges) {
      const key = 'e:' + edgeKey(e);
      if (cy.getElementById(key).nonempty()) continue;
      const missing = [...new Set([e.from, e.to])].filter((id) => cy.getElementById(id).empty());
      if (cy.elements().length + missing.length + 1 > MAX_GRAPH) {
        missing.forEach((id) => left.add(id));
        leftEdges++;
        continue;
      }
      for (const id of missing) {
        const pos = near ? { x: near.x + (Math.random() - 0.5) * 160, y: near.y + (Math.random() - 0.5) * 160 } : null;
        cy.add(nodeEl(known[id] || { id, kind: guessKind(e, id) }, pos));
      }
      cy.add(edgeEl(e, short));
    }
  });
  return { leftNodes: [...left].filter((id) => cy.getElementById(id).empty()), leftEdges };
}

/**
 * Draws nodes + edges into g.box (already in the page) and sets window.qlGraph.
 * opts: layout, short (edge labels), onTap(id), center (id).
 */
function drawGraph(g, nodes, edges, opts = {}) {
  if (typeof window.cytoscape !== 'function') {
    g.note.textContent = t('graph.unavailable');
    return null;
  }
  const cy = window.cytoscape({ container: g.box, style: graphStyle(), minZoom: 0.2, maxZoom: 3 });
  const known = {};
  for (const n of nodes) known[n.id] = n;
  // Nodes named by the data first (up to the bound), then the edges between them.
  const listed = nodes.filter((n, i) => nodes.findIndex((m) => m.id === n.id) === i);
  const room = listed.slice(0, MAX_GRAPH);
  cy.add(room.map((n) => nodeEl(n)));
  const { leftNodes, leftEdges } = addCapped(cy, edges, known, opts.short);
  const omittedNodes = listed.length - room.length + leftNodes.length;
  if (opts.center) cy.getElementById(opts.center).addClass('center');
  cy.layout(opts.layout || { name: 'cose', animate: false, padding: 30, nodeDimensionsIncludeLabels: true }).run();
  if (opts.onTap) cy.on('tap', 'node', (ev) => opts.onTap(ev.target.id(), ev.target));
  g.note.textContent = omittedNodes || leftEdges
    ? tf('graph.omitted', { nodes: omittedNodes, edges: leftEdges, max: MAX_GRAPH }) : '';
  window.qlGraph = cy;
  return cy;
}

/* ---------- views: session ---------- */

function sessionErrorView(ctx, e) {
  add(ctx.main, title(t('app.name')), errorBox(e),
    h('button', { type: 'button', onclick: () => { state.session = undefined; render(); } }, t('action.retry')));
}

function signInView(ctx) {
  const err = h('p', { id: 'signin-error', class: 'form-error', role: 'alert' });
  const input = h('input', { id: 'signin-token', name: 'token', type: 'password', autocomplete: 'off',
    spellcheck: 'false', required: true });
  const btn = h('button', { id: 'signin-submit', type: 'submit' }, t('signin.submit'));
  const form = h('form', { class: 'card narrow', onsubmit: async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    btn.disabled = true;
    try {
      state.session = await api('POST', '/ui/session', undefined, input.value.trim());
      state.caseForm = false;
      render({ focus: true });
    } catch (e) {
      err.textContent = `${t('signin.failed')} ${e.message}`;
      btn.disabled = false;
      input.focus();
    }
  } }, field(t('signin.token'), input, t('signin.hint')), btn, err);
  add(ctx.main, title(t('signin.title')), form);
  input.focus();
}

function caseFormView(ctx) {
  const s = state.session;
  const number = h('input', { id: 'case-number', name: 'case', required: true, autocomplete: 'off', value: s.case || '' });
  const purpose = h('input', { id: 'case-purpose', name: 'purpose', required: true, autocomplete: 'off', value: s.purpose || '' });
  const err = h('p', { id: 'case-error', class: 'form-error', role: 'alert' });
  const form = h('form', { class: 'card narrow', onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      state.session = await api('POST', '/ui/session/case', { case: number.value.trim(), purpose: purpose.value.trim() });
      state.caseForm = false;
      render({ focus: true });
    } catch (e) {
      if (!handledGlobally(e)) err.textContent = e.message;
    }
  } },
  h('p', {}, t('caseform.why')),
  field(t('caseform.number'), number), field(t('caseform.purpose'), purpose, t('caseform.purposeHint')),
  h('div', { class: 'actions' }, h('button', { id: 'case-submit', type: 'submit' }, t('caseform.submit')),
    s.case && s.purpose ? h('button', { id: 'case-cancel', type: 'button', class: 'secondary',
      onclick: () => { state.caseForm = false; render({ focus: true }); } }, t('action.cancel')) : null),
  err);
  add(ctx.main, title(t('caseform.title')), form);
  number.focus();
}

function adminView(ctx) {
  add(ctx.main, title(t('admin.title')), h('p', { id: 'admin-note' }, t('admin.note')));
}

function notFoundView(ctx) {
  add(ctx.main, title(t('notfound.title')), h('p', {}, h('a', { href: '/ui/' }, t('notfound.home'))));
}

/* ---------- view: dashboard (三色预警) ---------- */

async function dashboardView(ctx) {
  add(ctx.main, title(t('dash.title')));
  const sum = await api('GET', '/v1/findings/summary');
  if (!ctx.alive()) return;
  const officials = [...(sum.officials || [])].sort((a, b) =>
    (SEV_RANK[b.highest] || 0) - (SEV_RANK[a.highest] || 0) || total(b) - total(a));
  add(ctx.main,
    h('p', { id: 'dash-total' }, tf('dash.total', { n: sum.total, load: sum.load == null ? '—' : sum.load })),
    alertsBox(sum.alerts),
    h('h2', {}, t('dash.byRule')), countExport('dash-rules', t('dash.byRule'), sum.rules || [], ['rule']),
    countTable('dash-rules', t('col.rule'), sum.rules || [], (r) => [tk('rule', r.rule), ' ', h('code', {}, r.rule)], (r) => ({ rule: r.rule })),
    h('h2', {}, t('dash.byAgency')), countExport('dash-agencies', t('dash.byAgency'), sum.agencies || [], ['id', 'name']),
    countTable('dash-agencies', t('col.agency'), (sum.agencies || []).slice(0, 20), (a) => entityLink(a.id, a.name), (a) => ({ agency: a.id })),
    h('h2', {}, t('dash.byOfficial')), countExport('dash-officials', t('dash.byOfficial'), officials, ['id', 'name', 'highest']),
    countTable('dash-officials', t('col.official'), officials.slice(0, 20), (o) => entityLink(o.id, o.name), (o) => ({ official: o.id }), true));
}

const total = (r) => (r.red || 0) + (r.yellow || 0) + (r.green || 0);

function alertsBox(alerts) {
  if (!alerts) return null;
  return h('section', { id: 'dash-alerts', class: 'notice' },
    h('h2', {}, tf('dash.alertsTitle', { since: alerts.since })),
    h('p', {}, tf('dash.alerts', { new: alerts.new || 0, resolved: alerts.resolved || 0, changed: alerts.changed || 0 })));
}

/**
 * Export of a count table. It has every row of the summary, not only the top 20 shown (as the
 * findings export has the whole list, not the page), in the table's order.
 */
function countExport(id, label, rows, keys) {
  if (!rows.length) return null;
  return listExport({ id: id + '-export', file: id, label, load: shownList(rows),
    cols: [...fieldCols([...keys, ...SEVERITIES]), ['total', total]] });
}

/** Rows of red/yellow/green counts; every number links to the filtered findings list. */
function countTable(id, nameHead, rows, name, filter, withHighest) {
  const link = (params, n) => h('a', { href: url('/ui/findings', params) }, String(n || 0));
  const heads = [nameHead, withHighest ? t('col.highest') : null,
    ...SEVERITIES.map((s) => sevBadge(s)), t('col.total')].filter(Boolean);
  return table(id, heads, rows.map((r) => [name(r), withHighest ? sevBadge(r.highest) : null,
    ...SEVERITIES.map((s) => link({ ...filter(r), severity: s }, r[s])), link(filter(r), total(r))]
    .filter((c) => c !== null)));
}

/* ---------- view: findings list ---------- */

const FILTERS = ['rule', 'severity', 'agency', 'official', 'status', 'sort'];

async function findingsView(ctx) {
  const q = ctx.q;
  const f = Object.fromEntries(FILTERS.map((k) => [k, (q.get(k) || '').trim()]));
  const offset = toInt(q.get('offset'), 0);
  const limit = toInt(q.get('limit'), PAGE, 1, EXPORT_PAGE);
  add(ctx.main, title(t('findings.title')));
  // The rule choices come from the summary; a failure there must not hide the list.
  const rules = await api('GET', '/v1/findings/summary')
    .then((s) => (s.rules || []).map((r) => r.rule), () => KNOWN_RULES);
  if (!ctx.alive()) return;
  add(ctx.main, findingsFilter(f, rules, limit), exportBar(f));
  const page = await api('GET', url('/v1/findings', { ...f, limit, offset }));
  if (!ctx.alive()) return;
  const list = page.findings || [];
  add(ctx.main,
    h('p', { id: 'findings-total' }, tf('findings.total', { total: page.total })),
    list.length ? findingsTable(list) : h('p', { class: 'muted' }, t('findings.none')),
    pager('page', '/ui/findings', { ...f, limit: limit === PAGE ? null : limit }, offset, limit, page.total, list.length));
}

function findingsFilter(f, rules, limit) {
  const ruleIds = rules.includes(f.rule) || !f.rule ? rules : [...rules, f.rule];
  const inputs = {
    rule: select('filter-rule', [['', t('filter.any')], ...ruleIds.map((r) => [r, tk('rule', r)])], f.rule),
    severity: select('filter-severity', [['', t('filter.any')], ...SEVERITIES.map((s) => [s, tk('sev', s)])], f.severity),
    agency: h('input', { id: 'filter-agency', name: 'agency', value: f.agency, autocomplete: 'off' }),
    official: h('input', { id: 'filter-official', name: 'official', value: f.official, autocomplete: 'off' }),
    status: select('filter-status', [['', t('filter.any')], ...FINDING_STATUSES.map((s) => [s, tk('status', s)])], f.status),
    sort: select('filter-sort', [['', t('sort.canonical')], ['-score', t('sort.-score')], ['score', t('sort.score')],
      ['rule', t('sort.rule')], ['severity', t('sort.severity')]], f.sort),
  };
  return h('form', { class: 'filters', role: 'search', 'aria-label': t('filter.label'), onsubmit: (ev) => {
    ev.preventDefault();
    const params = Object.fromEntries(FILTERS.map((k) => [k, inputs[k].value.trim()]));
    navigate(url('/ui/findings', { ...params, limit: limit === PAGE ? null : limit }));
  } },
  field(t('col.rule'), inputs.rule), field(t('col.severity'), inputs.severity),
  field(t('col.agency'), inputs.agency, t('filter.idHint')), field(t('col.official'), inputs.official, t('filter.idHint')),
  field(t('col.status'), inputs.status), field(t('filter.sort'), inputs.sort),
  h('div', { class: 'actions' }, h('button', { id: 'filter-submit', type: 'submit' }, t('filter.apply')),
    h('a', { href: '/ui/findings', class: 'button-link secondary' }, t('filter.reset'))));
}

/** The findings export: the WHOLE filtered list, not the page (ids kept from before). */
function exportBar(f) {
  return listExport({ id: 'export', file: 'findings', label: t('findings.title'), cols: FINDING_COLS,
    load: (status) => fetchAll('/v1/findings', f, 'findings', status) });
}

function findingsTable(list) {
  const heads = ['col.severity', 'col.rule', 'col.official', 'col.target', 'col.ref', 'col.score', 'col.status', 'col.explanation'].map(t);
  return table('findings-table', heads, list.map((f) => ({
    attrs: { class: 'finding-row', 'data-id': f.id, onclick: (ev) => {
      if (!ev.target.closest('a, button')) navigate(findingHref(f.id));
    } },
    cells: [sevBadge(f.severity), h('a', { href: findingHref(f.id) }, tk('rule', f.pattern)),
      f.official ? entityLink(f.official, f.official_name) : '—', targetCell(f),
      f.ref ? [entityLink(f.ref), f.ref_type ? h('span', { class: 'muted' }, ' ', tk('reftype', f.ref_type)) : null] : '—',
      fmtScore(f.score), statusBadge(findingStatus(f)),
      h('span', { title: f.explanation || '' }, truncate(f.explanation, 120))],
  })));
}

/** A finding's workflow status: on the finding, or in a `state` next to it. */
const findingStatus = (f) => f.status || (f.state && f.state.status) || null;

function targetCell(f) {
  return [entityLink(f.target, f.target_name), f.target2 ? [' + ', entityLink(f.target2)] : null];
}

/* ---------- view: one finding ---------- */

async function findingView(ctx) {
  const id = ctx.route.arg;
  const r = await api('GET', '/v1/findings/' + enc(id));
  if (!ctx.alive()) return;
  const f = r.finding;
  const ev = f.evidence || { nodes: [], edges: [], windows: [] };
  const names = Object.fromEntries((ev.nodes || []).map((n) => [n.id, n.name]));
  const stateBox = h('section', { id: 'finding-state', 'aria-labelledby': 'state-h' });
  const showState = (st) => fill(stateBox, ...stateSection(st));
  const g = graphBox('graph.evidenceLabel');
  add(ctx.main,
    title(tk('rule', f.pattern), ' ', sevBadge(f.severity)),
    h('p', { id: 'finding-explanation', class: 'lead' }, f.explanation),
    findingFacts(f),
    // The chain first: it is what the page is for.
    h('h2', {}, t('finding.evidence')), g.box, g.note,
    edgeTable('evidence-table', ev.edges || [], names),
    h('h3', {}, t('finding.windows')),
    (ev.windows || []).length ? h('ul', { id: 'evidence-windows' }, ev.windows.map((w) => h('li', {}, w)))
      : h('p', { id: 'evidence-windows', class: 'muted' }, t('finding.noWindows')),
    relatedSection(r.related || []),
    stateBox,
    state.session.role === 'investigator' ? findingActions(f, r.state || {}, showState, r.related || []) : null,
    ruleSection(r.rule || {}));
  showState(r.state || { status: findingStatus(f) });
  // A tree grown from the official (when there is one) reads top-down: official, then the
  // relatives and posts, then companies and contracts.
  const root = (ev.nodes || []).some((n) => n.id === f.official) ? [f.official] : undefined;
  drawGraph(g, ev.nodes || [], ev.edges || [], {
    layout: { name: 'breadthfirst', directed: false, roots: root, padding: 30, spacingFactor: 1.1 },
    onTap: (nid) => navigate(entityHref(nid)),
  });
}

function findingFacts(f) {
  const row = (k, v) => [h('dt', {}, t(k)), h('dd', {}, v)];
  return h('dl', { class: 'facts' },
    row('col.id', h('code', {}, f.id)), row('col.score', fmtScore(f.score)),
    row('col.official', f.official ? [entityLink(f.official, f.official_name),
      // The official's declaration comparison sheet, printable (investigators only).
      state.session && state.session.role === 'investigator'
        ? [' ', h('a', { id: 'declaration-sheet', href: `/v1/officials/${enc(f.official)}/declarations?format=html`, target: '_blank', rel: 'noopener' }, t('finding.declarationSheet'))]
        : null] : '—'),
    row('col.target', targetCell(f)),
    row('col.ref', f.ref ? [entityLink(f.ref), ' ', tk('reftype', f.ref_type)] : '—'),
    row('col.agency', entityLink(f.agency)));
}

/** STATE: status badge, assignee, stale notice, history. */
function stateSection(st) {
  return [
    h('h2', { id: 'state-h' }, t('state.title')),
    h('p', {}, t('col.status'), ' ', statusBadge(st.status, 'finding-status'), ' ',
      t('state.assignee'), ' ', h('span', { id: 'finding-assignee' }, st.assignee || '—')),
    st.reason ? h('p', {}, t('state.reason'), ' ', st.reason) : null,
    st.stale ? h('p', { id: 'finding-stale', class: 'notice', role: 'status' }, t('state.stale')) : null,
    h('h3', {}, t('history.title')),
    historyList('finding-history', st.history, (x) => [
      x.status ? [t('col.status'), ' ', tk('status', x.status), '; '] : null,
      x.assignee ? [t('state.assignee'), ' ', x.assignee, '; '] : null,
      x.reason ? [t('state.reason'), ' ', x.reason, '; '] : null,
      x.comment ? [t('state.comment'), ' ', x.comment] : null]),
  ];
}

/** Other findings about the same procedure: a single bid and the relative behind its winner. */
function relatedSection(related) {
  return h('section', { id: 'finding-related', 'aria-labelledby': 'related-h' },
    h('h2', { id: 'related-h' }, t('finding.related')),
    related.length ? h('p', { class: 'muted' }, t('finding.relatedHint')) : null,
    findingList('related-list', related));
}

/** Investigator actions: change state, attach to a case, download the signed bundle. */
function findingActions(f, st0, onState, related) {
  let current = st0;
  const status = select('state-status', FINDING_STATUSES.map((s) => [s, tk('status', s)]), current.status || 'open');
  const reason = h('input', { id: 'state-reason', name: 'reason', autocomplete: 'off' });
  const assignee = h('input', { id: 'state-assignee', name: 'assignee', autocomplete: 'off', value: current.assignee || '' });
  const comment = h('textarea', { id: 'state-comment', name: 'comment', rows: 2 });
  const err = h('div', { id: 'state-error', class: 'form-error', role: 'alert' });
  const reasonNeeded = () => { reason.required = status.value === 'dismissed'; };
  status.addEventListener('change', reasonNeeded);
  reasonNeeded();
  const form = h('form', { class: 'card', onsubmit: async (ev) => {
    ev.preventDefault();
    fill(err);
    const body = stateBody(current, status.value, reason.value.trim(), assignee.value.trim(), comment.value.trim());
    if (body.status === 'dismissed' && !body.reason) { err.textContent = t('state.reasonRequired'); reason.focus(); return; }
    if (!Object.keys(body).length) { err.textContent = t('state.nothing'); return; }
    try {
      current = await api('POST', `/v1/findings/${enc(f.id)}/state`, body);
      onState(current);
      reason.value = '';
      comment.value = '';
    } catch (e) {
      showError(err, e);
    }
  } },
  h('h2', {}, t('state.change')),
  h('div', { class: 'row' }, field(t('col.status'), status), field(t('state.reason'), reason, t('state.reasonHint')),
    field(t('state.assignee'), assignee)),
  field(t('state.comment'), comment),
  h('button', { id: 'state-submit', type: 'submit' }, t('state.submit')), err);
  return h('section', { class: 'actions-box' }, form, attachForm(f.id, related), evidenceButton(f.id));
}

/** Only what changes: the status when it changes (or comes with a reason), a new assignee. */
function stateBody(cur, status, reason, assignee, comment) {
  const body = {};
  if (status !== cur.status || reason) body.status = status;
  if (reason) body.reason = reason;
  if (assignee && assignee !== (cur.assignee || '')) body.assignee = assignee;
  if (comment) body.comment = comment;
  return body;
}

function attachForm(id, related = []) {
  const input = h('input', { id: 'attach-case', name: 'case', autocomplete: 'off', required: true, value: state.session.case || '' });
  const out = h('div', { id: 'attach-result', 'aria-live': 'polite' });
  // With the findings about the same procedure, checked by default: one case, every sign.
  const withRelated = related.length ? h('input', { id: 'attach-related', type: 'checkbox', checked: true }) : null;
  return h('form', { class: 'card', onsubmit: async (ev) => {
    ev.preventDefault();
    const n = input.value.trim();
    const ids = [id].concat(withRelated && withRelated.checked ? related.map((x) => x.id) : []);
    try {
      await api('POST', '/v1/cases/' + enc(n), { attach: ids });
      fill(out, h('p', {}, t('attach.done'), ' ', h('a', { href: caseHref(n) }, n)));
    } catch (e) {
      showError(out, e);
    }
  } }, h('h2', {}, t('attach.title')), field(t('caseform.number'), input),
  withRelated ? h('label', { class: 'check' }, withRelated, ' ', tf('attach.related', { n: related.length })) : null,
  h('button', { id: 'attach-submit', type: 'submit' }, t('attach.submit')), out);
}

function evidenceButton(id) {
  const out = h('div', { id: 'evidence-result', 'aria-live': 'polite' });
  const btn = h('button', { id: 'evidence-download', type: 'button', onclick: async () => {
    btn.disabled = true;
    fill(out);
    try {
      saveJson(`evidence-${safeName(id)}.json`, await api('POST', '/v1/evidence/' + enc(id), {}));
      out.textContent = t('evidence.saved');
    } catch (e) {
      showError(out, e);
    } finally {
      btn.disabled = false;
    }
  } }, t('evidence.download'));
  return h('div', { class: 'card' }, h('h2', {}, t('evidence.title')), h('p', { class: 'muted' }, t('evidence.hint')), btn, out);
}

function ruleSection(rule) {
  return h('section', { id: 'finding-rule' },
    h('h2', {}, t('ruleinfo.title'), ' ', h('code', {}, rule.id || '')),
    rule.doc ? h('p', {}, t('ruleinfo.doc'), ' ', h('code', { id: 'rule-doc' }, rule.doc)) : null,
    h('pre', { id: 'rule-text' }, rule.text || ''));
}

/* ---------- view: search ---------- */

async function searchView(ctx) {
  const q = (ctx.q.get('q') || '').trim();
  add(ctx.main, title(t('search.title')));
  const input = $('#search-q');
  if (!q) {
    add(ctx.main, h('p', { class: 'muted' }, t('search.empty')));
    if (input) input.focus();
    return;
  }
  const r = await api('GET', url('/v1/entities', { q }));
  if (!ctx.alive()) return;
  const results = r.results || [];
  add(ctx.main, h('p', { id: 'search-count' }, tf('search.count', { n: results.length, q })),
    results.length ? listExport({ id: 'search-export', file: 'search', label: t('search.title'),
      cols: SEARCH_COLS, load: shownList(results) }) : null,
    results.length ? h('ul', { id: 'search-results', class: 'results' }, results.map(searchResult)) : null,
    r.truncated ? h('p', { class: 'notice' }, t('search.truncated')) : null);
}

/** A person's posts as one line: "agency name (id) title start – end; …". */
const postsText = (x) => (x.positions || []).map((p) =>
  `${p.agency_name || p.agency} (${p.agency}) ${p.title || ''} ${fmtValid({ start: p.start, end: p.end })}`).join('; ');

const SEARCH_COLS = [...fieldCols(['id', 'kind', 'name', 'birth_year', 'identifier_masked', 'match']), ['posts', postsText]];

/** One hit, with what tells namesakes apart: birth year, masked identifier, posts. */
function searchResult(x) {
  const facts = [
    x.birth_year ? tf('search.born', { year: x.birth_year }) : null,
    x.identifier_masked ? tf('search.idMasked', { id: x.identifier_masked }) : null,
    x.official ? t('search.official') : null,
    x.match ? tf('search.match', { match: tk('match', x.match) }) : null,
  ].filter(Boolean);
  return h('li', { class: 'search-result', 'data-id': x.id, onclick: (ev) => {
    if (!ev.target.closest('a')) navigate(entityHref(x.id));
  } },
  h('div', {}, h('a', { href: entityHref(x.id) }, x.name || x.id), ' ', h('code', {}, x.id), ' ', kindTag(x.kind)),
  facts.length ? h('div', { class: 'muted' }, facts.join(' · ')) : null,
  (x.positions || []).length ? h('ul', { class: 'positions' }, x.positions.map((p) => h('li', {},
    `${p.agency_name || p.agency} (${p.agency}) ${p.title || ''} ${fmtValid({ start: p.start, end: p.end })}`))) : null);
}

/* ---------- view: entity ---------- */

async function entityView(ctx) {
  const id = ctx.route.arg;
  const offset = toInt(ctx.q.get('offset'), 0);
  const ent = await api('GET', url('/v1/entities/' + enc(id), { limit: PAGE, offset }));
  if (!ctx.alive()) return;
  const groups = ent.edges || [];
  const isOfficial = ent.kind === 'Person' && groups.some((gr) => gr.kind === 'POSITION' && gr.direction === 'out' && gr.total > 0);
  const g = graphBox('graph.entityLabel');
  const selected = h('p', { id: 'graph-selected', 'aria-live': 'polite' });
  const findingsBox = h('section', { id: 'entity-findings' });
  add(ctx.main,
    title(ent.name || ent.id, ' ', kindTag(ent.kind)),
    h('h2', {}, t('entity.attributes')), attributesTable(ent),
    isOfficial ? findingsBox : null,
    h('h2', {}, t('entity.graph')), h('p', { class: 'muted' }, t('entity.graphHint')), g.box, g.note, selected,
    h('h2', {}, t('entity.edges')));
  const graph = entityGraph(ent, g, selected);
  // Every edge on the page; each group's "more" adds to it, so the export has what is shown.
  const shown = groups.flatMap((gr) => gr.edges || []);
  add(ctx.main, shown.length ? listExport({ id: 'edges-export', file: 'edges', label: t('entity.edges'),
    cols: entityEdgeCols(ent.id), load: shownList(shown) }) : null,
  h('div', { id: 'edge-groups' }, groups.map((gr) => edgeGroup(ent.id, gr, graph, shown))));
  if (isOfficial) await officialFindings(ent.id, findingsBox, ctx);
}

/** Attributes with the row they come from. */
function attributesTable(ent) {
  const src = fmtSource(ent.source);
  const rows = [[t('col.id'), ent.id, src], [t('col.kind'), tk('kind', ent.kind), src], [t('col.name'), ent.name || '—', src]];
  if (ent.identifier) rows.push([t('entity.identifier'), ent.identifier, src]);
  if ((ent.aliases || []).length) rows.push([t('entity.aliases'), ent.aliases.join('、'), src]);
  for (const obj of [ent.attributes, ent.properties]) {
    for (const [k, v] of Object.entries(obj || {})) rows.push([tk('attr', k), scalar(v), src]);
  }
  for (const b of ent.blacklist || []) {
    rows.push([t('entity.blacklist'), typeof b === 'object' ? Object.entries(b).filter(([k]) => k !== 'source')
      .map(([k, v]) => `${k}: ${scalar(v)}`).join('; ') : scalar(b), fmtSource(b && b.source)]);
  }
  const others = (ent.sources || []).map(fmtSource).filter((s) => s !== src);
  if (others.length) rows.push([t('entity.sources'), others.join(', '), '']);
  return table('entity-attributes', [t('col.attribute'), t('col.value'), t('col.source')], rows);
}

const scalar = (v) => (v == null ? '—' : typeof v === 'object' ? JSON.stringify(v) : String(v));

/** The neighbourhood graph; a tap on a node selects it and expands it (once). */
function entityGraph(ent, g, selected) {
  const edges = (ent.edges || []).flatMap((gr) => gr.edges || []);
  const hidden = new Set();
  const cy = drawGraph(g, [{ id: ent.id, kind: ent.kind, name: ent.name }], edges, {
    short: true, center: ent.id, layout: { name: 'concentric', padding: 30, minNodeSpacing: 30,
      concentric: (n) => (n.id() === ent.id ? 2 : 1), levelWidth: () => 1 },
    onTap: (nid, node) => expandNode(cy, nid, node, hidden, g, selected),
  });
  if (!cy) return null;
  cy.getElementById(ent.id).addClass('expanded');
  const graph = { cy, hidden, g };
  // drawGraph's note counts nodes and edges; the entity view says "N neighbours not shown".
  noteHidden(graph, edges);
  return graph;
}

/** "N neighbours not shown": neighbours of loaded edges that are not in the graph. */
function noteHidden(graph, extraEdges) {
  const { cy, hidden, g } = graph;
  for (const e of extraEdges || []) {
    for (const id of [e.from, e.to]) if (cy.getElementById(id).empty()) hidden.add(id);
  }
  for (const id of [...hidden]) if (cy.getElementById(id).nonempty()) hidden.delete(id);
  g.note.textContent = hidden.size ? tf('graph.hiddenNeighbours', { n: hidden.size, max: MAX_GRAPH }) : '';
}

/** Re-runs the force layout from the current positions (new nodes start near their parent). */
function relayout(cy) {
  cy.layout({ name: 'cose', animate: false, randomize: false, padding: 30, nodeDimensionsIncludeLabels: true }).run();
}

async function expandNode(cy, id, node, hidden, g, selected) {
  fill(selected, t('graph.selected'), ' ', entityLink(id, node.data('name')));
  if (node.hasClass('expanded')) return;
  node.addClass('expanded');
  try {
    const ent = await api('GET', url('/v1/entities/' + enc(id), { limit: EXPAND_LIMIT }));
    if (cy.destroyed()) return;
    node.data({ name: ent.name || '', kind: ent.kind || node.data('kind'), label: nodeLabel(ent) });
    fill(selected, t('graph.selected'), ' ', entityLink(id, ent.name));
    const edges = (ent.edges || []).flatMap((gr) => gr.edges || []);
    addCapped(cy, edges, {}, true, node.position());
    noteHidden({ cy, hidden, g }, edges);
    relayout(cy);
  } catch (e) {
    node.removeClass('expanded');
    showError(g.note, e);
  }
}

/** Edge validity and source as CSV cells (empty, not '—', when unknown). */
const validCols = (get) => [['valid_start', (r) => { const v = get(r).valid; return v && v.start; }],
  ['valid_end', (r) => { const v = get(r).valid; return v && v.end; }]];
const sourceCol = (get) => ['source', (r) => { const src = get(r).source; return src && src.file ? fmtSource(src) : ''; }];

/** CSV columns of an entity's edges, read from the entity's side (a self-loop reads as out). */
function entityEdgeCols(id) {
  const out = (e) => e.from === id;
  const self = (e) => e;
  return [['kind', (e) => e.kind], ['direction', (e) => (out(e) ? 'out' : 'in')],
    ['other', (e) => (out(e) ? e.to : e.from)], ['label', (e) => e.label], ...validCols(self), sourceCol(self)];
}

/** One group of edges (kind + direction) with a "more" button that pages it; `shown` collects them. */
function edgeGroup(entityId, gr, graph, shown) {
  const dir = gr.direction === 'in' ? t('entity.in') : t('entity.out');
  const rowOf = (e) => {
    const other = gr.direction === 'in' ? e.from : e.to;
    return [entityLink(other), edgeDetails(e), fmtValid(e.valid), fmtSource(e.source)];
  };
  const tbl = table(null, [t('entity.other'), t('col.details'), t('col.validity'), t('col.source')], (gr.edges || []).map(rowOf));
  const tbody = $('tbody', tbl);
  let loaded = (gr.offset || 0) + (gr.edges || []).length;
  const count = h('span', { class: 'muted' });
  const setCount = () => { count.textContent = tf('entity.groupCount', { shown: loaded, total: gr.total }); };
  setCount();
  const err = h('div', { role: 'alert' });
  const more = h('button', { type: 'button', class: 'secondary group-more', onclick: async () => {
    more.disabled = true;
    try {
      const next = await api('GET', url('/v1/entities/' + enc(entityId), { limit: PAGE, offset: loaded }));
      const same = (next.edges || []).find((x) => x.kind === gr.kind && x.direction === gr.direction);
      const edges = (same && same.edges) || [];
      edges.forEach((e) => append(tbody, [h('tr', {}, rowOf(e).map((c) => h('td', {}, c)))]));
      loaded += edges.length;
      shown.push(...edges);
      setCount();
      if (graph && !graph.cy.destroyed()) {
        addCapped(graph.cy, edges, {}, true, graph.cy.getElementById(entityId).position());
        noteHidden(graph, edges);
        relayout(graph.cy);
      }
      more.hidden = !edges.length || loaded >= gr.total;
    } catch (e) {
      showError(err, e);
    } finally {
      more.disabled = false;
    }
  } }, t('entity.more'));
  more.hidden = loaded >= gr.total;
  return h('section', { class: 'edge-group', 'data-kind': gr.kind, 'data-direction': gr.direction },
    h('h3', {}, tk('edge', gr.kind), ' ', h('span', { class: 'muted' }, dir), ' ', count), tbl, more, err);
}

async function officialFindings(id, box, ctx) {
  add(box, h('h2', {}, t('entity.findings')),
    h('p', {}, h('a', { href: url('/ui/findings', { official: id }) }, t('entity.allFindings'))));
  try {
    const r = await api('GET', url('/v1/findings', { official: id, limit: PAGE }));
    if (ctx.alive()) add(box, findingList('entity-findings-list', r.findings || []));
  } catch (e) {
    if (ctx.alive()) showError(box, e);
  }
}

/* ---------- view: paths ---------- */

async function pathsView(ctx) {
  const q = ctx.q;
  const p = { from: q.get('from') || '', to: q.get('to') || '', max_hops: q.get('max_hops') || '', as_of: q.get('as_of') || '' };
  const from = h('input', { id: 'paths-from', name: 'from', required: true, autocomplete: 'off', value: p.from });
  const to = h('input', { id: 'paths-to', name: 'to', required: true, autocomplete: 'off', value: p.to });
  const hops = h('input', { id: 'paths-hops', name: 'max_hops', type: 'number', min: 1, placeholder: '4', value: p.max_hops });
  const asof = h('input', { id: 'paths-asof', name: 'as_of', type: 'date', value: p.as_of });
  add(ctx.main, title(t('paths.title')), h('form', { class: 'filters', onsubmit: (ev) => {
    ev.preventDefault();
    navigate(url('/ui/paths', { from: from.value.trim(), to: to.value.trim(), max_hops: hops.value, as_of: asof.value }));
  } },
  field(t('paths.from'), from, t('filter.idHint')), field(t('paths.to'), to, t('filter.idHint')),
  field(t('paths.hops'), hops), field(t('paths.asof'), asof, t('paths.asofHint')),
  h('div', { class: 'actions' }, h('button', { id: 'paths-submit', type: 'submit' }, t('paths.submit')))));
  if (!p.from || !p.to) return;
  const r = await api('GET', url('/v1/paths', p));
  if (!ctx.alive()) return;
  const paths = r.paths || [];
  const ends = [r.from, r.to].filter(Boolean);
  const names = Object.fromEntries(ends.map((n) => [n.id, n.name]));
  const edges = paths.flatMap((x) => x.edges || []);
  const g = graphBox('graph.pathsLabel');
  add(ctx.main, h('p', { id: 'paths-message', class: 'lead' }, r.message || ''),
    r.truncated || r.more ? h('p', { class: 'notice' }, t('paths.more')) : null);
  if (!paths.length) return;
  add(ctx.main, g.box, g.note, listExport({ id: 'paths-export', file: 'paths', label: t('paths.title'),
    cols: PATH_COLS, explode: pathRows, load: shownList(paths) }), h('ol', { id: 'paths-list' }, paths.map((x, i) => h('li', {},
    h('h3', {}, tf('paths.chain', { n: i + 1, hops: x.hops != null ? x.hops : (x.edges || []).length })),
    edgeTable(null, x.edges || [], names)))));
  drawGraph(g, ends, edges, {
    center: r.from && r.from.id,
    layout: { name: 'breadthfirst', directed: false, roots: r.from ? [r.from.id] : undefined, padding: 30, spacingFactor: 1.3 },
    onTap: (nid) => navigate(entityHref(nid)),
  });
}

/** A chain as CSV rows, one per hop (JSONL keeps the chain objects as the server sent them). */
const pathRows = (x, i) => (x.edges || []).map((e, j) => ({ chain: i + 1, hop: j + 1, e }));
const PATH_COLS = [['chain', (r) => r.chain], ['hop', (r) => r.hop], ['kind', (r) => r.e.kind],
  ['label', (r) => r.e.label], ['from', (r) => r.e.from], ['to', (r) => r.e.to], ...validCols((r) => r.e), sourceCol((r) => r.e)];

/* ---------- view: pre-award screening ---------- */

/*
 * Bidders and officials may be given by id, by identifier or by name. Chinese names hold no
 * spaces but foreign ones do ("ACME Trading Co"), so tokens are split on commas, 、, semicolons
 * and line breaks, and on spaces only between ids, codes or Chinese words.
 */
const ID_RE = /^[A-Z]{1,2}\d+$/;                              // C000015, P0000060, A00003, T000082
const CODE_RE = /^(?:[0-9A-Z]{18}|\d{17}[\dXx]|\d{15})$/;     // credit code; resident id (18 or 15)
const CJK_RE = /[\u3400-\u9fff\uf900-\ufaff]/;
const isIdLike = (x) => ID_RE.test(x) || CODE_RE.test(x);

function splitTokens(text) {
  const out = [];
  for (const piece of (text || '').split(/[,，、;；\r\n]+/)) {
    const x = piece.trim();
    if (!x) continue;
    const parts = x.split(/\s+/);
    if (parts.every((w) => isIdLike(w) || CJK_RE.test(w))) out.push(...parts);
    else out.push(x);
  }
  return [...new Set(out)];
}

/** Each token → {token, id, byName?} or {token, error}; ids and identifiers pass as they are. */
function resolveTokens(text, kind) {
  return Promise.all(splitTokens(text).map((tok) => (isIdLike(tok) ? { token: tok, id: tok } : resolveName(tok, kind))));
}

/**
 * A name → the one entity of `kind` named exactly so. Several namesakes or none is an error
 * that lists them: a screening of the wrong company would look like a clearance, so never guess.
 */
async function resolveName(token, kind) {
  const r = await api('GET', url('/v1/entities', { q: token, limit: 10 }));
  const hits = (r.results || []).filter((x) => x.kind === kind);
  // The search also matches ids; an id of another shape (e.g. '某人-7f3a09c2') is exact, so unique.
  const same = hits.some((x) => x.id === token) ? hits.filter((x) => x.id === token) : hits.filter((x) => x.name === token);
  if (same.length === 1) return { token, id: same[0].id, byName: same[0].id !== token };
  if (same.length) {
    const key = { Company: 'pa.manyCompanies', Person: 'pa.manyPersons', Agency: 'pa.manyAgencies', Tender: 'pa.manyTenders' }[kind];
    return { token, error: [tf(key, { name: token, n: same.length }), ' ', namesakes(same)] };
  }
  // None: the near names the search found help to correct a typo (still the user's choice).
  const key = { Company: 'pa.noCompany', Person: 'pa.noPerson', Agency: 'pa.noAgency', Tender: 'pa.noTender' }[kind];
  const near = hits.slice(0, 5);
  return { token, error: [tf(key, { name: token }), near.length ? [' ', t('pa.similar'), ' ', namesakes(near)] : null] };
}

/** "C000001 name (born 1973, 330122********9121)、…": enough to pick the right id. */
function namesakes(list) {
  return list.map((x, i) => [i ? '、' : '', h('code', {}, x.id), ' ', x.name || '',
    x.birth_year || x.identifier_masked ? ` (${[x.birth_year ? tf('search.born', { year: x.birth_year }) : null,
      x.identifier_masked ? tf('search.idMasked', { id: x.identifier_masked }) : null].filter(Boolean).join(', ')})` : '']);
}

/** Under the form: which name became which id, and the names that could not be resolved. */
function showResolved(box, items) {
  const named = items.filter((x) => x.byName);
  const bad = items.filter((x) => x.error);
  fill(box,
    named.length ? h('div', { id: 'pa-resolved' }, h('p', {}, t('pa.resolvedTitle')),
      h('ul', {}, named.map((x) => h('li', { 'data-token': x.token, 'data-id': x.id }, x.token, ' → ', entityLink(x.id))))) : null,
    bad.length ? h('div', { id: 'pa-unresolved', class: 'error', role: 'alert' }, h('p', {}, t('pa.unresolvedTitle')),
      h('ul', {}, bad.map((x) => h('li', { 'data-token': x.token }, x.error)))) : null);
}

const idsOf = (items) => [...new Set(items.map((x) => x.id))];

/** The tender or agency field: one id, or one name (a title for a tender), resolved the same way. */
function resolveOne(text, kind) {
  const tok = (text || '').trim();
  if (!tok) return Promise.resolve([]);
  return Promise.all([isIdLike(tok) ? { token: tok, id: tok } : resolveName(tok, kind)]);
}

async function preawardView(ctx) {
  const q = ctx.q;
  const p = { tender: q.get('tender') || '', agency: q.get('agency') || '', bidders: q.get('bidders') || '',
    officials: q.get('officials') || '', as_of: q.get('as_of') || '' };
  const names = h('div', { id: 'pa-names', 'aria-live': 'polite' });
  const result = h('section', { id: 'pa-result', 'aria-live': 'polite' });
  add(ctx.main, title(t('pa.title')), preawardForm(p), names, result, verifyBox());
  if (!p.tender && !p.agency) return;
  // Names first: the screen is asked only once every name is one known id.
  const [tender, agency, bidders, officials] = await Promise.all([resolveOne(p.tender, 'Tender'),
    resolveOne(p.agency, 'Agency'), resolveTokens(p.bidders, 'Company'), resolveTokens(p.officials, 'Person')]);
  if (!ctx.alive()) return;
  const all = [...tender, ...agency, ...bidders, ...officials];
  showResolved(names, all);
  if (all.some((x) => x.error)) return;
  const body = {};
  if (tender.length) body.tender = tender[0].id;
  if (agency.length) body.agency = agency[0].id;
  if (bidders.length) body.bidders = idsOf(bidders);
  if (officials.length) body.officials = idsOf(officials);
  if (p.as_of) body.as_of = p.as_of;
  const r = await api('POST', '/v1/screen', body);
  if (!ctx.alive()) return;
  add(result, ...screenResult(r));
}

function preawardForm(p) {
  const inp = (id, name, value, extra) => h('input', { id, name, value, autocomplete: 'off', ...extra });
  // Text areas, not inputs: a pasted list of names, one a line, must keep its line breaks.
  const area = (id, name, value) => h('textarea', { id, name, rows: 2, spellcheck: 'false', class: 'tokens', value });
  const tender = inp('pa-tender', 'tender', p.tender);
  const agency = inp('pa-agency', 'agency', p.agency);
  const bidders = area('pa-bidders', 'bidders', p.bidders);
  const officials = area('pa-officials', 'officials', p.officials);
  const asof = inp('pa-asof', 'as_of', p.as_of, { type: 'date' });
  const err = h('p', { class: 'form-error', role: 'alert' });
  return h('form', { class: 'filters', onsubmit: (ev) => {
    ev.preventDefault();
    if (!tender.value.trim() && !agency.value.trim()) { err.textContent = t('pa.needOne'); tender.focus(); return; }
    navigate(url('/ui/preaward', { tender: tender.value.trim(), agency: agency.value.trim(),
      bidders: splitTokens(bidders.value).join(','), officials: splitTokens(officials.value).join(','), as_of: asof.value }));
  } },
  h('p', { class: 'muted full' }, t('pa.how')),
  field(t('pa.tender'), tender), field(t('pa.agency'), agency),
  field(t('pa.bidders'), bidders, t('pa.idsHint')), field(t('pa.officials'), officials, t('pa.idsHint')),
  field(t('pa.asof'), asof),
  h('div', { class: 'actions' }, h('button', { id: 'pa-submit', type: 'submit' }, t('pa.submit'))), err);
}

function screenResult(r) {
  const c = r.checked || {};
  const verdict = r.verdict === 'clear'
    ? h('span', { id: 'pa-verdict', class: 'badge verdict-clear', 'data-verdict': 'clear' }, t('verdict.clear'))
    : h('span', { id: 'pa-verdict', class: `badge sev-${r.verdict}`, 'data-verdict': r.verdict }, tk('sev', r.verdict));
  const out = [
    h('h2', {}, t('pa.verdict'), ' ', verdict),
    h('dl', { class: 'facts' },
      h('dt', {}, t('pa.tender')), h('dd', {}, c.tender || '—'),
      h('dt', {}, t('pa.agency')), h('dd', {}, entityLink(c.agency)),
      h('dt', {}, t('pa.bidders')), h('dd', {}, (c.bidders || []).join(', ') || '—'),
      h('dt', {}, t('pa.officials')), h('dd', {}, (c.officials || []).join(', ') || '—'),
      h('dt', {}, t('pa.asof')), h('dd', {}, c.as_of || '—'),
      h('dt', {}, t('pa.rules')), h('dd', {}, (c.rules || []).map((x) => tk('rule', x)).join('、') || '—')),
    c.method ? h('p', { class: 'muted' }, c.method) : null,
    (c.not_asked || []).length ? h('div', { class: 'notice' }, h('p', {}, t('pa.notAsked')),
      h('ul', {}, c.not_asked.map((x) => h('li', {}, scalar(x))))) : null,
    h('h3', {}, t('pa.findings')), findingList('pa-findings', r.findings || []),
  ];
  if (r.clearance) {
    const day = Number.isFinite(r.clearance.issued_at) ? new Date(r.clearance.issued_at * 1000).toISOString().slice(0, 10) : today();
    out.push(h('p', {}, h('button', { id: 'clearance-download', type: 'button',
      onclick: () => saveJson(`clearance-${day}.json`, r.clearance) }, t('pa.clearanceDownload')),
    ' ', h('span', { class: 'muted' }, t('pa.clearanceHint'))));
  }
  return out;
}

function verifyBox() {
  const text = h('textarea', { id: 'verify-text', name: 'clearance', rows: 6, spellcheck: 'false' });
  const file = h('input', { id: 'verify-file', type: 'file', accept: '.json,application/json', onchange: async () => {
    if (file.files[0]) text.value = await file.files[0].text();
  } });
  const out = h('div', { id: 'verify-result', 'aria-live': 'polite' });
  return h('section', { class: 'card' }, h('h2', {}, t('verify.title')), h('form', { onsubmit: async (ev) => {
    ev.preventDefault();
    const raw = text.value.trim();
    try { JSON.parse(raw); } catch (e) { fill(out, h('p', { class: 'error', role: 'alert' }, t('verify.badJson'))); return; }
    try {
      fill(out, verifyResult(await api('POST', '/v1/clearances/verify', raw)));
    } catch (e) {
      showError(out, e);
    }
  } }, field(t('verify.paste'), text), field(t('verify.file'), file),
  h('button', { id: 'verify-submit', type: 'submit' }, t('verify.submit'))), out);
}

function verifyResult(v) {
  const yes = (b) => h('span', { class: `badge ${b ? 'ok' : 'bad'}` }, b ? t('common.yes') : t('common.no'));
  const re = v.recheck_now;
  const recheck = !re ? '—' : [
    re.clear === null ? t('verify.recheckFailed') : yes(re.clear), ' ', re.clear ? t('verify.clearNow') : '',
    re.why ? [' ', re.why] : null, re.load != null ? [' ', tf('verify.load', { load: re.load })] : null,
    (re.findings || []).length ? h('ul', {}, re.findings.map((id) => h('li', {}, h('a', { href: findingHref(id) }, id)))) : null];
  return h('dl', { class: 'facts' },
    h('dt', {}, t('verify.valid')), h('dd', { 'data-valid': String(!!v.valid) }, yes(v.valid)),
    h('dt', {}, t('verify.unchanged')), h('dd', {}, yes(v.data_unchanged_since)),
    h('dt', {}, t('verify.knownAt')), h('dd', {}, v.known_at == null ? '—' : String(v.known_at)),
    h('dt', {}, t('verify.recheck')), h('dd', {}, recheck));
}

/* ---------- views: cases ---------- */

async function casesView(ctx) {
  add(ctx.main, title(t('cases.title')));
  if (state.session.role === 'investigator') add(ctx.main, newCaseForm());
  const r = await api('GET', '/v1/cases');
  if (!ctx.alive()) return;
  const cases = r.cases || [];
  add(ctx.main, h('h2', {}, t('cases.list')),
    cases.length ? listExport({ id: 'cases-export', file: 'cases', label: t('cases.list'),
      cols: fieldCols(['number', 'title', 'status', 'assignee', 'findings']), load: shownList(cases) }) : null,
    cases.length
    ? table('cases-table', [t('case.number'), t('case.titleCol'), t('col.status'), t('state.assignee'), t('cases.findings')],
      cases.map((c) => [h('a', { href: caseHref(c.number) }, c.number), c.title || '', statusBadge(c.status), c.assignee || '—', String(c.findings || 0)]))
    : h('p', { class: 'muted' }, t('cases.none')));
}

function newCaseForm() {
  const number = h('input', { id: 'case-new-number', name: 'number', required: true, autocomplete: 'off' });
  const ttl = h('input', { id: 'case-new-title', name: 'title', required: true, autocomplete: 'off' });
  const err = h('div', { class: 'form-error', role: 'alert' });
  return h('form', { class: 'card filters', onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      const c = await api('POST', '/v1/cases', { number: number.value.trim(), title: ttl.value.trim() });
      navigate(caseHref(c.number || number.value.trim()));
    } catch (e) {
      showError(err, e);
    }
  } }, h('h2', { class: 'full' }, t('cases.new')), field(t('case.number'), number), field(t('case.titleCol'), ttl),
  h('div', { class: 'actions' }, h('button', { id: 'case-new-submit', type: 'submit' }, t('cases.create'))), err);
}

async function caseView(ctx) {
  const number = ctx.route.arg;
  const offset = toInt(ctx.q.get('offset'), 0);
  const c = await api('GET', '/v1/cases/' + enc(number));
  if (!ctx.alive()) return;
  const box = h('div', { id: 'case-detail' });
  const show = (cs) => fill(box, ...caseDetail(cs, show));
  show(c);
  const auditBox = h('section', { id: 'case-audit' }, h('h2', {}, t('case.audit')));
  add(ctx.main, box, auditBox);
  try {
    const a = await api('GET', url(`/v1/cases/${enc(number)}/audit`, { limit: PAGE, offset }));
    if (!ctx.alive()) return;
    const recs = a.records || [];
    add(auditBox, recs.length ? listExport({ id: 'case-audit-export', file: 'case-audit', label: t('case.audit'),
      cols: AUDIT_COLS, load: (st) => fetchAll(`/v1/cases/${enc(number)}/audit`, {}, 'records', st) }) : null,
    auditTable('case-audit-table', recs),
      pager('case-audit', caseHref(number), {}, offset, PAGE, a.total || 0, recs.length));
  } catch (e) {
    if (ctx.alive()) showError(auditBox, e);
  }
}

/** CASE: facts, findings, notes, history, and the investigator's forms. */
function caseDetail(c, show) {
  const canEdit = state.session.role === 'investigator';
  const update = async (body, err) => {
    try {
      show(await api('POST', '/v1/cases/' + enc(c.number), body));
    } catch (e) {
      showError(err, e);
    }
  };
  const detachErr = h('div', { class: 'form-error', role: 'alert' });
  return [
    title(tf('case.heading', { number: c.number }), ' ', c.title || ''),
    h('dl', { class: 'facts' },
      h('dt', {}, t('col.status')), h('dd', {}, statusBadge(c.status, 'case-status-badge')),
      h('dt', {}, t('state.assignee')), h('dd', { id: 'case-assignee-text' }, c.assignee || '—'),
      h('dt', {}, t('case.created')), h('dd', {}, c.created ? `${c.created.at || '—'} ${c.created.by || ''}` : '—')),
    h('h2', {}, t('case.findings')),
    (c.findings || []).length ? listExport({ id: 'case-findings-export', file: 'case-findings', label: t('case.findings'),
      cols: fieldCols(['id', 'pattern', 'severity', 'explanation']), load: shownList(c.findings) }) : null,
    (c.findings || []).length ? h('ul', { id: 'case-findings', class: 'finding-list' }, c.findings.map((f) => h('li', { 'data-id': f.id },
      sevBadge(f.severity), ' ', h('a', { href: findingHref(f.id) }, tk('rule', f.pattern), ' ', h('code', {}, f.id)), ' ',
      h('span', { class: 'muted' }, truncate(f.explanation, 160)),
      canEdit ? [' ', h('button', { type: 'button', class: 'secondary small case-detach',
        onclick: () => update({ detach: [f.id] }, detachErr) }, t('case.detach'))] : null)))
      : h('p', { id: 'case-findings', class: 'muted' }, t('findings.none')),
    detachErr,
    canEdit ? caseUpdateForm(c, update) : null,
    h('h2', {}, t('case.notes')),
    (c.notes || []).length ? listExport({ id: 'case-notes-export', file: 'case-notes', label: t('case.notes'),
      cols: HISTORY_COLS, load: shownList(c.notes) }) : null,
    (c.notes || []).length ? h('ul', { id: 'case-notes', class: 'history' }, c.notes.map((n) => h('li', {},
      h('span', { class: 'when' }, n.at || '—'), ' ', h('span', { class: 'who' }, n.by || '—'), h('p', {}, n.text))))
      : h('p', { id: 'case-notes', class: 'muted' }, t('case.noNotes')),
    h('h2', {}, t('history.title')),
    historyList('case-history', c.history, (x) => x.what || ''),
  ];
}

function caseUpdateForm(c, update) {
  const status = select('case-status', CASE_STATUSES.map((s) => [s, tk('status', s)]), c.status || 'open');
  const assignee = h('input', { id: 'case-assignee', name: 'assignee', autocomplete: 'off', value: c.assignee || '' });
  const note = h('textarea', { id: 'case-note', name: 'note', rows: 3 });
  const err = h('div', { class: 'form-error', role: 'alert' });
  return h('form', { class: 'card', onsubmit: (ev) => {
    ev.preventDefault();
    const body = {};
    if (status.value !== c.status) body.status = status.value;
    if (assignee.value.trim() && assignee.value.trim() !== (c.assignee || '')) body.assignee = assignee.value.trim();
    if (note.value.trim()) body.note = note.value.trim();
    if (!Object.keys(body).length) { err.textContent = t('state.nothing'); return; }
    update(body, err);
  } }, h('h2', {}, t('case.update')),
  h('div', { class: 'row' }, field(t('col.status'), status), field(t('state.assignee'), assignee)),
  field(t('case.note'), note),
  h('button', { id: 'case-update-submit', type: 'submit' }, t('case.save')), err);
}

/* ---------- view: audit ---------- */

async function auditView(ctx) {
  const q = ctx.q;
  const p = { case: q.get('case') || '', q: q.get('q') || '' };
  const offset = toInt(q.get('offset'), 0);
  const limit = toInt(q.get('limit'), PAGE, 1, 1000);
  const verifyBoxEl = h('section', { id: 'audit-verify', class: 'card', 'aria-live': 'polite' }, t('audit.verifying'));
  const caseIn = h('input', { id: 'audit-case', name: 'case', autocomplete: 'off', value: p.case });
  const qIn = h('input', { id: 'audit-q', name: 'q', type: 'search', autocomplete: 'off', value: p.q });
  add(ctx.main, title(t('audit.title')), verifyBoxEl, h('form', { class: 'filters', role: 'search', onsubmit: (ev) => {
    ev.preventDefault();
    navigate(url('/ui/audit', { case: caseIn.value.trim(), q: qIn.value.trim() }));
  } }, field(t('audit.case'), caseIn), field(t('audit.q'), qIn),
  h('div', { class: 'actions' }, h('button', { id: 'audit-submit', type: 'submit' }, t('filter.apply')))));
  const verify = api('GET', '/v1/audit/verify').then((v) => showVerify(verifyBoxEl, v), (e) => showError(verifyBoxEl, e));
  const r = await api('GET', url('/v1/audit', { ...p, offset, limit }));
  if (!ctx.alive()) return;
  const recs = r.records || [];
  add(ctx.main, recs.length ? listExport({ id: 'audit-export', file: 'audit', label: t('audit.title'),
    cols: AUDIT_COLS, load: (st) => fetchAll('/v1/audit', p, 'records', st) }) : null,
  auditTable('audit-table', recs),
    pager('audit', '/ui/audit', { ...p, limit: limit === PAGE ? null : limit }, offset, limit, r.total || 0, recs.length));
  await verify;
}

function showVerify(box, v) {
  fill(box, h('h2', {}, t('audit.verifyTitle')), v.valid
    ? h('p', {}, h('span', { class: 'badge ok', 'data-valid': 'true' }, t('audit.valid')), ' ',
      tf('audit.records', { n: v.records }), ' ', t('audit.head'), ' ', h('code', { class: 'hash' }, v.head || '—'))
    : h('p', { role: 'alert' }, h('span', { class: 'badge bad', 'data-valid': 'false' }, t('audit.invalid')), ' ',
      v.problem || '', ' ', tf('audit.verified', { n: v.verified_records })),
  (v.sealed_segments || []).length ? h('ul', {}, v.sealed_segments.map((s) => h('li', {}, `${s.file}: ${s.note}`))) : null);
}

/** The query string as a person reads it (the table and the CSV show the same). */
const readableQuery = (q) => (q ? safeDecode(q.replace(/\+/g, ' ')) : '');

/** CSV columns of audit records {seq, entry, hash, prev} (JSONL keeps the whole record). */
const AUDIT_COLS = [['seq', (r) => r.seq], ...[['time', (e) => (e.ts == null ? '' : fmtTs(e.ts))], ['token', (e) => e.token_id],
  ['role', (e) => e.role], ['method', (e) => e.method], ['route', (e) => e.route], ['path', (e) => e.path],
  ['query', (e) => readableQuery(e.query)], ['case', (e) => e.case], ['purpose', (e) => e.purpose],
  ['status', (e) => e.status]].map(([k, get]) => [k, (r) => get(r.entry || {})])];

/** Audit records (time, token, role, route, method, path, case, purpose, status, results). */
function auditTable(id, recs) {
  if (!recs.length) return h('p', { id, class: 'muted' }, t('audit.none'));
  const heads = ['audit.time', 'audit.token', 'audit.role', 'audit.route', 'audit.method', 'audit.path',
    'audit.case', 'audit.purpose', 'col.status', 'audit.count'].map(t);
  return table(id, heads, recs.map((rec) => {
    const e = rec.entry || {};
    const res = e.result || {};
    const count = typeof res === 'object' ? (res.count != null ? String(res.count) : res.error || '—') : String(res);
    const query = e.query ? '?' + readableQuery(e.query) : '';
    return { attrs: { 'data-seq': rec.seq }, cells: [fmtTs(e.ts), h('code', {}, e.token_id || '—'), tk('role', e.role),
      e.route || '—', e.method || '—', h('span', { class: 'path' }, (e.path || '') + query),
      e.case || '—', e.purpose || '—', String(e.status || '—'), count] };
  }));
}

/* ---------- start ---------- */

render();
})();
