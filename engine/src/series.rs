//! Series keys: a name plus a sorted set of labels, e.g.
//! `temperature{asset="a0003",line="l04",site="p1"}`.

use std::fmt;

use crate::coding::{PutLe, Reader, Short};
use crate::error::{Error, Result};

/// Longest series name, label name or label value, in bytes.
pub const MAX_NAME_LEN: usize = 255;
/// Most labels on one series.
pub const MAX_LABELS: usize = 64;

/// Identifies a series: its name and labels, labels sorted by label name.
///
/// Build one with [`SeriesKey::new`], which validates and sorts; two keys with the same
/// labels given in another order are equal.
///
/// A key is one allocation: the name, then each label's name and value, every part
/// followed by a NUL byte (`name\0k1\0v1\0k2\0v2\0`). NUL is a control character, which no
/// part may hold, so the parts are found again unambiguously, and comparing the bytes orders
/// keys exactly as comparing (name, labels) would. A plant holds a million of these: one
/// allocation instead of one per part, and hashing and comparing run over one slice.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesKey {
    text: Box<str>,
}

/// The labels of a key, in order, as `(name, value)`.
#[derive(Debug, Clone)]
pub struct Labels<'a> {
    rest: &'a str,
    left: usize,
}

impl<'a> Iterator for Labels<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<(&'a str, &'a str)> {
        if self.left == 0 {
            return None;
        }
        let (k, rest) = self.rest.split_once('\0')?;
        let (v, rest) = rest.split_once('\0')?;
        self.rest = rest;
        self.left -= 1;
        Some((k, v))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for Labels<'_> {}

impl SeriesKey {
    /// Validates and builds a key. Names and labels must be 1 to 255 bytes without control
    /// characters; label names must be unique; at most 64 labels.
    pub fn new<N, I, K, V>(name: N, labels: I) -> Result<SeriesKey>
    where
        N: Into<String>,
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let name = name.into();
        let mut labels: Vec<(String, String)> = labels
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        labels.sort();
        validate(&name, &labels)?;
        Ok(SeriesKey::join(
            &name,
            labels.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        ))
    }

    /// A key without labels.
    pub fn from_name(name: impl Into<String>) -> Result<SeriesKey> {
        SeriesKey::new(name, std::iter::empty::<(String, String)>())
    }

    /// The key of parts already checked and sorted.
    fn join<'a>(name: &str, labels: impl Iterator<Item = (&'a str, &'a str)> + Clone) -> SeriesKey {
        let len = name.len()
            + 1
            + labels
                .clone()
                .map(|(k, v)| k.len() + v.len() + 2)
                .sum::<usize>();
        let mut text = String::with_capacity(len);
        text.push_str(name);
        text.push('\0');
        for (k, v) in labels {
            text.push_str(k);
            text.push('\0');
            text.push_str(v);
            text.push('\0');
        }
        SeriesKey {
            text: text.into_boxed_str(),
        }
    }

    /// The series name (the measurement, in line-protocol terms).
    pub fn name(&self) -> &str {
        let end = self.text.find('\0').unwrap_or(self.text.len());
        &self.text[..end]
    }

    /// The labels, sorted by label name.
    pub fn labels(&self) -> Labels<'_> {
        let name_len = self.name().len();
        let rest = self.text.get(name_len + 1..).unwrap_or("");
        Labels {
            rest,
            left: rest.bytes().filter(|&b| b == 0).count() / 2,
        }
    }

    /// The value of label `name`, if present.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels().find(|(k, _)| *k == name).map(|(_, v)| v)
    }

    /// Bytes of memory the key holds (its allocation and handle).
    pub fn mem_bytes(&self) -> usize {
        self.text.len() + std::mem::size_of::<SeriesKey>()
    }

    /// Appends the binary form used in WAL records and segment indexes:
    /// `u16 name_len, name, u16 label_count, (u16 len, label name, u16 len, value)*`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_str(out, self.name());
        out.put_u16(self.labels().len() as u16);
        for (k, v) in self.labels() {
            put_str(out, k);
            put_str(out, v);
        }
    }

    /// Reads the binary form written by [`SeriesKey::encode`] and validates it.
    /// `Err(None)` means the input ended early; `Err(Some(reason))` means wrong bytes.
    pub fn decode(r: &mut Reader<'_>) -> Result<SeriesKey, Option<String>> {
        let name = get_str(r)?;
        let n = r.u16().map_err(|Short| None)? as usize;
        let mut labels = Vec::with_capacity(n.min(MAX_LABELS));
        for _ in 0..n {
            let k = get_str(r)?;
            let v = get_str(r)?;
            labels.push((k, v));
        }
        if labels.windows(2).any(|w| w[0].0 >= w[1].0) {
            return Err(Some("series key labels not sorted".into()));
        }
        validate(name, &labels).map_err(|e| Some(e.to_string()))?;
        Ok(SeriesKey::join(name, labels.iter().copied()))
    }
}

impl SeriesKey {
    /// The key's canonical text: the name, then each label's name and value, every part
    /// followed by a NUL byte. Equal keys have equal texts, and texts order as keys do.
    pub fn as_text(&self) -> &str {
        &self.text
    }

    /// The key whose canonical text is `text`, as [`SeriesKey::as_text`] gives it or
    /// [`SeriesKey::decode_text`] writes it; `None` for any other text.
    pub fn from_text(text: &str) -> Option<SeriesKey> {
        let mut parts = text.strip_suffix('\0')?.split('\0');
        let name = parts.next()?;
        let rest: Vec<&str> = parts.collect();
        if !rest.len().is_multiple_of(2) {
            return None;
        }
        let labels: Vec<(&str, &str)> = rest.chunks(2).map(|p| (p[0], p[1])).collect();
        if labels.windows(2).any(|w| w[0].0 >= w[1].0) || validate(name, &labels).is_err() {
            return None;
        }
        Some(SeriesKey { text: text.into() })
    }

    /// Reads the binary form written by [`SeriesKey::encode`] into `text` (cleared first)
    /// as the key's canonical text, checked as [`SeriesKey::decode`] checks it, without
    /// making a key: opening a store looks up a million keys that are mostly known already.
    pub fn decode_text(r: &mut Reader<'_>, text: &mut String) -> Result<(), Option<String>> {
        let start = r.clone();
        text.clear();
        let name = get_str(r)?;
        let n = r.u16().map_err(|Short| None)? as usize;
        let mut ok = n <= MAX_LABELS && check_text("", name).is_ok();
        text.push_str(name);
        text.push('\0');
        let mut prev: Option<&str> = None;
        for _ in 0..n {
            let k = get_str(r)?;
            let v = get_str(r)?;
            ok &= prev.is_none_or(|p| p < k)
                && check_text("", k).is_ok()
                && check_text("", v).is_ok();
            prev = Some(k);
            text.push_str(k);
            text.push('\0');
            text.push_str(v);
            text.push('\0');
        }
        if !ok {
            // The slow path names what is wrong.
            let mut again = start;
            SeriesKey::decode(&mut again)?;
            return Err(Some("series key is invalid".into()));
        }
        Ok(())
    }
}

/// Checks the parts of a key whose labels are sorted.
fn validate<K: AsRef<str>, V: AsRef<str>>(name: &str, labels: &[(K, V)]) -> Result<()> {
    let bad = |reason: String| Error::InvalidSeries {
        series: display(name, labels.iter().map(|(k, v)| (k.as_ref(), v.as_ref()))),
        reason,
    };
    check_text("name", name).map_err(bad)?;
    if labels.len() > MAX_LABELS {
        return Err(bad(format!(
            "{} labels, at most {MAX_LABELS} allowed",
            labels.len()
        )));
    }
    for (i, (k, v)) in labels.iter().enumerate() {
        let (k, v) = (k.as_ref(), v.as_ref());
        check_text("label name", k).map_err(bad)?;
        check_text("label value", v)
            .map_err(|e| bad(e.replacen("label value", &format!("label {k:?} value"), 1)))?;
        if i > 0 && labels[i - 1].0.as_ref() == k {
            return Err(bad(format!("label {k:?} given twice")));
        }
    }
    Ok(())
}

fn check_text(what: &str, s: &str) -> std::result::Result<(), String> {
    if s.is_empty() {
        return Err(format!("{what} is empty"));
    }
    if s.len() > MAX_NAME_LEN {
        return Err(format!(
            "{what} is {} bytes, at most {MAX_NAME_LEN} allowed",
            s.len()
        ));
    }
    // Control characters are below 0x20, 0x7f, or U+0080..U+009F (0xC2 0x80..0x9F in
    // UTF-8): text with no byte below 0x20, no 0x7f and no 0xC2 has none, which is the common
    // case and needs no decoding.
    let suspect = s.bytes().any(|b| b < 0x20 || b == 0x7f || b == 0xc2);
    if let Some(c) = suspect
        .then(|| s.chars().find(|c| c.is_control()))
        .flatten()
    {
        return Err(format!("{what} contains control character {c:?}"));
    }
    Ok(())
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.put_u16(s.len() as u16);
    out.extend_from_slice(s.as_bytes());
}

fn get_str<'a>(r: &mut Reader<'a>) -> Result<&'a str, Option<String>> {
    let n = r.u16().map_err(|Short| None)? as usize;
    let b = r.bytes(n).map_err(|Short| None)?;
    std::str::from_utf8(b).map_err(|_| Some("series key is not UTF-8".to_string()))
}

/// `name{label="value",...}`, with `"` and `\` in values escaped.
fn display<'a>(name: &str, labels: impl ExactSizeIterator<Item = (&'a str, &'a str)>) -> String {
    let mut f = String::from(name);
    if labels.len() == 0 {
        return f;
    }
    f.push('{');
    for (i, (k, v)) in labels.enumerate() {
        if i > 0 {
            f.push(',');
        }
        f.push_str(k);
        f.push_str("=\"");
        for c in v.chars() {
            if c == '"' || c == '\\' {
                f.push('\\');
            }
            f.push(c);
        }
        f.push('"');
    }
    f.push('}');
    f
}

impl fmt::Display for SeriesKey {
    /// `name{label="value",...}`, with `"` and `\` in values escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&display(self.name(), self.labels()))
    }
}

impl fmt::Debug for SeriesKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SeriesKey({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_sorted_so_order_does_not_matter() {
        let a = SeriesKey::new("t", [("site", "p1"), ("asset", "a3")]).unwrap();
        let b = SeriesKey::new("t", [("asset", "a3"), ("site", "p1")]).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_string(), r#"t{asset="a3",site="p1"}"#);
        assert_eq!(
            a.labels().collect::<Vec<_>>(),
            [("asset", "a3"), ("site", "p1")]
        );
        assert_eq!(a.label("site"), Some("p1"));
        assert_eq!(a.label("line"), None);
    }

    #[test]
    fn canonical_text_round_trips_and_decodes_without_a_key() {
        let k = SeriesKey::new("flow", [("site", "p\"1"), ("line", "l01")]).unwrap();
        assert_eq!(SeriesKey::from_text(k.as_text()), Some(k.clone()));
        assert_eq!(SeriesKey::from_text("flow"), None);
        assert_eq!(
            SeriesKey::from_text("flow\0b\0x\0a\0y\0"),
            None,
            "unsorted labels"
        );
        let mut buf = Vec::new();
        k.encode(&mut buf);
        let mut text = String::new();
        SeriesKey::decode_text(&mut Reader::new(&buf), &mut text).unwrap();
        assert_eq!(text, k.as_text());
        for cut in 0..buf.len() {
            assert_eq!(
                SeriesKey::decode_text(&mut Reader::new(&buf[..cut]), &mut text),
                Err(None)
            );
        }
        let bad = SeriesKey::new("flow", [("a", "1"), ("b", "2")]).unwrap();
        let mut buf = Vec::new();
        bad.encode(&mut buf);
        let at = buf.iter().position(|&b| b == b'b').unwrap();
        buf[at] = b'a'; // labels a, a: not sorted
        let err = SeriesKey::decode_text(&mut Reader::new(&buf), &mut text).unwrap_err();
        assert!(err.is_some_and(|e| e.contains("not sorted")));
    }

    #[test]
    fn keys_order_as_name_then_labels() {
        let parts: Vec<(&str, Vec<(&str, &str)>)> = vec![
            ("a", vec![]),
            ("a", vec![("k", "v")]),
            ("a", vec![("k", "v"), ("l", "w")]),
            ("a", vec![("k", "vv")]),
            ("a", vec![("kk", "a")]),
            ("a b", vec![]),
            ("ab", vec![("a", "z")]),
            ("b", vec![("a", "a")]),
        ];
        let keys: Vec<SeriesKey> = parts
            .iter()
            .map(|(n, l)| SeriesKey::new(*n, l.iter().copied()).unwrap())
            .collect();
        for (i, a) in keys.iter().enumerate() {
            for (j, b) in keys.iter().enumerate() {
                assert_eq!(a.cmp(b), parts[i].cmp(&parts[j]), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn bad_keys_are_rejected_with_the_reason() {
        let e = SeriesKey::from_name("").unwrap_err().to_string();
        assert!(e.contains("name is empty"), "{e}");
        let e = SeriesKey::new("t", [("a", "1"), ("a", "2")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("given twice"), "{e}");
        let e = SeriesKey::new("t", [("a", "x\ny")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("control character"), "{e}");
        assert!(SeriesKey::from_name("x".repeat(256)).is_err());
    }

    #[test]
    fn binary_form_round_trips_and_short_input_is_told_apart() {
        let k = SeriesKey::new("flow", [("site", "p\"1"), ("line", "l01")]).unwrap();
        let mut buf = Vec::new();
        k.encode(&mut buf);
        assert_eq!(SeriesKey::decode(&mut Reader::new(&buf)).unwrap(), k);
        for cut in 0..buf.len() {
            assert_eq!(SeriesKey::decode(&mut Reader::new(&buf[..cut])), Err(None));
        }
    }
}
