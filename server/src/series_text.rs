//! The text form of a series key, `name{label="value",...}`: the one parser of it, used by
//! every command that takes a series. It reads exactly what the engine's `Display` of a
//! [`SeriesKey`] writes (values in double quotes, `"` and `\` escaped with `\`), and also
//! accepts spaces around the punctuation, a trailing comma, and a bare name.

use lodestone_engine::SeriesKey;

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

    fn error(&self, reason: &'static str) -> SeriesTextError {
        SeriesTextError::Syntax {
            text: self.text.to_string(),
            at: self.at,
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
}
