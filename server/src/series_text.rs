//! The text form of a series key, `name{label="value",...}`: the one parser of it, used by
//! every command that takes a series. It reads exactly what the engine's `Display` of a
//! [`SeriesKey`] writes (values in double quotes, `"` and `\` escaped with `\`), and also
//! accepts spaces around the punctuation, a trailing comma, and a bare name.
//!
//! Series selectors ([`parse_selector`]) extend it as Prometheus does:
//! `name{label="v", label!="v", label=~"regex", label!~"regex"}`, where the name may be a
//! glob (`temp*`, `t?mp`) or left out (any name, or `{__name__=~"regex"}`).

use lodestone_engine::{Matcher, Pattern, Selector, SeriesKey};

/// Why a series text was not understood.
#[derive(Debug, thiserror::Error)]
pub enum SeriesTextError {
    /// The text does not follow `name{label="value",...}`.
    #[error("series {text:?}: {reason} at byte {at}")]
    Syntax {
        /// The text as given.
        text: String,
        /// Byte offset where reading stopped.
        at: usize,
        /// What was expected there.
        reason: &'static str,
    },
    /// The syntax is right but the key is not valid (empty name, label given twice, ...).
    #[error(transparent)]
    Invalid(#[from] lodestone_engine::Error),
    /// A selector's pattern is not a valid regular expression.
    #[error("series {text:?}: bad pattern at byte {at}: {source}")]
    Pattern {
        /// The text as given.
        text: String,
        /// Byte offset of the pattern's opening quote.
        at: usize,
        /// The engine's reason, naming the pattern.
        source: lodestone_engine::Error,
    },
}

/// Parses `name`, `name{}` or `name{k="v",k2="v2"}` into a validated key.
pub fn parse(text: &str) -> Result<SeriesKey, SeriesTextError> {
    let mut c = Cursor { text, at: 0 };
    let Some(open) = text.find('{') else {
        return Ok(SeriesKey::from_name(text.trim())?);
    };
    let name = text[..open].trim();
    c.at = open + 1;
    let mut labels = Vec::new();
    loop {
        c.skip_spaces();
        if c.eat('}') {
            break;
        }
        let label = c.take_while(|ch| !matches!(ch, '=' | ',' | '}' | '"') && !ch.is_whitespace());
        if label.is_empty() {
            return Err(c.error("expected a label name or '}'"));
        }
        c.skip_spaces();
        if !c.eat('=') {
            return Err(c.error("expected '=' after the label name"));
        }
        c.skip_spaces();
        if !c.eat('"') {
            return Err(c.error("expected '\"' opening the label value"));
        }
        let value = c.quoted()?;
        labels.push((label.to_string(), value));
        c.skip_spaces();
        if c.eat(',') {
            continue;
        }
        if c.eat('}') {
            break;
        }
        return Err(c.error("expected ',' or '}' after the label value"));
    }
    c.skip_spaces();
    if c.at < text.len() {
        return Err(c.error("unexpected text after '}'"));
    }
    Ok(SeriesKey::new(name, labels)?)
}

/// The label that stands for the series name in a selector, as in Prometheus.
pub const NAME_LABEL: &str = "__name__";

/// Parses a series selector: `name{label="v", label!="v", label=~"regex",
/// label!~"regex"}`, spaces and a trailing comma allowed. The name, before `{` or alone, is
/// an exact name, a glob when it holds `*` (any run of characters) or `?` (one character),
/// or empty for any name unless a `__name__` matcher names it. Patterns are regular
/// expressions (Rust `regex` syntax) that must match the whole value; in the quoted text a
/// backslash is written `\\`, so `\d` is `"\\d"`.
pub fn parse_selector(text: &str) -> Result<Selector, SeriesTextError> {
    let mut c = Cursor { text, at: 0 };
    let (name_text, mut name) = match text.find('{') {
        None if text.trim().is_empty() => {
            return Err(c.error("expected a series name, a glob or '{'"));
        }
        None => (text.trim(), None),
        Some(open) => {
            c.at = open + 1;
            (text[..open].trim(), None)
        }
    };
    let mut labels = Vec::new();
    if c.at > 0 {
        loop {
            c.skip_spaces();
            if c.eat('}') {
                break;
            }
            let label_at = c.at;
            let (label, matcher) = c.label_matcher()?;
            if label == NAME_LABEL {
                if !name_text.is_empty() || name.is_some() {
                    return Err(c.error_at(label_at, "the name is given twice"));
                }
                name = Some(matcher);
            } else {
                labels.push((label.to_string(), matcher));
            }
            c.skip_spaces();
            if c.eat(',') {
                continue;
            }
            if c.eat('}') {
                break;
            }
            return Err(c.error("expected ',' or '}' after the label value"));
        }
        c.skip_spaces();
        if c.at < text.len() {
            return Err(c.error("unexpected text after '}'"));
        }
    }
    let name = match name {
        Some(m) => m,
        None if name_text.contains(['*', '?']) => {
            Matcher::Matches(c.pattern(0, &lodestone_engine::select::glob_to_regex(name_text))?)
        }
        None if name_text.is_empty() => Matcher::Matches(c.pattern(0, ".*")?),
        None => Matcher::Equal(name_text.to_string()),
    };
    Ok(Selector { name, labels })
}

/// A position in the text being parsed.
struct Cursor<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<char> {
        self.text[self.at..].chars().next()
    }

    fn eat(&mut self, want: char) -> bool {
        if self.peek() == Some(want) {
            self.at += want.len_utf8();
            true
        } else {
            false
        }
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> &'a str {
        let start = self.at;
        while let Some(ch) = self.peek().filter(|&ch| keep(ch)) {
            self.at += ch.len_utf8();
        }
        &self.text[start..self.at]
    }

    fn skip_spaces(&mut self) {
        self.take_while(char::is_whitespace);
    }

    /// The rest of a quoted value, after its opening quote, with escapes resolved.
    fn quoted(&mut self) -> Result<String, SeriesTextError> {
        let mut value = String::new();
        loop {
            let Some(ch) = self.peek() else {
                return Err(self.error("unterminated label value (missing closing '\"')"));
            };
            self.at += ch.len_utf8();
            match ch {
                '"' => return Ok(value),
                '\\' => match self.peek() {
                    Some(esc @ ('"' | '\\')) => {
                        self.at += 1;
                        value.push(esc);
                    }
                    _ => return Err(self.error("only \\\" and \\\\ may follow '\\' in a value")),
                },
                _ => value.push(ch),
            }
        }
    }

    /// `label op "value"` of a selector, as a label name and its matcher.
    fn label_matcher(&mut self) -> Result<(&'a str, Matcher), SeriesTextError> {
        let label = self.take_while(|ch| {
            !matches!(ch, '=' | '!' | '~' | ',' | '}' | '"') && !ch.is_whitespace()
        });
        if label.is_empty() {
            return Err(self.error("expected a label name or '}'"));
        }
        self.skip_spaces();
        let op = if self.eat('=') {
            if self.eat('~') {
                "=~"
            } else {
                "="
            }
        } else if self.eat('!') {
            if self.eat('=') {
                "!="
            } else if self.eat('~') {
                "!~"
            } else {
                return Err(self.error("expected '=' or '~' after '!'"));
            }
        } else {
            return Err(self.error("expected '=', '!=', '=~' or '!~' after the label name"));
        };
        self.skip_spaces();
        let value_at = self.at;
        if !self.eat('"') {
            return Err(self.error("expected '\"' opening the label value"));
        }
        let value = self.quoted()?;
        let matcher = match op {
            "=" => Matcher::Equal(value),
            "!=" => Matcher::NotEqual(value),
            "=~" => Matcher::Matches(self.pattern(value_at, &value)?),
            _ => Matcher::NotMatches(self.pattern(value_at, &value)?),
        };
        Ok((label, matcher))
    }

    /// The compiled `pattern`, whose text starts at byte `at`.
    fn pattern(&self, at: usize, pattern: &str) -> Result<Pattern, SeriesTextError> {
        Pattern::new(pattern).map_err(|source| SeriesTextError::Pattern {
            text: self.text.to_string(),
            at,
            source,
        })
    }

    fn error(&self, reason: &'static str) -> SeriesTextError {
        self.error_at(self.at, reason)
    }

    fn error_at(&self, at: usize, reason: &'static str) -> SeriesTextError {
        SeriesTextError::Syntax {
            text: self.text.to_string(),
            at,
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str, labels: &[(&str, &str)]) -> SeriesKey {
        SeriesKey::new(name, labels.iter().copied()).unwrap()
    }

    #[test]
    fn names_with_and_without_labels_parse() {
        assert_eq!(parse("flow").unwrap(), key("flow", &[]));
        assert_eq!(parse("flow{}").unwrap(), key("flow", &[]));
        assert_eq!(
            parse(r#"temperature{site="p1",line="l04"}"#).unwrap(),
            key("temperature", &[("site", "p1"), ("line", "l04")])
        );
    }

    #[test]
    fn spaces_around_punctuation_and_a_trailing_comma_are_accepted() {
        assert_eq!(
            parse(r#" temperature { site = "p 1" , line="l04", } "#).unwrap(),
            key("temperature", &[("site", "p 1"), ("line", "l04")])
        );
    }

    #[test]
    fn escaped_quotes_and_backslashes_in_values_are_unescaped() {
        let k = parse(r#"tag{desc="say \"hi\"",path="C:\\plc\\1",odd="{},="}"#).unwrap();
        assert_eq!(k.label("desc"), Some(r#"say "hi""#));
        assert_eq!(k.label("path"), Some(r"C:\plc\1"));
        assert_eq!(k.label("odd"), Some("{},="));
    }

    #[test]
    fn what_the_engine_displays_parses_back_to_the_same_key() {
        let k = key("t", &[("a", r#"q"uo\te"#), ("b", "ü{},= "), ("c", "x")]);
        assert_eq!(parse(&k.to_string()).unwrap(), k);
    }

    #[test]
    fn syntax_errors_say_what_was_expected_and_where() {
        let cases = [
            (r#"t{site="p1""#, "expected ',' or '}'", 11),
            (r#"t{site="p1"#, "unterminated label value", 10),
            (r#"t{site}"#, "expected '='", 6),
            (r#"t{site=p1}"#, "expected '\"'", 7),
            (r#"t{="p1"}"#, "expected a label name", 2),
            (r#"t{site="p1"} x"#, "unexpected text after '}'", 13),
            (r#"t{site="a\b"}"#, "may follow '\\'", 10),
        ];
        for (text, reason, at) in cases {
            let e = parse(text).unwrap_err();
            let msg = e.to_string();
            assert!(msg.contains(reason), "{text}: {msg}");
            assert!(
                matches!(e, SeriesTextError::Syntax { at: a, .. } if a == at),
                "{text}: {e:?}"
            );
        }
    }

    #[test]
    fn invalid_keys_are_rejected_with_the_engines_reason() {
        let e = parse(r#"{site="p1"}"#).unwrap_err().to_string();
        assert!(e.contains("name is empty"), "{e}");
        let e = parse(r#"t{a="1",a="2"}"#).unwrap_err().to_string();
        assert!(e.contains("given twice"), "{e}");
        let e = parse("").unwrap_err().to_string();
        assert!(e.contains("name is empty"), "{e}");
    }

    fn selected(selector: &str, keys: &[SeriesKey]) -> Vec<String> {
        let sel = parse_selector(selector).unwrap();
        keys.iter()
            .filter(|k| sel.matches(k))
            .map(|k| k.to_string())
            .collect()
    }

    fn plant() -> Vec<SeriesKey> {
        vec![
            key("temperature", &[("site", "p1"), ("asset", "a0001")]),
            key("temperature", &[("site", "p1"), ("asset", "a0002")]),
            key("temperature", &[("site", "p2"), ("asset", "a0001")]),
            key("temp", &[("site", "p1")]),
            key("pressure", &[("site", "p1"), ("asset", "a0001")]),
        ]
    }

    #[test]
    fn selectors_match_names_exactly_by_glob_or_by_name_label() {
        let keys = plant();
        assert_eq!(selected("temp", &keys), [r#"temp{site="p1"}"#]);
        assert_eq!(selected("temp*", &keys).len(), 4);
        assert_eq!(
            selected(r#"t?mp{site="p1"}"#, &keys),
            [r#"temp{site="p1"}"#]
        );
        // Other glob characters are literal.
        assert!(selected("temp.*", &keys).is_empty());
        assert_eq!(
            selected(r#"{__name__=~"pres.*|temp"}"#, &keys),
            [r#"temp{site="p1"}"#, r#"pressure{asset="a0001",site="p1"}"#]
        );
        assert_eq!(selected("{}", &keys).len(), 5);
        assert_eq!(selected(r#"{ asset = "a0001" }"#, &keys).len(), 3);
    }

    #[test]
    fn selectors_take_every_operator_with_spaces_and_a_trailing_comma() {
        let keys = plant();
        assert_eq!(
            selected(
                r#" temperature { site != "p2" , asset =~ "a000[1-3]", asset!~"a0002", } "#,
                &keys
            ),
            [r#"temperature{asset="a0001",site="p1"}"#]
        );
        // A label a series lacks reads as empty; escapes work as in series text.
        assert_eq!(
            selected(r#"temp*{asset=""}"#, &keys),
            [r#"temp{site="p1"}"#]
        );
        let sel = parse_selector(r#"t{d=~"\\d+"}"#).unwrap();
        assert!(sel.matches(&key("t", &[("d", "42")])));
        assert!(!sel.matches(&key("t", &[("d", "4x")])));
    }

    #[test]
    fn selector_syntax_errors_say_what_was_expected_and_where() {
        let cases = [
            (r#"t{site="p1""#, "expected ',' or '}'", 11),
            (r#"t{site"p1"}"#, "expected '=', '!=', '=~' or '!~'", 6),
            (r#"t{site!"p1"}"#, "expected '=' or '~' after '!'", 7),
            (r#"t{site=~p1}"#, "expected '\"'", 8),
            (r#"t{=~"p1"}"#, "expected a label name", 2),
            (r#"t{site="p1"} x"#, "unexpected text after '}'", 13),
            (r#"t{site="p1"#, "unterminated label value", 10),
            (r#"t{__name__="u"}"#, "the name is given twice", 2),
            (
                r#"{__name__="u", __name__="v"}"#,
                "the name is given twice",
                15,
            ),
            ("  ", "expected a series name, a glob or '{'", 0),
        ];
        for (text, reason, at) in cases {
            let e = parse_selector(text).unwrap_err();
            let msg = e.to_string();
            assert!(msg.contains(reason), "{text}: {msg}");
            assert!(msg.contains(&format!("at byte {at}")), "{text}: {msg}");
            assert!(
                matches!(e, SeriesTextError::Syntax { at: a, .. } if a == at),
                "{text}: {e:?}"
            );
        }
    }

    #[test]
    fn a_bad_pattern_is_named_with_its_offset() {
        let e = parse_selector(r#"t{site="p1", asset=~"a(b"}"#).unwrap_err();
        assert!(
            matches!(e, SeriesTextError::Pattern { at: 20, .. }),
            "{e:?}"
        );
        let msg = e.to_string();
        assert!(msg.contains("bad pattern at byte 20"), "{msg}");
        assert!(msg.contains(r#"pattern "a(b""#), "{msg}");
    }
}
