// newsradar dashboard. Every piece of feed text goes into the page as text (textContent,
// createTextNode), never as HTML; the server's Content-Security-Policy forbids inline script.
"use strict";

const RTL_LANGUAGES = new Set(["ar", "fa", "ur", "he", "ps", "ku"]);
const COLORS = ["#0b5cad", "#c2410c", "#15803d", "#7e22ce", "#b91c1c", "#0f766e"];
const MAX_ROWS = 500;

const state = { alerts: new Map(), order: [], selected: null, facets: { rules: new Set(), countries: new Set(), languages: new Set() } };

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
  };
}

function matchesFilters(alert) {
  const f = filters();
  return (!f.rule || alert.rule_id === f.rule)
    && (!f.country || alert.countries.includes(f.country))
    && (!f.language || alert.language === f.language);
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
  return iso ? iso.replace("T", " ").slice(0, 16) : "";
}

function row(alert, fresh) {
  const tr = el("tr", { "data-id": alert.id, "data-rule": alert.rule_id, class: fresh ? "fresh" : null },
    el("td", {}, when(alert.created_at)),
    el("td", {}, alert.rule_id),
    el("td", {}, alert.score.toFixed(1)),
    el("td", {}, alert.pairs.slice(0, 3).join(", ")),
    el("td", { class: "title", dir: direction(alert.language), lang: alert.language || null },
      alert.article_title || alert.article_id));
  tr.addEventListener("click", () => showDetail(alert.id));
  if (alert.id === state.selected) tr.classList.add("selected");
  return tr;
}

function render() {
  const body = document.querySelector("#alerts tbody");
  const rows = state.order.map((id) => state.alerts.get(id)).filter(matchesFilters);
  body.replaceChildren(...rows.map((a) => row(a, false)));
  document.getElementById("no-alerts").hidden = rows.length > 0;
  document.getElementById("alert-count").textContent = `(${rows.length})`;
}

function remember(alert) {
  const known = state.alerts.has(alert.id);
  state.alerts.set(alert.id, alert);
  if (!known) state.order.unshift(alert.id);
  if (state.order.length > MAX_ROWS) {
    for (const id of state.order.splice(MAX_ROWS)) state.alerts.delete(id);
  }
  learnFacets(alert);
  return !known;
}

let pairsTimer = null;
function arrive(alert) {
  if (!remember(alert)) return;
  if (alert.pairs.length && pairsTimer === null) {  // the chart follows, a second later
    pairsTimer = setTimeout(() => { pairsTimer = null; loadPairs().catch(() => {}); }, 1000);
  }
  if (!matchesFilters(alert)) return;
  const body = document.querySelector("#alerts tbody");
  body.prepend(row(alert, true));
  document.getElementById("no-alerts").hidden = true;
  document.getElementById("alert-count").textContent = `(${body.children.length})`;
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
  for (const tr of document.querySelectorAll("#alerts tbody tr")) tr.classList.toggle("selected", tr.dataset.id === id);
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
    ["Rule", `${alert.rule_id} (version ${alert.rule_version})`], ["Score", alert.score.toFixed(2)],
    ["Countries", alert.countries.join(", ") || "-"], ["Pairs", alert.pairs.join(", ") || "-"],
    ["Topics", alert.topics.join(", ") || "-"], ["Language", alert.language || "-"],
    ["Published", when(alert.article_published)], ["Feed", alert.feed || "-"],
  ];
  const relations = alert.relations || [];
  const why = document.getElementById("d-why");
  why.setAttribute("dir", dir);
  why.setAttribute("lang", alert.language || "");
  why.replaceChildren(...relations.map((r) => el(
    "li", { "data-kind": r.kind }, r.sentence, " ",
    el("small", { dir: "ltr" }, `(${r.pair} ${r.kind}${r.cues.length ? ": " + r.cues.join(", ") : ""})`),
  )));
  document.getElementById("d-why-box").hidden = relations.length === 0;
  document.getElementById("d-facts").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", { dir: "auto" }, v)]));
  const list = document.getElementById("d-matches");
  list.setAttribute("dir", dir);
  list.setAttribute("lang", alert.language || "");
  list.replaceChildren(...alert.matches.map((m) => {
    const snippet = m.snippet || m.term;
    const at = snippet.indexOf(m.term);
    const text = at >= 0 ? highlighted(snippet, [[at, at + m.term.length]]) : document.createTextNode(snippet);
    return el("li", { "data-field": m.field }, text, " ", el("small", { dir: "ltr" }, `(${m.denotes}, ${m.field})`));
  }));
  detail.hidden = false;
}

async function getJSON(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

async function loadAlerts() {
  const data = await getJSON("/api/alerts?limit=" + MAX_ROWS);
  for (const item of data.alerts.slice().reverse()) remember(item.alert);
  render();
  return data.cursor;
}

async function loadFacets() {
  const facets = await getJSON("/api/facets");
  for (const r of facets.rules) addOption(document.getElementById("f-rule"), r);
  for (const c of facets.countries) addOption(document.getElementById("f-country"), c);
  for (const l of facets.languages) addOption(document.getElementById("f-language"), l);
}

function live(cursor) {
  const badge = document.getElementById("live");
  const source = new EventSource("/api/stream?after=" + cursor);
  source.addEventListener("open", () => { badge.textContent = "live"; badge.classList.remove("off"); });
  source.addEventListener("error", () => {
    // A refused reconnect (the session cookie expired, the token changed) closes the stream.
    const closed = source.readyState === EventSource.CLOSED;
    badge.textContent = closed ? "offline: reload the page" : "reconnecting…";
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
  const data = await getJSON("/api/pairs?hours=24");
  const box = document.getElementById("pair-chart");
  if (!data.pairs.length) { box.replaceChildren(el("p", {}, "No country pairs in the last 24 hours.")); return; }
  const width = 480, height = 180, left = 28, bottom = 20, top = 8;
  const n = data.hours.length;
  const most = Math.max(1, ...data.pairs.flatMap((p) => p.counts));
  const x = (i) => left + (i * (width - left - 8)) / Math.max(1, n - 1);
  const y = (v) => top + (1 - v / most) * (height - top - bottom);
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "Articles per country pair per hour" });
  chart.append(svg("line", { x1: left, y1: y(0), x2: width - 8, y2: y(0), stroke: "#ccc" }));
  chart.append(svg("text", { x: 2, y: y(most) + 4 }, String(most)), svg("text", { x: 2, y: y(0) + 4 }, "0"));
  for (const i of [0, Math.floor(n / 2), n - 1]) chart.append(svg("text", { x: x(i) - 14, y: height - 4 }, data.hours[i].slice(11, 16)));
  const legend = el("div", { class: "legend" });
  data.pairs.forEach((p, k) => {
    const color = COLORS[k % COLORS.length];
    const points = p.counts.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
    chart.append(svg("polyline", { points, fill: "none", stroke: color, "stroke-width": 2, "data-pair": p.pair }));
    const entry = el("span", { "data-pair": p.pair }, `${p.pair} (${p.counts.reduce((a, b) => a + b, 0)})`);
    entry.style.setProperty("--swatch", color);
    legend.append(entry);
  });
  box.replaceChildren(chart, legend);
}

async function loadFeeds() {
  const data = await getJSON("/api/feeds");
  const body = document.querySelector("#feeds tbody");
  body.replaceChildren(...data.feeds.map((f) => el("tr", { "data-url": f.url },
    el("td", { dir: "auto", title: f.url }, f.name || f.url),
    el("td", { class: `health-${f.health}` }, f.health),
    el("td", {}, when(f.last_success) || "-"),
    el("td", {}, f.consecutive_failures),
    el("td", {}, f.items_last_poll),
    el("td", { dir: "auto" }, f.last_error_class ? `${f.last_error_class}: ${f.last_error}` : ""))));
}

async function start() {
  for (const id of ["f-rule", "f-country", "f-language"]) document.getElementById(id).addEventListener("change", render);
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
    badge.textContent = `error: ${error.message}`;
    badge.classList.add("off");
  });
});
