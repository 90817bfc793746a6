//! newsradar's detection core: one article normalised, scanned and aggregated in one call.
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
//!   (and words, when a rule counts words); `Engine._pair_counts` at sentence proximity.
//!
//! A character outside Windows-1256, or one the table cannot fold, yields `None`, and the
//! engine takes its Python steps.

use aho_corasick::{AhoCorasick, MatchKind};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::{PyDict, PyList, PySet, PyString, PyTuple};

const COUNTRY: u8 = 0;
const TOPIC: u8 = 1;
const BLOC: u8 = 2;
const KEYWORD: u8 = 3;

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

/// One country's mentions: how many, in which sentences, at which (offset, word).
struct Country {
    code: u32,
    mentions: usize,
    sentences: Vec<u32>,
    words: Vec<(u32, u32)>,
}

#[pyclass(frozen)]
struct Core {
    automaton: AhoCorasick,
    careful: Vec<bool>,
    exact: Vec<bool>,
    pattern_meanings: Vec<Vec<u32>>,
    meanings: Vec<Meaning>,
    names: Vec<Py<PyString>>,
    /// The same names in Rust, for ordering pairs.
    name_texts: Vec<String>,
    /// Code point -> Windows-1256 byte (0: none; NUL itself is unfoldable anyway).
    encode: Vec<u8>,
    table: [u8; 256],
    delete: [bool; 256],
    mark: [bool; 256],
    space: [bool; 256],
    unsupported: u8,
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
    /// case-exact meaning or None; the byte table, deleted bytes, sentence marks, spaces and
    /// the byte the table maps unfoldable bytes to.
    #[new]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        patterns: Vec<Vec<u8>>,
        careful: Vec<bool>,
        pattern_meanings: Vec<Vec<u32>>,
        meanings: Vec<(u8, String, String, Option<Vec<u8>>)>,
        encode: Vec<(u32, u8)>,
        table: Vec<u8>,
        delete: Vec<u8>,
        marks: Vec<u8>,
        spaces: Vec<u8>,
        unsupported: u8,
    ) -> PyResult<Self> {
        if careful.len() != patterns.len() || pattern_meanings.len() != patterns.len() {
            return Err(PyValueError::new_err(
                "one careful flag and meaning list per pattern",
            ));
        }
        let table: [u8; 256] = table
            .try_into()
            .map_err(|_| PyValueError::new_err("the byte table has 256 entries"))?;
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&patterns)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        let mut names: Vec<Py<PyString>> = Vec::new();
        let mut name_texts: Vec<String> = Vec::new();
        let mut index: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
        let mut name = |s: String| -> u32 {
            *index.entry(s.clone()).or_insert_with(|| {
                names.push(PyString::intern(py, &s).unbind());
                name_texts.push(s.clone());
                (names.len() - 1) as u32
            })
        };
        let meanings: Vec<Meaning> = meanings
            .into_iter()
            .map(|(kind, what, text, exact)| Meaning {
                kind,
                what: name(what),
                text: name(text),
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
        let size = encode
            .iter()
            .map(|&(c, _)| c as usize + 1)
            .max()
            .unwrap_or(0);
        let mut encode_table = vec![0u8; size];
        for (c, b) in encode {
            encode_table[c as usize] = b;
        }
        Ok(Core {
            encode: encode_table,
            automaton,
            careful,
            exact,
            pattern_meanings,
            meanings,
            names,
            name_texts,
            table,
            delete: flags(&delete),
            mark: flags(&marks),
            space: flags(&spaces),
            unsupported,
        })
    }

    /// The article's non-empty fields -> `(codes, counts, places, topics, blocs, keywords,
    /// mentions, pair_counts)`, or None when a character is outside Windows-1256 or cannot be
    /// folded here. The fields are read as the engine joins them: a newline first and last,
    /// `separator` between. `places` is None unless two countries or more occur; `mentions`
    /// (code, original offset, word) None unless `words`; `pair_counts` (sentences holding
    /// both, by count then pair) None unless `pairs` and two countries or more.
    fn analyse<'py>(
        &self,
        py: Python<'py>,
        fields: Vec<PyBackedStr>,
        separator: &str,
        words: bool,
        pairs: bool,
    ) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let Some(raw) = self.encoded(&fields, separator) else {
            return Ok(None);
        };
        let Some((text, origin)) = self.normalised(&raw) else {
            return Ok(None);
        };
        let kept = self.kept(&text, &raw, &origin);
        let found = self.found(&kept);
        let locate = found.codes.len() > 1;
        let mut countries = if found.codes.is_empty() {
            Vec::new()
        } else {
            self.countries(&kept, &raw, &text, &origin, locate, words)
        };

        let none = || py.None().into_bound(py);
        let name = |id: u32| self.names[id as usize].bind(py);
        let counts = PyDict::new(py);
        let places = PyDict::new(py);
        let mentions = PyList::empty(py);
        for country in &countries {
            counts.set_item(name(country.code), country.mentions)?;
            if locate {
                places.set_item(name(country.code), PySet::new(py, &country.sentences)?)?;
            }
        }
        if locate && words {
            for country in &countries {
                for &(offset, word) in &country.words {
                    mentions.append((name(country.code), offset, word))?;
                }
            }
        }
        let keywords = PyDict::new(py);
        for &(key, text) in &found.keywords {
            match keywords.get_item(name(key))? {
                Some(set) => set.cast::<PySet>()?.add(name(text))?,
                None => keywords.set_item(name(key), PySet::new(py, [name(text)])?)?,
            }
        }
        let set = |ids: &[u32]| PySet::new(py, ids.iter().map(|&id| name(id)));
        Ok(Some(PyTuple::new(
            py,
            [
                PyList::new(py, found.codes.iter().map(|&id| name(id)))?.into_any(),
                counts.into_any(),
                if locate { places.into_any() } else { none() },
                set(&found.topics)?.into_any(),
                set(&found.blocs)?.into_any(),
                keywords.into_any(),
                if locate && words {
                    mentions.into_any()
                } else {
                    none()
                },
                if locate && pairs {
                    self.pair_counts(py, &mut countries)?.into_any()
                } else {
                    none()
                },
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
    /// The fields joined and in Windows-1256, one byte per character (None: a character is
    /// outside it).
    fn encoded(&self, fields: &[PyBackedStr], separator: &str) -> Option<Vec<u8>> {
        let size: usize = fields
            .iter()
            .map(|f| f.len() + separator.len())
            .sum::<usize>()
            + 2;
        let mut raw = Vec::with_capacity(size);
        raw.push(b'\n');
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                raw.extend_from_slice(separator.as_bytes());
            }
            for c in field.chars() {
                let c = c as usize;
                let b = if c < 0x80 {
                    c as u8
                } else {
                    *self.encode.get(c)?
                };
                if b == 0 && c != 0 {
                    return None;
                }
                raw.push(b);
            }
        }
        raw.push(b'\n');
        Some(raw)
    }

    /// Folded bytes with the deleted ones dropped, and where each came from (None: a byte
    /// the table cannot fold).
    fn normalised(&self, raw: &[u8]) -> Option<(Vec<u8>, Vec<u32>)> {
        let mut text = Vec::with_capacity(raw.len());
        let mut origin = Vec::with_capacity(raw.len());
        for (i, &b) in raw.iter().enumerate() {
            if self.delete[b as usize] {
                continue;
            }
            let folded = self.table[b as usize];
            if folded == self.unsupported {
                return None;
            }
            text.push(folded);
            origin.push(i as u32);
        }
        Some((text, origin))
    }

    /// Every hit, overlaps resolved where a careful form occurs, case checked.
    fn kept(&self, text: &[u8], raw: &[u8], origin: &[u32]) -> Vec<Kept> {
        let mut hits: Vec<Hit> = self
            .automaton
            .find_overlapping_iter(text)
            .map(|m| Hit {
                start: m.start() as u32,
                end: (m.end() - 1) as u32,
                pattern: m.pattern().as_u32(),
            })
            .collect();
        if hits.iter().any(|h| self.careful[h.pattern as usize]) {
            self.resolve(&mut hits, raw, origin)
        } else {
            hits.sort_by_key(|h| (h.end, h.start));
            self.check_case(&hits, raw, origin)
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
    fn countries(
        &self,
        kept: &[Kept],
        raw: &[u8],
        text: &[u8],
        origin: &[u32],
        locate: bool,
        words: bool,
    ) -> Vec<Country> {
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
        let sentence_before = if locate {
            self.sentences(raw)
        } else {
            Vec::new()
        };
        let word_before = if locate && words {
            word_numbers(text)
        } else {
            Vec::new()
        };
        let mut countries: Vec<Country> = Vec::new();
        for k in spans {
            let offset = origin[k.hit.start as usize + 1];
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
                    country.sentences.push(sentence_before[offset as usize]);
                    if words {
                        country
                            .words
                            .push((offset, word_before[k.hit.start as usize]));
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

    /// Pairs of countries (codes in order, "AA-BB") with the number of sentences holding both,
    /// most first (`Engine._pair_counts` at sentence proximity).
    fn pair_counts<'py>(
        &self,
        py: Python<'py>,
        countries: &mut [Country],
    ) -> PyResult<Bound<'py, PyDict>> {
        countries.sort_by(|x, y| {
            self.name_texts[x.code as usize].cmp(&self.name_texts[y.code as usize])
        });
        let mut counts: Vec<(usize, String)> = Vec::new();
        for (i, a) in countries.iter().enumerate() {
            for b in &countries[i + 1..] {
                let n = a
                    .sentences
                    .iter()
                    .filter(|s| b.sentences.binary_search(s).is_ok())
                    .count();
                if n > 0 {
                    let (a, b) = (
                        &self.name_texts[a.code as usize],
                        &self.name_texts[b.code as usize],
                    );
                    counts.push((n, format!("{a}-{b}")));
                }
            }
        }
        counts.sort_by(|x, y| y.0.cmp(&x.0).then_with(|| x.1.cmp(&y.1)));
        let out = PyDict::new(py);
        for (n, pair) in counts {
            out.set_item(pair, n)?;
        }
        Ok(out)
    }

    fn meanings_of<'a>(&'a self, k: &'a Kept) -> &'a [u32] {
        match &k.filtered {
            Some(list) => list,
            None => &self.pattern_meanings[k.hit.pattern as usize],
        }
    }

    /// The hit's meanings that match as written (`Matcher.resolve`'s case check).
    fn case_checked(&self, hit: &Hit, raw: &[u8], origin: &[u32]) -> Vec<u32> {
        let at = origin[hit.start as usize + 1] as usize;
        self.pattern_meanings[hit.pattern as usize]
            .iter()
            .copied()
            .filter(|&m| match &self.meanings[m as usize].exact {
                None => true,
                Some(text) => !text.is_empty() && raw[at..].starts_with(text),
            })
            .collect()
    }

    /// `Matcher.resolve`: leftmost longest, non-overlapping, case checked.
    fn resolve(&self, hits: &mut [Hit], raw: &[u8], origin: &[u32]) -> Vec<Kept> {
        hits.sort_by_key(|h| (h.start, std::cmp::Reverse(h.end)));
        let mut kept = Vec::new();
        let mut last_end: i64 = -1;
        for hit in hits.iter() {
            if (hit.start as i64) < last_end {
                continue;
            }
            let filtered = if self.exact[hit.pattern as usize] {
                let list = self.case_checked(hit, raw, origin);
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
    fn check_case(&self, hits: &[Hit], raw: &[u8], origin: &[u32]) -> Vec<Kept> {
        let mut kept = Vec::with_capacity(hits.len());
        for hit in hits {
            if self.exact[hit.pattern as usize] {
                let list = self.case_checked(hit, raw, origin);
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

    /// For each original offset, how many sentence ends come before it: a newline, or a mark
    /// followed by a space or the end (`processors.classify._SENTENCE_END`).
    fn sentences(&self, raw: &[u8]) -> Vec<u32> {
        let mut out = Vec::with_capacity(raw.len() + 1);
        let mut n = 0u32;
        for (i, &b) in raw.iter().enumerate() {
            out.push(n);
            if b == b'\n'
                || (self.mark[b as usize] && raw.get(i + 1).is_none_or(|&c| self.space[c as usize]))
            {
                n += 1;
            }
        }
        out.push(n);
        out
    }
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
