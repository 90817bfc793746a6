// The interface's words, in the reader's language. Every interface string is in a message
// catalogue, static/i18n/<language>.json (the same keys in each); the page holds none. The
// language is chosen per browser (localStorage), else from the browser's own languages; an
// Arabic page is laid out right to left (<html lang="ar" dir="rtl">, CSS logical properties).
// Times are shown in the configured zone (<meta name="newsradar-timezone">), named on the page.
"use strict";

const I18N = (() => {
  const DIRECTIONS = { en: "ltr", ar: "rtl" };
  const STORAGE_KEY = "newsradar.language";
  const zone = document.querySelector('meta[name="newsradar-timezone"]')?.content || "UTC";
  let language = "en";
  let messages = {};

  function stored() {
    try { return localStorage.getItem(STORAGE_KEY); } catch { return null; }  // storage may be off
  }

  // The language to start in: the one this browser chose last, else the browser's own.
  function preferred() {
    const saved = stored();
    if (saved && saved in DIRECTIONS) return saved;
    const own = (navigator.languages || [navigator.language]).map((l) => String(l).slice(0, 2));
    return own.find((l) => l in DIRECTIONS) || "en";
  }

  // `key`'s message with {name} replaced from `params` ({zone} is always known).
  function t(key, params = {}) {
    const text = Object.hasOwn(messages, key) ? messages[key] : key;
    const values = { zone, ...params };
    return text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
  }

  // A code's label from the catalogue (`health.failing`), or the code itself if it has none.
  function label(prefix, code) {
    const key = `${prefix}.${code}`;
    return Object.hasOwn(messages, key) ? messages[key] : code;
  }

  function apply(root = document) {
    for (const node of root.querySelectorAll("[data-i18n]")) {
      node.textContent = t(node.dataset.i18n, node.dataset.i18nArgs ? JSON.parse(node.dataset.i18nArgs) : {});
    }
    for (const node of root.querySelectorAll("[data-i18n-title]")) node.setAttribute("title", t(node.dataset.i18nTitle));
    for (const node of root.querySelectorAll("[data-i18n-aria-label]")) node.setAttribute("aria-label", t(node.dataset.i18nAriaLabel));
    for (const node of root.querySelectorAll("[data-i18n-placeholder]")) node.setAttribute("placeholder", t(node.dataset.i18nPlaceholder));
  }

  async function use(wanted) {
    const lang = wanted in DIRECTIONS ? wanted : "en";
    const response = await fetch(`/static/i18n/${lang}.json`, { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    messages = await response.json();
    language = lang;
    document.documentElement.lang = lang;
    document.documentElement.dir = DIRECTIONS[lang];
    try { localStorage.setItem(STORAGE_KEY, lang); } catch { /* not remembered, still shown */ }
    apply();
  }

  const numbers = new Map();
  function number(value, digits = 0) {
    const key = `${language}:${digits}`;
    if (!numbers.has(key)) numbers.set(key, new Intl.NumberFormat(language, { minimumFractionDigits: digits, maximumFractionDigits: digits }));
    return numbers.get(key).format(value);
  }

  const clocks = new Map();
  function clock(options) {
    const key = `${language}:${JSON.stringify(options)}`;
    if (!clocks.has(key)) clocks.set(key, new Intl.DateTimeFormat(language, { timeZone: zone, hourCycle: "h23", ...options }));
    return clocks.get(key);
  }

  // An ISO time as date and time of day in the configured zone: 2026-11-30 09:05 in English,
  // the Arabic locale's own form in Arabic.
  function time(iso) {
    if (!iso) return "";
    const at = new Date(iso);
    if (Number.isNaN(at.getTime())) return "";
    const options = { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" };
    if (language !== "en") return clock(options).format(at);
    const part = Object.fromEntries(clock(options).formatToParts(at).map((p) => [p.type, p.value]));
    return `${part.year}-${part.month}-${part.day} ${part.hour}:${part.minute}`;
  }

  function hour(iso) {
    return clock({ hour: "2-digit", minute: "2-digit" }).format(new Date(iso));
  }

  // The key of `key`'s plural form for `count` (`search.found.few`): each catalogue has every
  // CLDR form (zero, one, two, few, many, other), its language uses those it needs.
  function plural(key, count) {
    return `${key}.${new Intl.PluralRules(language).select(count)}`;
  }

  function has(key) {
    return Object.hasOwn(messages, key);
  }

  return { preferred, use, t, has, plural, label, apply, number, time, hour, zone, get language() { return language; }, get direction() { return DIRECTIONS[language]; } };
})();
