//! newsradar's scanning core: an article's fields normalised and scanned for every surface form
//! of the vocabulary in one call, returning the hits.
//!
//! The Python engine (`processors/classify.py`, through `processors/core.py`) builds a
//! [`Core`] from its matcher's vocabulary and tables and calls [`Core::hits`] per article.
//! The core only reads and scans; every decision (which mention counts, salience, relations,
//! rules) is the engine's, in Python. What it does mirrors the Python steps it stands in for,
//! and `tests/unit/processors/test_core.py` holds the two to the same hits:
//!
//! - encoding and normalising: the joined fields in Windows-1256, one byte per character,
//!   through the one-byte table of `processors.normalize.scan_text` (marks deleted), keeping
//!   each byte's original offset;
//! - scanning: every padded surface form at once, overlapping (the aho-corasick crate);
//! - `Matcher.resolve` (leftmost longest, when a careful form occurs) or
//!   `Matcher.check_case` (meanings that match only as written);
//! - sentence ends (`processors.document.Document.sentence_ends`): a newline, or a sentence mark
//!   with the quotes and brackets closing on it before whitespace or the end.
//!
//! A character outside Windows-1256, or one the table cannot fold, yields `None`, and the
//! engine takes its Python steps.

use aho_corasick::{AhoCorasick, MatchKind};
use pyo3::exceptions::PyValueError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString, PyTuple};

/// Flags of a byte's entry (`Core::bytes`): the core reads it; folding deletes it; it may end a
/// sentence (a newline or sentence mark).
const READABLE: u32 = 1 << 16;
const DELETED: u32 = 1 << 17;
const END: u32 = 1 << 18;

/// An article's fields joined: in Windows-1256 (`raw`) and folded, deleted bytes dropped
/// (`text`).
struct Text {
    raw: Vec<u8>,
    text: Vec<u8>,
    /// For each deleted byte, the index in `text` of the next kept one.
    shifts: Vec<u32>,
    /// Where in `raw` a newline or sentence mark is.
    ends: Vec<u32>,
}

impl Text {
    /// Where the byte at `i` in `text` is in `raw`.
    fn origin(&self, i: u32) -> u32 {
        i + self.shifts.partition_point(|&s| s <= i) as u32
    }
}

/// A raw hit: leading-space offset, trailing-space offset, pattern.
#[derive(Clone, Copy)]
struct Hit {
    start: u32,
    end: u32,
    pattern: u32,
}

/// A hit kept after resolving: the positions of its surviving meanings among the pattern's
/// when case removed some, else `None` (all of them).
type Kept = (Hit, Option<Vec<u32>>);

/// `processors.normalize.ByteAlphabet`: how text is encoded and folded, one byte a character.
#[derive(FromPyObject)]
struct Alphabet {
    table: Vec<u8>,
    delete: Vec<u8>,
    unsupported: u8,
    encode: Vec<(u32, u8)>,
    spaces: Vec<u8>,
    marks: Vec<u8>,
    closers: Vec<u8>,
}

#[pyclass(frozen)]
struct Core {
    automaton: AhoCorasick,
    /// The Python object each pattern stands for (its `processors.match.Form`).
    forms: Vec<Py<PyAny>>,
    /// Whether a pattern may name a country: its hits are placed in the text.
    named: Vec<bool>,
    careful: Vec<bool>,
    /// Per pattern, per meaning: `Some` (its text in Windows-1256; empty when it has a
    /// character outside it, so that it never matches) when the meaning matches only as
    /// written.
    exact: Vec<Vec<Option<Vec<u8>>>>,
    /// Code point -> Windows-1256 byte; 0 for a character outside it (NUL, which is not
    /// read either).
    code_page: Vec<u8>,
    /// Windows-1256 byte -> the byte (bits 0-7), the folded byte (8-15) and flags; 0 for a
    /// byte the core does not read (it folds to more than one byte).
    bytes: [u32; 256],
    space: [bool; 256],
    closer: [bool; 256],
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
    /// `patterns`: padded keys in the one-byte alphabet; `forms[i]`, the object a hit of
    /// pattern `i` reports; `named[i]`, whether its hits are to be placed; `careful[i]` and
    /// `exact[i]` (one entry per meaning: None, or the Windows-1256 text it must be written as)
    /// per pattern; `alphabet`: `processors.normalize.ByteAlphabet`.
    #[new]
    fn new(
        patterns: Vec<Vec<u8>>,
        forms: Vec<Py<PyAny>>,
        named: Vec<bool>,
        careful: Vec<bool>,
        exact: Vec<Vec<Option<Vec<u8>>>>,
        alphabet: Alphabet,
    ) -> PyResult<Self> {
        if careful.len() != patterns.len()
            || exact.len() != patterns.len()
            || forms.len() != patterns.len()
            || named.len() != patterns.len()
        {
            return Err(PyValueError::new_err(
                "one form, one careful flag and one meaning list per pattern",
            ));
        }
        if alphabet.table.len() != 256 {
            return Err(PyValueError::new_err("the byte table has 256 entries"));
        }
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&patterns)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        let (code_page, bytes) = Core::tables(&alphabet);
        Ok(Core {
            automaton,
            forms,
            named,
            careful,
            exact,
            code_page,
            bytes,
            space: flags(&alphabet.spaces),
            closer: flags(&alphabet.closers),
        })
    }

    /// The article's fields (str), read as the engine joins the non-empty ones (a newline
    /// first and last, `separator` between) -> `(hits, filtered, sentence_ends, placed)`: the
    /// kept hits as `(start, end, form)`, the term's original `[start, end)` in the joined text
    /// and its pattern's form, ordered by start, the longest first; `(index, meanings)` for
    /// each hit whose case removed some of its form's meanings: the positions of those left;
    /// the offsets just past each sentence end; and `(index, field, sentence, paragraph)` for
    /// each hit of a named pattern (`processors.document.Document.place`). None when a
    /// character is outside Windows-1256 or cannot be folded here.
    #[allow(clippy::type_complexity)]
    fn hits<'py>(
        &self,
        py: Python<'py>,
        fields: Vec<Bound<'py, PyString>>,
        separator: &str,
    ) -> PyResult<
        Option<(
            Bound<'py, PyList>,
            Vec<(usize, Vec<u32>)>,
            Vec<u32>,
            Vec<(usize, u32, u32, u32)>,
        )>,
    > {
        let (points, starts) = Core::joined(&fields, separator)?;
        let Some(text) = self.read(&points) else {
            return Ok(None);
        };
        let mut kept = self.kept(&text);
        kept.sort_by_key(|(hit, _)| (hit.start, std::cmp::Reverse(hit.end)));
        let ends = self.sentence_ends(&text);
        let lines: Vec<u32> = text
            .ends
            .iter()
            .copied()
            .filter(|&i| text.raw[i as usize] == b'\n')
            .collect();
        let hits = PyList::empty(py);
        let mut filtered = Vec::new();
        let mut placed = Vec::new();
        for (i, (hit, meanings)) in kept.into_iter().enumerate() {
            let start = text.origin(hit.start + 1);
            let end = text.origin(hit.end - 1) + 1;
            let form = self.forms[hit.pattern as usize].bind(py);
            hits.append(PyTuple::new(
                py,
                [
                    start.into_pyobject(py)?.into_any(),
                    end.into_pyobject(py)?.into_any(),
                    form.clone(),
                ],
            )?)?;
            if let Some(meanings) = meanings {
                filtered.push((i, meanings));
            }
            if self.named[hit.pattern as usize] {
                let field = starts.partition_point(|&s| s <= start).saturating_sub(1);
                let sentence = ends.partition_point(|&e| e <= start);
                let paragraph = lines.partition_point(|&n| n < start);
                placed.push((i, field as u32, sentence as u32, paragraph as u32));
            }
        }
        Ok(Some((hits, filtered, ends, placed)))
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
        let mut first = true;
        points.push(u32::from(b'\n'));
        for (field, &len) in fields.iter().zip(&lens) {
            if len == 0 {
                continue;
            }
            if !first {
                points.extend(separator.chars().map(u32::from));
            }
            first = false;
            let at = points.len();
            starts.push(at as u32);
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
    fn read(&self, points: &[u32]) -> Option<Text> {
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
            self.check_case(&hits, text)
        }
    }

    /// Offsets just past each sentence end: a newline, or a mark with the closers after it,
    /// followed by a space or the end (`processors.document._SENTENCE_END`).
    fn sentence_ends(&self, text: &Text) -> Vec<u32> {
        let raw = &text.raw;
        let mut out = Vec::with_capacity(text.ends.len());
        for &i in &text.ends {
            let i = i as usize;
            if raw[i] == b'\n' {
                out.push(i as u32 + 1);
                continue;
            }
            let mut j = i + 1;
            while j < raw.len() && self.closer[raw[j] as usize] {
                j += 1;
            }
            if j == raw.len() || self.space[raw[j] as usize] {
                out.push(j as u32);
            }
        }
        out
    }

    fn is_exact(&self, pattern: u32) -> bool {
        self.exact[pattern as usize].iter().any(Option::is_some)
    }

    /// The positions of the hit's meanings that match as written (`Matcher.resolve`'s case
    /// check).
    fn case_checked(&self, hit: &Hit, text: &Text) -> Vec<u32> {
        let at = text.origin(hit.start + 1) as usize;
        (0u32..)
            .zip(&self.exact[hit.pattern as usize])
            .filter(|(_, exact)| match exact {
                None => true,
                Some(exact) => !exact.is_empty() && text.raw[at..].starts_with(exact),
            })
            .map(|(i, _)| i)
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
            let filtered = if self.is_exact(hit.pattern) {
                let list = self.case_checked(hit, text);
                if list.is_empty() {
                    continue;
                }
                Some(list)
            } else {
                None
            };
            kept.push((*hit, filtered));
            last_end = hit.end as i64;
        }
        kept
    }

    /// `Matcher.check_case`: every hit, without the meanings that are not written as they
    /// must be.
    fn check_case(&self, hits: &[Hit], text: &Text) -> Vec<Kept> {
        let mut kept = Vec::with_capacity(hits.len());
        for hit in hits {
            if self.is_exact(hit.pattern) {
                let list = self.case_checked(hit, text);
                if !list.is_empty() {
                    kept.push((*hit, Some(list)));
                }
            } else {
                kept.push((*hit, None));
            }
        }
        kept
    }
}

#[pymodule]
fn newsradar_native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Core>()?;
    Ok(())
}
