//! newsradar's detection core: one article normalised, scanned, aggregated and decided in one
//! call.
//!
//! The Python engine (`processors/classify.py`, through `processors/core.py`) builds a
//! [`Core`] from its matcher's vocabulary and tables and calls [`Core::analyse`] per article;
//! everything here mirrors the Python steps it stands in for, and
//! `tests/unit/processors/test_core.py` holds the two to the same output:
//!
//! - encoding and normalising: the joined fields in Windows-1256, one byte per character,
//!   through the one-byte table of `processors.normalize.scan_text` (marks deleted), keeping
//!   each byte's original offset;
//! - scanning: every padded surface form at once, overlapping (the aho-corasick crate);
//! - `Matcher.resolve` (leftmost longest, when a careful form occurs) or
//!   `Matcher.check_case` (meanings that match only as written);
//! - `Engine._locate`: country mentions de-duplicated, counted and placed in sentences
//!   (and words, when a rule counts words); `Engine._pair_counts`;
//! - the rules' decisions (`processors.rules._check` without reasons), read from each rule's
//!   `_Decision`, with the score rounded as Python's `round(score, 3)`.
//!
//! Python keeps the rules' reasons, the matches and their snippets: it works them out with
//! its own steps when they are asked for.
//!
//! A character outside Windows-1256, or one the table cannot fold, yields `None`, and the
//! engine takes its Python steps.

use aho_corasick::{AhoCorasick, MatchKind};
use pyo3::exceptions::PyValueError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
use std::collections::{HashMap, HashSet};

const COUNTRY: u8 = 0;
const TOPIC: u8 = 1;
const BLOC: u8 = 2;
const KEYWORD: u8 = 3;

/// Flags of a character's entry (`Core::entries`): the core reads it; folding deletes it; it
/// is a newline or sentence mark.
const READABLE: u32 = 1 << 16;
const DELETED: u32 = 1 << 17;
const END: u32 = 1 << 18;

struct Meaning {
    kind: u8,
    /// Index into `Core::names`: the country code, topic, bloc or `RULE:GROUP`.
    what: u32,
    /// Index into `Core::names`: a keyword's text (unused for other kinds).
    text: u32,
    /// `Some` when the meaning matches only as written: its text in Windows-1256 (empty
    /// when the text has a character outside it, so that it never matches).
    exact: Option<Vec<u8>>,
}

/// An article's fields joined: in Windows-1256 (`raw`) and folded, deleted bytes dropped
/// (`text`).
struct Text {
    raw: Vec<u8>,
    text: Vec<u8>,
    /// For each deleted byte, the index in `text` of the next kept one.
    shifts: Vec<u32>,
    /// Where in `raw` a newline or sentence mark is (a sentence ends there if it is a
    /// newline, or the mark is followed by a space or the end).
    ends: Vec<u32>,
    /// Where each field starts in `raw`.
    starts: Vec<u32>,
}

impl Text {
    /// Where the byte at `i` in `text` is in `raw`.
    fn origin(&self, i: u32) -> u32 {
        i + self.shifts.partition_point(|&s| s <= i) as u32
    }

    /// Index of the field holding `raw` offset `offset`.
    fn field_of(&self, offset: u32) -> u32 {
        (self.starts.partition_point(|&s| s <= offset) - 1) as u32
    }
}

/// A raw hit: leading-space offset, trailing-space offset, pattern.
#[derive(Clone, Copy)]
struct Hit {
    start: u32,
    end: u32,
    pattern: u32,
}

/// A hit kept after resolving: its surviving meanings (all of the pattern's, or a filtered
/// list when case mattered).
struct Kept {
    hit: Hit,
    filtered: Option<Vec<u32>>,
}

/// What an article's kept hits stand for, each once, in order of first appearance.
#[derive(Default)]
struct Found {
    codes: Vec<u32>,
    topics: Vec<u32>,
    blocs: Vec<u32>,
    keywords: Vec<(u32, u32)>,
}

/// One country's mentions: how many, in which sentences, at which (offset, field, word).
struct Country {
    code: u32,
    mentions: usize,
    sentences: Vec<u32>,
    words: Vec<(u32, u32, u32)>,
}

/// How near two countries must be: in one sentence, or at most this many words apart.
#[derive(Clone, Copy)]
enum Proximity {
    Sentence,
    Words(u32),
}

#[derive(FromPyObject)]
struct ProximitySpec {
    unit: String,
    distance: u32,
}

impl From<&ProximitySpec> for Proximity {
    fn from(spec: &ProximitySpec) -> Self {
        if spec.unit == "words" {
            Proximity::Words(spec.distance)
        } else {
            Proximity::Sentence
        }
    }
}

/// `processors.normalize.ByteAlphabet`: how text is encoded and folded, one byte a character.
#[derive(FromPyObject)]
struct Alphabet {
    table: Vec<u8>,
    delete: Vec<u8>,
    unsupported: u8,
    encode: Vec<(u32, u8)>,
    spaces: Vec<u8>,
    marks: Vec<u8>,
}

/// A rule's conditions as `processors.rules._Decision` reads them (its attributes).
#[derive(FromPyObject)]
struct RuleSpec {
    languages: Vec<String>,
    countries_all: Vec<String>,
    countries_any: Vec<String>,
    topics_all: Vec<String>,
    topics_any: Vec<String>,
    key_all: String,
    key_any: String,
    key_none: String,
    keywords_all: bool,
    keywords_any: bool,
    keyword_texts: HashSet<String>,
    pairs: Vec<(String, String)>,
    proximity: ProximitySpec,
    topic_set: HashSet<String>,
    w_pair: f64,
    w_topic: f64,
    w_keyword: f64,
    w_country: f64,
    country_codes: Vec<String>,
    threshold: f64,
}

/// A rule with every name as an index into `Core::names`.
struct Rule {
    languages: Vec<String>,
    countries_all: Vec<u32>,
    countries_any: Vec<u32>,
    topics_all: Vec<u32>,
    topics_any: Vec<u32>,
    key_all: u32,
    key_any: u32,
    key_none: u32,
    keywords_all: bool,
    keywords_any: bool,
    keyword_texts: Vec<u32>,
    pairs: Vec<(u32, u32)>,
    proximity: Proximity,
    topic_set: Vec<u32>,
    w_pair: f64,
    w_topic: f64,
    w_keyword: f64,
    w_country: f64,
    country_codes: Vec<u32>,
    threshold: f64,
}

/// The names of meanings and rules, each once, as interned Python strings and in Rust.
struct Names<'py> {
    py: Python<'py>,
    index: HashMap<String, u32>,
    python: Vec<Py<PyString>>,
    texts: Vec<String>,
}

impl<'py> Names<'py> {
    fn id(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.index.get(s) {
            return id;
        }
        self.python.push(PyString::intern(self.py, s).unbind());
        self.texts.push(s.to_owned());
        let id = (self.texts.len() - 1) as u32;
        self.index.insert(s.to_owned(), id);
        id
    }

    fn ids<'a>(&mut self, list: impl IntoIterator<Item = &'a String>) -> Vec<u32> {
        list.into_iter().map(|s| self.id(s)).collect()
    }

    fn rule(&mut self, spec: &RuleSpec) -> Rule {
        Rule {
            languages: spec.languages.clone(),
            countries_all: self.ids(&spec.countries_all),
            countries_any: self.ids(&spec.countries_any),
            topics_all: self.ids(&spec.topics_all),
            topics_any: self.ids(&spec.topics_any),
            key_all: self.id(&spec.key_all),
            key_any: self.id(&spec.key_any),
            key_none: self.id(&spec.key_none),
            keywords_all: spec.keywords_all,
            keywords_any: spec.keywords_any,
            keyword_texts: self.ids(&spec.keyword_texts),
            pairs: spec
                .pairs
                .iter()
                .map(|(a, b)| (self.id(a), self.id(b)))
                .collect(),
            proximity: Proximity::from(&spec.proximity),
            topic_set: self.ids(&spec.topic_set),
            w_pair: spec.w_pair,
            w_topic: spec.w_topic,
            w_keyword: spec.w_keyword,
            w_country: spec.w_country,
            country_codes: self.ids(&spec.country_codes),
            threshold: spec.threshold,
        }
    }
}

/// What one article holds, as the rules read it (`processors.rules.Evidence`).
struct Evidence<'a> {
    language: &'a str,
    found: &'a Found,
    /// Countries with their mentions; sentences and words only when `located`.
    countries: &'a [Country],
    located: bool,
}

impl Evidence<'_> {
    fn country(&self, code: u32) -> Option<&Country> {
        self.countries.iter().find(|c| c.code == code)
    }

    /// How many sentences (or word windows) hold both `a` and `b`
    /// (`processors.rules.cooccurrences`).
    fn cooccurrences(&self, a: u32, b: u32, proximity: Proximity) -> usize {
        let (Some(x), Some(y)) = (self.country(a), self.country(b)) else {
            return 0;
        };
        if !self.located {
            return 0;
        }
        match proximity {
            Proximity::Sentence => x
                .sentences
                .iter()
                .filter(|s| y.sentences.binary_search(s).is_ok())
                .count(),
            Proximity::Words(distance) => x
                .words
                .iter()
                .filter(|&&(_, field, word)| {
                    y.words
                        .iter()
                        .any(|&(_, f, w)| f == field && w.abs_diff(word) <= distance)
                })
                .count(),
        }
    }

    fn has_topic(&self, topic: u32) -> bool {
        self.found.topics.contains(&topic)
    }

    fn keywords(&self, key: u32) -> impl Iterator<Item = u32> + '_ {
        self.found
            .keywords
            .iter()
            .filter(move |&&(k, _)| k == key)
            .map(|&(_, text)| text)
    }

    /// `processors.rules._check` without reasons: the score when the rule fires, None at the
    /// first condition that does not hold or when the score is below the threshold.
    fn decide(&self, rule: &Rule) -> Option<f64> {
        if !rule.languages.is_empty() && !rule.languages.iter().any(|l| l == self.language) {
            return None;
        }
        if !rule
            .countries_all
            .iter()
            .all(|&c| self.country(c).is_some())
        {
            return None;
        }
        if !rule.countries_any.is_empty()
            && !rule
                .countries_any
                .iter()
                .any(|&c| self.country(c).is_some())
        {
            return None;
        }
        if !rule.topics_all.iter().all(|&t| self.has_topic(t)) {
            return None;
        }
        if !rule.topics_any.is_empty() && !rule.topics_any.iter().any(|&t| self.has_topic(t)) {
            return None;
        }
        if rule.keywords_all
            && !rule
                .keyword_texts
                .iter()
                .all(|&text| self.keywords(rule.key_all).any(|t| t == text))
        {
            return None;
        }
        if self.keywords(rule.key_none).next().is_some() {
            return None;
        }
        let any_keywords = self.keywords(rule.key_any).count();
        if rule.keywords_any && any_keywords == 0 {
            return None;
        }
        let mut score = 0.0;
        for &(a, b) in &rule.pairs {
            let n = self.cooccurrences(a, b, rule.proximity);
            if n == 0 {
                return None;
            }
            score += rule.w_pair * n.min(5) as f64;
        }
        let relevant = rule
            .topic_set
            .iter()
            .filter(|&&t| self.has_topic(t))
            .count();
        if relevant > 0 {
            score += rule.w_topic * relevant as f64;
        }
        score += rule.w_keyword * any_keywords as f64;
        if rule.w_country != 0.0 {
            let mentions: usize = rule
                .country_codes
                .iter()
                .filter_map(|&c| self.country(c))
                .map(|c| c.mentions)
                .sum();
            score += rule.w_country * mentions.min(5) as f64;
        }
        let score = rounded(score);
        (score >= rule.threshold).then_some(score)
    }
}

#[pyclass(frozen)]
struct Core {
    automaton: AhoCorasick,
    careful: Vec<bool>,
    exact: Vec<bool>,
    pattern_meanings: Vec<Vec<u32>>,
    meanings: Vec<Meaning>,
    rules: Vec<Rule>,
    /// How near two countries must be to count as a pair (`Engine.pair_proximity`).
    pair_proximity: Proximity,
    /// Whether mentions are placed in words (a rule, or pairs, count words).
    words: bool,
    names: Vec<Py<PyString>>,
    /// The same names in Rust, for ordering.
    name_texts: Vec<String>,
    /// Code point -> Windows-1256 byte; 0 for a character outside it (NUL, which is not
    /// read either).
    code_page: Vec<u8>,
    /// Windows-1256 byte -> the byte (bits 0-7), the folded byte (8-15) and flags; 0 for a
    /// byte the core does not read (it folds to more than one byte).
    bytes: [u32; 256],
    space: [bool; 256],
}

fn flags(bytes: &[u8]) -> [bool; 256] {
    let mut out = [false; 256];
    for &b in bytes {
        out[b as usize] = true;
    }
    out
}

#[pymethods]
impl Core {
    /// `patterns`: padded keys in the one-byte alphabet; `careful[i]`, `pattern_meanings[i]`
    /// (indices into `meanings`) per pattern; `meanings`: `(kind, what, text, exact)` with
    /// kind 0 country, 1 topic, 2 bloc, 3 keyword, `exact` the Windows-1256 text of a
    /// case-exact meaning or None; `alphabet`: `processors.normalize.ByteAlphabet`; `rules`:
    /// each rule's `processors.rules._Decision`; `pair_proximity`: the engine's
    /// `processors.rules.Proximity` for pairs.
    #[new]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        patterns: Vec<Vec<u8>>,
        careful: Vec<bool>,
        pattern_meanings: Vec<Vec<u32>>,
        meanings: Vec<(u8, String, String, Option<Vec<u8>>)>,
        alphabet: Alphabet,
        rules: Vec<RuleSpec>,
        pair_proximity: ProximitySpec,
    ) -> PyResult<Self> {
        if careful.len() != patterns.len() || pattern_meanings.len() != patterns.len() {
            return Err(PyValueError::new_err(
                "one careful flag and meaning list per pattern",
            ));
        }
        if alphabet.table.len() != 256 {
            return Err(PyValueError::new_err("the byte table has 256 entries"));
        }
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&patterns)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        let mut names = Names {
            py,
            index: HashMap::new(),
            python: Vec::new(),
            texts: Vec::new(),
        };
        let meanings: Vec<Meaning> = meanings
            .into_iter()
            .map(|(kind, what, text, exact)| Meaning {
                kind,
                what: names.id(&what),
                text: names.id(&text),
                exact,
            })
            .collect();
        for list in &pattern_meanings {
            if list.iter().any(|&m| m as usize >= meanings.len()) {
                return Err(PyValueError::new_err("meaning index out of range"));
            }
        }
        let exact = pattern_meanings
            .iter()
            .map(|list| list.iter().any(|&m| meanings[m as usize].exact.is_some()))
            .collect();
        let (code_page, bytes) = Core::tables(&alphabet);
        let rules: Vec<Rule> = rules.iter().map(|spec| names.rule(spec)).collect();
        let pair_proximity = Proximity::from(&pair_proximity);
        let words = matches!(pair_proximity, Proximity::Words(_))
            || rules
                .iter()
                .any(|r| matches!(r.proximity, Proximity::Words(_)));
        Ok(Core {
            code_page,
            bytes,
            automaton,
            careful,
            exact,
            pattern_meanings,
            meanings,
            rules,
            pair_proximity,
            words,
            names: names.python,
            name_texts: names.texts,
            space: flags(&alphabet.spaces),
        })
    }

    /// The article's fields (str), read as the engine joins the non-empty ones (a newline
    /// first and last, `separator` between), and its language -> `(countries, blocs, topics,
    /// pairs, pair_counts, counts, fired)`: names in order, pairs ("AA-BB") with how often
    /// they co-occur (most first), mentions per country, and `(rule index, score)` of each
    /// rule that fires. None when a character is outside Windows-1256 or cannot be folded
    /// here.
    fn analyse<'py>(
        &self,
        py: Python<'py>,
        fields: Vec<Bound<'py, PyString>>,
        separator: &str,
        language: &str,
    ) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let (points, starts) = Core::joined(&fields, separator)?;
        let Some(text) = self.read(&points, starts) else {
            return Ok(None);
        };
        let kept = self.kept(&text);
        let found = self.found(&kept);
        let located = found.codes.len() > 1;
        let countries = if found.codes.is_empty() {
            Vec::new()
        } else {
            self.countries(&kept, &text, located)
        };
        let evidence = Evidence {
            language,
            found: &found,
            countries: &countries,
            located,
        };
        let fired: Vec<(usize, f64)> = self
            .rules
            .iter()
            .enumerate()
            .filter_map(|(i, rule)| evidence.decide(rule).map(|score| (i, score)))
            .collect();
        let pairs = if located {
            self.pairs(&evidence)
        } else {
            Vec::new()
        };

        let name = |id: u32| self.names[id as usize].bind(py);
        let sorted = |ids: &[u32]| {
            let mut ids = ids.to_vec();
            ids.sort_by(|&x, &y| self.name_texts[x as usize].cmp(&self.name_texts[y as usize]));
            PyTuple::new(py, ids.into_iter().map(name))
        };
        let counts = PyDict::new(py);
        for country in &countries {
            counts.set_item(name(country.code), country.mentions)?;
        }
        let pair_counts = PyDict::new(py);
        let mut pair_names: Vec<(&String, Bound<'py, PyString>)> = Vec::with_capacity(pairs.len());
        for (n, pair) in &pairs {
            let key = PyString::new(py, pair);
            pair_counts.set_item(&key, n)?;
            pair_names.push((pair, key));
        }
        pair_names.sort_by(|x, y| x.0.cmp(y.0));
        Ok(Some(PyTuple::new(
            py,
            [
                sorted(&found.codes)?.into_any(),
                sorted(&found.blocs)?.into_any(),
                sorted(&found.topics)?.into_any(),
                PyTuple::new(py, pair_names.into_iter().map(|(_, key)| key))?.into_any(),
                pair_counts.into_any(),
                counts.into_any(),
                PyList::new(py, fired)?.into_any(),
            ],
        )?))
    }

    /// Raw hits of already-normalised one-byte text, as `(trailing-space offset, pattern)`:
    /// the bare scan, for the benchmark.
    fn scan(&self, text: &[u8]) -> Vec<(usize, u32)> {
        self.automaton
            .find_overlapping_iter(text)
            .map(|m| (m.end() - 1, m.pattern().as_u32()))
            .collect()
    }
}

impl Core {
    /// [`Core::code_page`] and [`Core::bytes`].
    fn tables(alphabet: &Alphabet) -> (Vec<u8>, [u32; 256]) {
        let (delete, marks) = (flags(&alphabet.delete), flags(&alphabet.marks));
        let size = alphabet.encode.iter().map(|&(c, _)| c as usize + 1).max();
        let mut code_page = vec![0u8; size.unwrap_or(0).max(0x80)];
        let ascii = (0u32..0x80).map(|c| (c, c as u8));
        for (c, b) in ascii.chain(alphabet.encode.iter().copied()) {
            code_page[c as usize] = b;
        }
        let mut bytes = [0u32; 256];
        for (b, entry) in bytes.iter_mut().enumerate().skip(1) {
            let folded = alphabet.table[b];
            *entry = if delete[b] {
                READABLE | DELETED | b as u32
            } else if folded == alphabet.unsupported {
                0
            } else {
                let end = if b == usize::from(b'\n') || marks[b] {
                    END
                } else {
                    0
                };
                READABLE | end | u32::from(folded) << 8 | b as u32
            };
        }
        (code_page, bytes)
    }

    /// The non-empty fields joined as code points, with a newline first and last and
    /// `separator` between, and where each field starts.
    fn joined(fields: &[Bound<'_, PyString>], separator: &str) -> PyResult<(Vec<u32>, Vec<u32>)> {
        let lens = fields
            .iter()
            .map(|field| field.len())
            .collect::<PyResult<Vec<usize>>>()?;
        let size = 2 + lens.iter().map(|len| len + separator.len()).sum::<usize>();
        let mut points = Vec::with_capacity(size);
        let mut starts = Vec::with_capacity(fields.len());
        points.push(u32::from(b'\n'));
        for (field, &len) in fields.iter().zip(&lens) {
            if len == 0 {
                continue;
            }
            if !starts.is_empty() {
                points.extend(separator.chars().map(u32::from));
            }
            starts.push(points.len() as u32);
            let at = points.len();
            points.resize(at + len, 0);
            // CPython holds a str's characters fixed-width and copies them out as they are:
            // nothing to decode here, and no UTF-8 form of the article made.
            // SAFETY: `field` is a str of `len` characters and `points[at..]` has room for
            // exactly that many; with `copy_null` 0 nothing more is written.
            let copied = unsafe {
                ffi::PyUnicode_AsUCS4(
                    field.as_ptr(),
                    points[at..].as_mut_ptr(),
                    len as ffi::Py_ssize_t,
                    0,
                )
            };
            if copied.is_null() {
                return Err(PyErr::fetch(field.py()));
            }
        }
        points.push(u32::from(b'\n'));
        Ok((points, starts))
    }

    /// The joined text in Windows-1256 and folded (None: a character the core cannot read).
    fn read(&self, points: &[u32], starts: Vec<u32>) -> Option<Text> {
        // One byte a character: written by index, with no check for room.
        let (mut raw, mut text) = (vec![0u8; points.len()], vec![0u8; points.len()]);
        let mut t = 0usize;
        let (mut shifts, mut ends) = (Vec::new(), Vec::new());
        for (r, &c) in points.iter().enumerate() {
            let entry = self.bytes[usize::from(*self.code_page.get(c as usize)?)];
            if entry & READABLE == 0 {
                return None;
            }
            if entry & END != 0 {
                ends.push(r as u32);
            }
            raw[r] = entry as u8;
            if entry & DELETED != 0 {
                shifts.push(t as u32);
            } else {
                text[t] = (entry >> 8) as u8;
                t += 1;
            }
        }
        text.truncate(t);
        Some(Text {
            raw,
            text,
            shifts,
            ends,
            starts,
        })
    }

    /// Every hit, overlaps resolved where a careful form occurs, case checked.
    fn kept(&self, text: &Text) -> Vec<Kept> {
        let mut hits: Vec<Hit> = self
            .automaton
            .find_overlapping_iter(&text.text)
            .map(|m| Hit {
                start: m.start() as u32,
                end: (m.end() - 1) as u32,
                pattern: m.pattern().as_u32(),
            })
            .collect();
        if hits.iter().any(|h| self.careful[h.pattern as usize]) {
            self.resolve(&mut hits, text)
        } else {
            hits.sort_by_key(|h| (h.end, h.start));
            self.check_case(&hits, text)
        }
    }

    fn found(&self, kept: &[Kept]) -> Found {
        fn add<T: PartialEq>(list: &mut Vec<T>, item: T) {
            if !list.contains(&item) {
                list.push(item);
            }
        }
        let mut found = Found::default();
        for k in kept {
            for &m in self.meanings_of(k) {
                let meaning = &self.meanings[m as usize];
                match meaning.kind {
                    COUNTRY => add(&mut found.codes, meaning.what),
                    TOPIC => add(&mut found.topics, meaning.what),
                    BLOC => add(&mut found.blocs, meaning.what),
                    KEYWORD => add(&mut found.keywords, (meaning.what, meaning.text)),
                    _ => {}
                }
            }
        }
        found
    }

    /// Country mentions counted and, with `locate`, placed in sentences (and words): a hit
    /// inside or overlapping the previous one is the same mention (`Engine._locate`).
    fn countries(&self, kept: &[Kept], text: &Text, locate: bool) -> Vec<Country> {
        let mut spans: Vec<&Kept> = Vec::new();
        for k in kept {
            if !self
                .meanings_of(k)
                .iter()
                .any(|&m| self.meanings[m as usize].kind == COUNTRY)
            {
                continue;
            }
            while spans.last().is_some_and(|s| s.hit.start >= k.hit.start) {
                spans.pop();
            }
            if spans.last().is_some_and(|s| s.hit.end > k.hit.start) {
                continue;
            }
            spans.push(k);
        }
        let sentence_ends = if locate {
            self.sentence_ends(text)
        } else {
            Vec::new()
        };
        let words = locate && self.words;
        let word_before = if words {
            word_numbers(&text.text)
        } else {
            Vec::new()
        };
        let mut countries: Vec<Country> = Vec::new();
        for k in spans {
            let offset = text.origin(k.hit.start + 1);
            for &m in self.meanings_of(k) {
                let meaning = &self.meanings[m as usize];
                if meaning.kind != COUNTRY {
                    continue;
                }
                let i = match countries.iter().position(|c| c.code == meaning.what) {
                    Some(i) => i,
                    None => {
                        countries.push(Country {
                            code: meaning.what,
                            mentions: 0,
                            sentences: Vec::new(),
                            words: Vec::new(),
                        });
                        countries.len() - 1
                    }
                };
                let country = &mut countries[i];
                country.mentions += 1;
                if locate {
                    let sentence = sentence_ends.partition_point(|&e| e <= offset);
                    country.sentences.push(sentence as u32);
                    if words {
                        let word = word_before[k.hit.start as usize];
                        country.words.push((offset, text.field_of(offset), word));
                    }
                }
            }
        }
        for country in &mut countries {
            country.sentences.sort_unstable();
            country.sentences.dedup();
        }
        countries
    }

    /// Pairs of countries ("AA-BB", codes in order) with how often they co-occur within the
    /// engine's pair proximity, most first (`Engine._pair_counts`).
    fn pairs(&self, evidence: &Evidence) -> Vec<(usize, String)> {
        let mut codes: Vec<u32> = evidence.countries.iter().map(|c| c.code).collect();
        codes.sort_by(|&x, &y| self.name_texts[x as usize].cmp(&self.name_texts[y as usize]));
        let mut counts: Vec<(usize, String)> = Vec::new();
        for (i, &a) in codes.iter().enumerate() {
            for &b in &codes[i + 1..] {
                let n = evidence.cooccurrences(a, b, self.pair_proximity);
                if n > 0 {
                    let (a, b) = (&self.name_texts[a as usize], &self.name_texts[b as usize]);
                    counts.push((n, format!("{a}-{b}")));
                }
            }
        }
        counts.sort_by(|x, y| y.0.cmp(&x.0).then_with(|| x.1.cmp(&y.1)));
        counts
    }

    fn meanings_of<'a>(&'a self, k: &'a Kept) -> &'a [u32] {
        match &k.filtered {
            Some(list) => list,
            None => &self.pattern_meanings[k.hit.pattern as usize],
        }
    }

    /// The hit's meanings that match as written (`Matcher.resolve`'s case check).
    fn case_checked(&self, hit: &Hit, text: &Text) -> Vec<u32> {
        let at = text.origin(hit.start + 1) as usize;
        self.pattern_meanings[hit.pattern as usize]
            .iter()
            .copied()
            .filter(|&m| match &self.meanings[m as usize].exact {
                None => true,
                Some(exact) => !exact.is_empty() && text.raw[at..].starts_with(exact),
            })
            .collect()
    }

    /// `Matcher.resolve`: leftmost longest, non-overlapping, case checked.
    fn resolve(&self, hits: &mut [Hit], text: &Text) -> Vec<Kept> {
        hits.sort_by_key(|h| (h.start, std::cmp::Reverse(h.end)));
        let mut kept = Vec::new();
        let mut last_end: i64 = -1;
        for hit in hits.iter() {
            if (hit.start as i64) < last_end {
                continue;
            }
            let filtered = if self.exact[hit.pattern as usize] {
                let list = self.case_checked(hit, text);
                if list.is_empty() {
                    continue;
                }
                Some(list)
            } else {
                None
            };
            kept.push(Kept {
                hit: *hit,
                filtered,
            });
            last_end = hit.end as i64;
        }
        kept
    }

    /// `Matcher.check_case`: every hit, without the meanings that are not written as they
    /// must be.
    fn check_case(&self, hits: &[Hit], text: &Text) -> Vec<Kept> {
        let mut kept = Vec::with_capacity(hits.len());
        for hit in hits {
            if self.exact[hit.pattern as usize] {
                let list = self.case_checked(hit, text);
                if !list.is_empty() {
                    kept.push(Kept {
                        hit: *hit,
                        filtered: Some(list),
                    });
                }
            } else {
                kept.push(Kept {
                    hit: *hit,
                    filtered: None,
                });
            }
        }
        kept
    }

    /// Offsets just past each sentence end: a newline, or a mark followed by a space or the
    /// end (`processors.classify._SENTENCE_END`).
    fn sentence_ends(&self, text: &Text) -> Vec<u32> {
        let raw = &text.raw;
        text.ends
            .iter()
            .filter(|&&i| {
                raw[i as usize] == b'\n'
                    || raw
                        .get(i as usize + 1)
                        .is_none_or(|&c| self.space[c as usize])
            })
            .map(|&i| i + 1)
            .collect()
    }
}

/// `score` rounded to 3 decimals as Python's `round(score, 3)` has it: the nearest decimal,
/// ties to even, read back as the nearest float (Rust's formatting and parsing of floats are
/// exact).
fn rounded(score: f64) -> f64 {
    format!("{score:.3}").parse().unwrap_or(score)
}

/// For each offset of the normalised text, how many words start at or before it.
fn word_numbers(text: &[u8]) -> Vec<u32> {
    let mut out = Vec::with_capacity(text.len());
    let mut n = 0u32;
    let mut previous = b' ';
    for &b in text {
        if b != b' ' && previous == b' ' {
            n += 1;
        }
        out.push(n);
        previous = b;
    }
    out
}

#[pymodule]
fn newsradar_native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Core>()?;
    Ok(())
}
