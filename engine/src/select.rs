//! Choosing series by name and labels: exact values, or regular expressions that must match
//! the whole value (as in Prometheus). A label a series does not have reads as the empty
//! value, so `unit=""` selects series without a `unit` label.

use regex::{Regex, RegexBuilder};

use crate::error::{Error, Result};
use crate::series::SeriesKey;

/// Largest compiled size of one pattern; patterns come from the network, and a larger one
/// is refused rather than allowed to take memory.
const PATTERN_SIZE_LIMIT: usize = 1 << 20;

/// How one value (the name, or one label's value) is matched.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// Equal to this text.
    Equal(String),
    /// Not equal to it.
    NotEqual(String),
    /// Wholly matched by this pattern.
    Matches(Pattern),
    /// Not wholly matched by it.
    NotMatches(Pattern),
}

/// A regular expression anchored at both ends, keeping the text it was made from.
#[derive(Debug, Clone)]
pub struct Pattern {
    text: String,
    regex: Regex,
}

impl Pattern {
    /// Compiles `text` (regex syntax of the `regex` crate). Errors: [`Error::InvalidQuery`]
    /// naming the pattern and what is wrong in it.
    pub fn new(text: &str) -> Result<Pattern> {
        let regex = RegexBuilder::new(&format!("^(?:{text})$"))
            .size_limit(PATTERN_SIZE_LIMIT)
            .build()
            .map_err(|e| Error::InvalidQuery {
                reason: format!("pattern {text:?}: {e}"),
            })?;
        Ok(Pattern {
            text: text.to_string(),
            regex,
        })
    }

    /// The pattern as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// A pattern from a shell-style glob (see [`glob_to_regex`]); its text is the regular
    /// expression, which is what travels on the wire.
    pub fn glob(glob: &str) -> Result<Pattern> {
        Pattern::new(&glob_to_regex(glob))
    }

    fn is_match(&self, value: &str) -> bool {
        self.regex.is_match(value)
    }
}

/// The regular expression of a shell-style glob: `*` any run of characters, `?` one
/// character, everything else literal.
pub fn glob_to_regex(glob: &str) -> String {
    let mut re = String::with_capacity(glob.len() * 2);
    for ch in glob.chars() {
        match ch {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            c => re.push_str(&regex::escape(c.encode_utf8(&mut [0; 4]))),
        }
    }
    re
}

impl Matcher {
    /// True when `value` passes.
    pub fn matches(&self, value: &str) -> bool {
        match self {
            Matcher::Equal(v) => value == v,
            Matcher::NotEqual(v) => value != v,
            Matcher::Matches(p) => p.is_match(value),
            Matcher::NotMatches(p) => !p.is_match(value),
        }
    }
}

/// Which series a query reads: every series whose name and labels pass all matchers.
#[derive(Debug, Clone)]
pub struct Selector {
    /// The series name.
    pub name: Matcher,
    /// Label name and how its value is matched; all must pass.
    pub labels: Vec<(String, Matcher)>,
}

impl Selector {
    /// The series named as `key` is, with every label of `key` (and maybe others).
    pub fn of_key(key: &SeriesKey) -> Selector {
        Selector {
            name: Matcher::Equal(key.name().to_string()),
            labels: key
                .labels()
                .map(|(k, v)| (k.to_string(), Matcher::Equal(v.to_string())))
                .collect(),
        }
    }

    /// True when `key` is selected. A series with more labels than the selector names is
    /// selected too, as in Prometheus: `temperature{site="p1"}` selects every asset's.
    pub fn matches(&self, key: &SeriesKey) -> bool {
        self.name.matches(key.name())
            && self
                .labels
                .iter()
                .all(|(label, m)| m.matches(key.label(label).unwrap_or("")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str, labels: &[(&str, &str)]) -> SeriesKey {
        SeriesKey::new(name, labels.iter().copied()).unwrap()
    }

    #[test]
    fn matchers_follow_prometheus_rules() {
        let k = key("temperature", &[("site", "p1"), ("asset", "a0003")]);
        let sel = |name, labels: Vec<(&str, Matcher)>| Selector {
            name,
            labels: labels
                .into_iter()
                .map(|(l, m)| (l.to_string(), m))
                .collect(),
        };
        let eq = |v: &str| Matcher::Equal(v.into());
        let re = |v: &str| Matcher::Matches(Pattern::new(v).unwrap());
        assert!(sel(eq("temperature"), vec![]).matches(&k));
        assert!(!sel(eq("temp"), vec![]).matches(&k));
        // Patterns match the whole value.
        assert!(sel(re("temp.*"), vec![("asset", re("a000[0-3]"))]).matches(&k));
        assert!(!sel(re("temp"), vec![]).matches(&k));
        assert!(sel(Matcher::Matches(Pattern::glob("temp*").unwrap()), vec![]).matches(&k));
        assert!(!sel(Matcher::Matches(Pattern::glob("t?mp").unwrap()), vec![]).matches(&k));
        assert!(sel(
            Matcher::Matches(Pattern::glob("t?mperature").unwrap()),
            vec![]
        )
        .matches(&k));
        // A glob's other characters are literal.
        assert!(!sel(
            Matcher::Matches(Pattern::glob("temp.rature").unwrap()),
            vec![]
        )
        .matches(&k));
        // Missing labels read as empty.
        assert!(sel(eq("temperature"), vec![("unit", eq(""))]).matches(&k));
        assert!(!sel(
            eq("temperature"),
            vec![("site", Matcher::NotEqual("p1".into()))]
        )
        .matches(&k));
        assert!(sel(
            eq("temperature"),
            vec![("site", Matcher::NotMatches(Pattern::new("p[2-9]").unwrap()))]
        )
        .matches(&k));
    }

    #[test]
    fn bad_and_huge_patterns_are_refused() {
        let err = Pattern::new("a(b").unwrap_err().to_string();
        assert!(err.contains("pattern \"a(b\""), "{err}");
        assert!(Pattern::new("(a{1000}){1000}").is_err());
    }
}
