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
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesKey {
    name: String,
    labels: Vec<(String, String)>,
}

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
        let mut key = SeriesKey {
            name: name.into(),
            labels: labels
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        };
        key.labels.sort();
        key.validate()?;
        Ok(key)
    }

    /// A key without labels.
    pub fn from_name(name: impl Into<String>) -> Result<SeriesKey> {
        SeriesKey::new(name, std::iter::empty::<(String, String)>())
    }

    /// The series name (the measurement, in line-protocol terms).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The labels, sorted by label name.
    pub fn labels(&self) -> &[(String, String)] {
        &self.labels
    }

    /// The value of label `name`, if present.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn validate(&self) -> Result<()> {
        let bad = |reason: String| Error::InvalidSeries {
            series: self.to_string(),
            reason,
        };
        check_text("name", &self.name).map_err(bad)?;
        if self.labels.len() > MAX_LABELS {
            return Err(bad(format!(
                "{} labels, at most {MAX_LABELS} allowed",
                self.labels.len()
            )));
        }
        for (i, (k, v)) in self.labels.iter().enumerate() {
            check_text("label name", k).map_err(bad)?;
            check_text(&format!("label {k:?} value"), v).map_err(bad)?;
            if i > 0 && self.labels[i - 1].0 == *k {
                return Err(bad(format!("label {k:?} given twice")));
            }
        }
        Ok(())
    }

    /// Appends the binary form used in WAL records and segment indexes:
    /// `u16 name_len, name, u16 label_count, (u16 len, label name, u16 len, value)*`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_str(out, &self.name);
        out.put_u16(self.labels.len() as u16);
        for (k, v) in &self.labels {
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
        let key = SeriesKey { name, labels };
        if key.labels.windows(2).any(|w| w[0].0 >= w[1].0) {
            return Err(Some("series key labels not sorted".into()));
        }
        key.validate().map_err(|e| Some(e.to_string()))?;
        Ok(key)
    }
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
    if let Some(c) = s.chars().find(|c| c.is_control()) {
        return Err(format!("{what} contains control character {c:?}"));
    }
    Ok(())
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.put_u16(s.len() as u16);
    out.extend_from_slice(s.as_bytes());
}

fn get_str(r: &mut Reader<'_>) -> Result<String, Option<String>> {
    let n = r.u16().map_err(|Short| None)? as usize;
    let b = r.bytes(n).map_err(|Short| None)?;
    String::from_utf8(b.to_vec()).map_err(|_| Some("series key is not UTF-8".to_string()))
}

impl fmt::Display for SeriesKey {
    /// `name{label="value",...}`, with `"` and `\` in values escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if self.labels.is_empty() {
            return Ok(());
        }
        f.write_str("{")?;
        for (i, (k, v)) in self.labels.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{k}=\"")?;
            for c in v.chars() {
                if c == '"' || c == '\\' {
                    f.write_str("\\")?;
                }
                write!(f, "{c}")?;
            }
            f.write_str("\"")?;
        }
        f.write_str("}")
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
