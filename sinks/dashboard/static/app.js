// newsradar dashboard. Every piece of feed text goes into the page as text (textContent,
// createTextNode), never as HTML; the server's Content-Security-Policy forbids inline script.
// Interface strings, numbers and times come from I18N (i18n.js), never from here.
"use strict";

const { t } = I18N;

const RTL_LANGUAGES = new Set(["ar", "fa", "ur", "he", "ps", "ku"]);
const COLORS = ["#0b5cad", "#c2410c", "#15803d", "#7e22ce", "#b91c1c", "#0f766e"];
const MAX_ROWS = 500;

const state = { alerts: new Map(), order: [], selected: null, triage: new Map(), query: "", facets: { rules: new Set(), countries: new Set(), languages: new Set() } };

// The star's glyphs (not words: the same in every language).
const STAR = { on: "★", off: "☆" };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) node.setAttribute(key, value);
  }
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function direction(language) {
  return RTL_LANGUAGES.has(language) ? "rtl" : "auto";
}

function filters() {
  return {
    rule: document.getElementById("f-rule").value,
    country: document.getElementById("f-country").value,
    language: document.getElementById("f-language").value,
    unread: document.getElementById("f-unread").checked,
    starred: document.getElementById("f-starred").checked,
  };
}

function triageOf(id) {
  return state.triage.get(id) || { read: false, starred: false };
}

// The search (q) is the server's: the loaded alerts are its results. The other filters apply
// here too, at once.
function matchesFilters(alert) {
  const f = filters();
  const triage = triageOf(alert.id);
  return (!f.rule || alert.rule_id === f.rule)
    && (!f.country || alert.countries.includes(f.country))
    && (!f.language || alert.language === f.language)
    && (!f.unread || !triage.read)
    && (!f.starred || triage.starred);
}

// The current filter as API query parameters (for loading and export).
function filterParams() {
  const f = filters();
  const params = new URLSearchParams();
  for (const key of ["rule", "country", "language"]) if (f[key]) params.set(key, f[key]);
  if (state.query) params.set("q", state.query);
  if (f.unread) params.set("unread", "true");
  if (f.starred) params.set("starred", "true");
  return params;
}

function updateExportLinks() {
  for (const format of ["csv", "jsonl"]) {
    const params = filterParams();
    params.set("format", format);
    document.getElementById(`export-${format}`).setAttribute("href", "/api/v1/export?" + params);
  }
}

function addOption(select, value) {
  if ([...select.options].some((o) => o.value === value)) return;
  const option = el("option", { value }, value);
  const after = [...select.options].slice(1).find((o) => o.value > value);
  select.insertBefore(option, after || null);
}

function learnFacets(alert) {
  addOption(document.getElementById("f-rule"), alert.rule_id);
  for (const c of alert.countries) addOption(document.getElementById("f-country"), c);
  if (alert.language) addOption(document.getElementById("f-language"), alert.language);
}

function when(iso) {
  return I18N.time(iso);
}

// A badge or message whose text follows the language: its catalogue key and parameters.
function say(node, key, params = {}) {
  node.dataset.i18n = key;
  node.dataset.i18nArgs = JSON.stringify(params);
  node.textContent = t(key, params);
}

function starButton(alert) {
  const starred = triageOf(alert.id).starred;
  const button = el("button", { type: "button", class: "star", "aria-pressed": String(starred), title: t(starred ? "star.remove" : "star.add") },
    starred ? STAR.on : STAR.off);
  button.addEventListener("click", (event) => { event.stopPropagation(); toggleStar(alert.id); });
  return button;
}

function row(alert, fresh) {
  const triage = triageOf(alert.id);
  const classes = [fresh ? "fresh" : "", triage.read ? "read" : "unread", triage.starred ? "starred" : ""].filter(Boolean).join(" ");
  const tr = el("tr", { "data-id": alert.id, "data-rule": alert.rule_id, class: classes },
    el("td", {}, starButton(alert)),
    el("td", {}, when(alert.created_at)),
    el("td", {}, alert.rule_id),
    el("td", {}, I18N.number(alert.score, 1)),
    el("td", {}, joined(alert.pairs.slice(0, 3))),
    el("td", { class: "title", dir: direction(alert.language), lang: alert.language || null },
      alert.article_title || alert.article_id));
  tr.addEventListener("click", () => { showDetail(alert.id); setTriage(alert.id, { read: true }); });
  if (alert.id === state.selected) tr.classList.add("selected");
  return tr;
}

function render() {
  const body = document.querySelector("#alerts tbody");
  const rows = state.order.map((id) => state.alerts.get(id)).filter(matchesFilters);
  body.replaceChildren(...rows.map((a) => row(a, false)));
  document.getElementById("no-alerts").hidden = rows.length > 0;
  say(document.getElementById("alert-count"), "alerts.count", { count: I18N.number(rows.length) });
  updateExportLinks();
}

// One row drawn again in place (its triage changed); it stays even if a filter would now hide
// it, as in feed readers, until the list is drawn again.
function redraw(id) {
  const old = document.querySelector(`#alerts tbody tr[data-id="${CSS.escape(id)}"]`);
  const alert = state.alerts.get(id);
  if (old && alert) old.replaceWith(row(alert, false));
}

function remember(alert, triage) {
  if (triage) state.triage.set(alert.id, triage);
  const known = state.alerts.has(alert.id);
  state.alerts.set(alert.id, alert);
  if (!known) state.order.unshift(alert.id);
  if (state.order.length > MAX_ROWS) {
    for (const id of state.order.splice(MAX_ROWS)) { state.alerts.delete(id); state.triage.delete(id); }
  }
  learnFacets(alert);
  return !known;
}

let pairsTimer = null;
let searchTimer = null;
function arrive(alert) {
  if (alert.pairs.length && pairsTimer === null) {  // the chart follows, a second later
    pairsTimer = setTimeout(() => { pairsTimer = null; loadPairs().catch(() => {}); }, 1000);
  }
  if (state.query) {  // whether it matches the search is the server's to say: ask again
    if (searchTimer === null) searchTimer = setTimeout(() => { searchTimer = null; loadAlerts().catch(() => {}); }, 1000);
    return;
  }
  if (!remember(alert)) return;
  if (!matchesFilters(alert)) return;
  const body = document.querySelector("#alerts tbody");
  body.prepend(row(alert, true));
  document.getElementById("no-alerts").hidden = true;
  say(document.getElementById("alert-count"), "alerts.count", { count: I18N.number(body.children.length) });
}

// The text with [start, end) ranges wrapped in <mark>; ranges must point at `text`.
function highlighted(text, ranges) {
  const out = document.createDocumentFragment();
  let at = 0;
  for (const [start, end] of ranges.sort((a, b) => a[0] - b[0])) {
    if (start < at || end > text.length) continue;
    out.append(document.createTextNode(text.slice(at, start)), el("mark", {}, text.slice(start, end)));
    at = end;
  }
  out.append(document.createTextNode(text.slice(at)));
  return out;
}

function titleRanges(alert) {
  const title = alert.article_title;
  return alert.matches
    .filter((m) => m.field === "title")
    .map((m) => (title.slice(m.start, m.end) === m.term ? [m.start, m.end] : [title.indexOf(m.term), title.indexOf(m.term) + m.term.length]))
    .filter(([s]) => s >= 0);
}

function showDetail(id) {
  const alert = state.alerts.get(id);
  if (!alert) return;
  state.selected = id;
  for (const tr of document.querySelectorAll("#alerts tbody tr")) {
    tr.classList.toggle("selected", tr.dataset.id === id);
    if (tr.dataset.id === id) tr.scrollIntoView({ block: "nearest" });
  }
  const detail = document.getElementById("detail");
  const dir = direction(alert.language);
  const title = document.getElementById("d-title");
  title.replaceChildren(highlighted(alert.article_title || alert.article_id, titleRanges(alert)));
  title.setAttribute("dir", dir);
  title.setAttribute("lang", alert.language || "");
  const link = document.getElementById("d-link");
  if (/^https?:\/\//i.test(alert.article_url)) link.setAttribute("href", alert.article_url);
  else link.removeAttribute("href");
  const facts = [
    ["detail.rule", t("detail.rule_version", { rule: alert.rule_id, version: I18N.number(alert.rule_version) })],
    ["detail.score", I18N.number(alert.score, 2)],
    ["detail.countries", joined(alert.countries)], ["detail.pairs", joined(alert.pairs)],
    ["detail.topics", joined(alert.topics.map((topic) => I18N.label("topic", topic)))],
    ["detail.language", alert.language || "-"],
    ["detail.published", when(alert.article_published)], ["detail.feed", alert.feed || "-"],
  ];
  const relations = alert.relations || [];
  const why = document.getElementById("d-why");
  why.setAttribute("dir", dir);
  why.setAttribute("lang", alert.language || "");
  why.replaceChildren(...relations.map((r) => el(
    "li", { "data-kind": r.kind }, r.sentence, " ",
    el("small", { dir: I18N.direction }, `(${r.pair} ${I18N.label("relation", r.kind)}${r.cues.length ? ": " + r.cues.join(", ") : ""})`),
  )));
  document.getElementById("d-why-box").hidden = relations.length === 0;
  document.getElementById("d-facts").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", {}, t(k)), el("dd", { dir: "auto" }, v)]));
  const list = document.getElementById("d-matches");
  list.setAttribute("dir", dir);
  list.setAttribute("lang", alert.language || "");
  list.replaceChildren(...alert.matches.map((m) => {
    const snippet = m.snippet || m.term;
    const at = snippet.indexOf(m.term);
    const text = at >= 0 ? highlighted(snippet, [[at, at + m.term.length]]) : document.createTextNode(snippet);
    return el("li", { "data-field": m.field }, text, " ", el("small", { dir: I18N.direction }, t("detail.match_note", { denotes: denotes(m.denotes), field: I18N.label("field", m.field) })));
  }));
  detail.hidden = false;
}

// What a matched term stands for: a country code, or a topic, named in the reader's language.
function denotes(code) {
  const at = code.indexOf(":");
  const kind = at < 0 ? "" : code.slice(0, at);
  const value = kind === "topic" ? I18N.label("topic", code.slice(at + 1)) : code.slice(at + 1);
  return I18N.has(`denotes.${kind}`) ? t(`denotes.${kind}`, { value }) : code;
}

function joined(values) {
  return values.join(t("list.separator")) || "-";
}

class HttpError extends Error {
  // `reason`: the server's one-line JSON error, when it sent one (shown as text only).
  constructor(url, status, reason = "") { super(`${url}: HTTP ${status}`); this.status = status; this.reason = reason; }
}

// A failure told in the reader's language: `what`.http with the status, or `what`.network.
function failed(node, what, error) {
  if (error instanceof HttpError) say(node, `${what}.http`, { status: error.status, reason: error.reason });
  else say(node, `${what}.network`);
}

async function getJSON(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  if (!response.ok) {
    let reason = "";
    try { reason = String((await response.json()).error || ""); } catch { /* not JSON */ }
    throw new HttpError(url, response.status, reason);
  }
  return response.json();
}

// The newest alerts of the current search (all of them without one), with their triage.
async function loadAlerts() {
  const params = new URLSearchParams({ limit: String(MAX_ROWS) });
  if (state.query) params.set("q", state.query);
  const status = document.getElementById("search-status");
  if (state.query) { say(status, "search.searching"); status.hidden = false; }
  let data;
  try {
    data = await getJSON("/api/v1/alerts?" + params);
  } catch (error) {
    failed(status, "search.failed", error);
    status.hidden = false;
    throw error;
  }
  state.alerts.clear();
  state.order = [];
  state.triage.clear();
  for (const item of data.alerts.slice().reverse()) remember(item.alert, { read: item.read, starred: item.starred });
  render();
  if (state.query) say(status, I18N.plural("search.found", data.alerts.length), { count: I18N.number(data.alerts.length) });
  status.hidden = !state.query;
  return Math.max(0, ...data.alerts.map((item) => item.cursor));
}

async function setTriage(id, change) {
  const before = triageOf(id);
  if (Object.entries(change).every(([key, value]) => before[key] === value)) return;
  state.triage.set(id, { ...before, ...change });
  redraw(id);
  try {
    const response = await fetch("/api/v1/alerts/" + encodeURIComponent(id), {
      method: "PATCH",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(change),
    });
    if (!response.ok) throw new HttpError(response.url, response.status);
    const item = await response.json();
    state.triage.set(id, { read: item.read, starred: item.starred });
  } catch (error) {
    state.triage.set(id, before);
    const status = document.getElementById("search-status");
    failed(status, "triage.failed", error);
    status.hidden = false;
  }
  redraw(id);
}

function toggleStar(id) { if (id) setTriage(id, { starred: !triageOf(id).starred }); }
function toggleRead(id) { if (id) setTriage(id, { read: !triageOf(id).read }); }

// Feed-reader keys: j / k next / previous, s star, m toggle read, Enter mark read.
function onKey(event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target instanceof Element ? event.target : null;
  if (target && target.closest("input:not([type=checkbox]), select, textarea, [contenteditable]")) return;
  if (event.key === "Enter" && target && target.closest("button, a")) return;  // their own action
  const ids = [...document.querySelectorAll("#alerts tbody tr")].map((tr) => tr.dataset.id);
  const at = ids.indexOf(state.selected);
  const move = (to) => { if (ids.length) showDetail(ids[Math.max(0, Math.min(ids.length - 1, to))]); };
  switch (event.key) {
    case "j": move(at < 0 ? 0 : at + 1); break;
    case "k": move(at < 0 ? 0 : at - 1); break;
    case "s": toggleStar(state.selected); break;
    case "m": toggleRead(state.selected); break;
    case "Enter": if (state.selected) setTriage(state.selected, { read: true }); break;
    default: return;
  }
  event.preventDefault();
}

let queryTimer = null;
function onSearch() {
  clearTimeout(queryTimer);
  queryTimer = setTimeout(() => {
    const query = document.getElementById("f-q").value.trim();
    if (query === state.query) return;
    state.query = query;
    loadAlerts().catch(() => {});
  }, 300);
}

async function loadFacets() {
  const facets = await getJSON("/api/v1/facets");
  for (const r of facets.rules) addOption(document.getElementById("f-rule"), r);
  for (const c of facets.countries) addOption(document.getElementById("f-country"), c);
  for (const l of facets.languages) addOption(document.getElementById("f-language"), l);
}

function live(cursor) {
  const badge = document.getElementById("live");
  const source = new EventSource("/api/v1/stream?after=" + cursor);
  source.addEventListener("open", () => { say(badge, "live.on"); badge.classList.remove("off"); });
  source.addEventListener("error", () => {
    // A refused reconnect (the session cookie expired, the token changed) closes the stream.
    const closed = source.readyState === EventSource.CLOSED;
    say(badge, closed ? "live.offline" : "live.reconnecting");
    badge.classList.add("off");
  });
  source.addEventListener("alert", (event) => {
    const item = JSON.parse(event.data);
    arrive(item.alert);
  });
}

const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

async function loadPairs() {
  const data = await getJSON("/api/v1/pairs?hours=24");
  const box = document.getElementById("pair-chart");
  if (!data.pairs.length) { box.replaceChildren(el("p", { "data-i18n": "pairs.none" }, t("pairs.none"))); return; }
  const width = 480, height = 180, left = 28, bottom = 20, top = 8;
  const n = data.hours.length;
  const most = Math.max(1, ...data.pairs.flatMap((p) => p.counts));
  const x = (i) => left + (i * (width - left - 8)) / Math.max(1, n - 1);
  const y = (v) => top + (1 - v / most) * (height - top - bottom);
  // Time runs left to right in either language, as on a printed chart.
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": t("pairs.chart"), direction: "ltr" });
  chart.append(svg("line", { x1: left, y1: y(0), x2: width - 8, y2: y(0), stroke: "#ccc" }));
  chart.append(svg("text", { x: 2, y: y(most) + 4 }, I18N.number(most)), svg("text", { x: 2, y: y(0) + 4 }, I18N.number(0)));
  const ticks = [[0, "start"], [Math.floor(n / 2), "middle"], [n - 1, "end"]];
  for (const [i, anchor] of ticks) chart.append(svg("text", { x: x(i), y: height - 4, "text-anchor": anchor }, I18N.hour(data.hours[i])));
  const legend = el("div", { class: "legend" });
  data.pairs.forEach((p, k) => {
    const color = COLORS[k % COLORS.length];
    const points = p.counts.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
    chart.append(svg("polyline", { points, fill: "none", stroke: color, "stroke-width": 2, "data-pair": p.pair }));
    const entry = el("span", { "data-pair": p.pair, dir: "ltr" }, `${p.pair} (${I18N.number(p.counts.reduce((a, b) => a + b, 0))})`);
    entry.style.setProperty("--swatch", color);
    legend.append(entry);
  });
  box.replaceChildren(chart, legend);
}

// Feed health is read from Kafka by the server; while it cannot be (503), the table is
// emptied and the server's reason shown above it, and the rest of the page carries on.
async function loadFeeds() {
  const body = document.querySelector("#feeds tbody");
  const status = document.getElementById("feeds-status");
  let data;
  try {
    data = await getJSON("/api/v1/feeds");
  } catch (error) {
    body.replaceChildren();
    failed(status, "feeds.failed", error);
    status.hidden = false;
    throw error;
  }
  status.hidden = true;
  body.replaceChildren(...data.feeds.map((f) => el("tr", { "data-url": f.url },
    el("td", { dir: "auto", title: f.url }, f.name || f.url),
    el("td", { class: `health-${f.health}` }, I18N.label("health", f.health)),
    el("td", {}, when(f.last_success) || "-"),
    el("td", {}, I18N.number(f.consecutive_failures)),
    el("td", {}, I18N.number(f.items_last_poll)),
    el("td", { dir: "auto" }, f.last_error_class ? `${I18N.label("error_class", f.last_error_class)}: ${f.last_error}` : ""),
    el("td", { dir: "ltr" }, f.producer || "-"))));
}

async function chooseLanguage(language) {
  await I18N.use(language);
  document.getElementById("ui-language").value = I18N.language;
}

async function start() {
  try {
    await chooseLanguage(I18N.preferred());
  } finally {
    document.body.classList.remove("loading");
  }
  say(document.getElementById("live"), "live.connecting");
  document.getElementById("ui-language").addEventListener("change", async (event) => {
    await chooseLanguage(event.target.value);
    render();
    if (state.selected) showDetail(state.selected);
    await Promise.allSettled([loadPairs(), loadFeeds()]);
  });
  for (const id of ["f-rule", "f-country", "f-language", "f-unread", "f-starred"]) document.getElementById(id).addEventListener("change", render);
  document.getElementById("f-q").addEventListener("input", onSearch);
  document.getElementById("filters").addEventListener("submit", (event) => event.preventDefault());
  document.addEventListener("keydown", onKey);
  await loadFacets();
  const cursor = await loadAlerts();
  live(cursor);
  const refresh = () => Promise.allSettled([loadPairs(), loadFeeds()]);
  refresh();
  setInterval(refresh, 30000);
}

document.addEventListener("DOMContentLoaded", () => {
  start().catch((error) => {
    const badge = document.getElementById("live");
    failed(badge, "live.error", error);
    badge.classList.add("off");
  });
});
