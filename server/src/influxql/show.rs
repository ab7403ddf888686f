//! `SHOW TAG KEYS | TAG VALUES | FIELD KEYS | SERIES`: what Grafana's query editor asks to
//! offer measurements, tags and fields.
//!
//! The series a statement covers are chosen through the engine's series index
//! ([`Engine::list_series_page`]): a `FROM` name is an exact name matcher, a `/regex/` a
//! name pattern, and `SHOW TAG VALUES` asks only for series that carry one of its keys. On a
//! plant of a million series, `SHOW TAG VALUES FROM temperature WITH KEY = site` then reads
//! the temperature series, not the catalog.
//!
//! `LIMIT n` and `OFFSET m` follow InfluxDB 1.x: for `SHOW SERIES` they cut the one list of
//! keys; for the others they cut each measurement's rows, and a measurement left without
//! rows is left out.

use lodestone_engine::{Engine, Matcher, Pattern, Selector, SeriesInfo, SeriesKey, ValueType};
use regex::Regex;

use super::ast::{SchemaListing, Source};
use super::result::{Rows, StatementResult, Table};

/// Answers a schema listing: one result series per measurement (measurement = series name,
/// as `SHOW MEASUREMENTS` lists them), in name order; `SHOW SERIES` is one unnamed result
/// of line-protocol keys, as InfluxDB answers.
pub fn schema(
    engine: &Engine,
    what: &SchemaListing,
    sources: &[Source],
    limit: u64,
    offset: u64,
) -> StatementResult {
    let infos = selected(engine, what, sources)?;
    if let SchemaListing::Series = what {
        // InfluxDB orders series by their line-protocol text, which escapes and the `,`
        // after the name can order differently from keys: sort the text.
        let mut keys: Vec<String> = infos.iter().map(|i| line_protocol_key(&i.key)).collect();
        keys.sort_unstable();
        keys.dedup();
        let mut rows = Rows::Names(keys);
        rows.window(offset, limit);
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        return Ok(vec![Table {
            name: String::new(),
            tags: Vec::new(),
            columns: vec!["key".to_string()],
            rows,
        }]);
    }
    let mut tables = Vec::new();
    // Sorted by key, so by name first: each measurement's series follow each other.
    for infos in infos.chunk_by(|a, b| a.key.name() == b.key.name()) {
        let (columns, mut rows) = measurement_rows(what, infos);
        rows.window(offset, limit);
        if rows.is_empty() {
            continue;
        }
        tables.push(Table {
            name: infos[0].key.name().to_string(),
            tags: Vec::new(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows,
        });
    }
    Ok(tables)
}

/// The columns and rows of one measurement, `infos` being its series (at least one).
fn measurement_rows(what: &SchemaListing, infos: &[SeriesInfo]) -> (&'static [&'static str], Rows) {
    match what {
        SchemaListing::TagKeys => {
            let mut keys: Vec<String> = infos
                .iter()
                .flat_map(|i| i.key.labels().map(|(k, _)| k.to_string()))
                .collect();
            keys.sort_unstable();
            keys.dedup();
            (&["tagKey"], Rows::Names(keys))
        }
        SchemaListing::TagValues(wanted) => {
            let mut pairs: Vec<(String, String)> = infos
                .iter()
                .flat_map(|i| i.key.labels())
                .filter(|(k, _)| wanted.iter().any(|w| w == k))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            pairs.sort_unstable();
            pairs.dedup();
            (&["key", "value"], Rows::Pairs(pairs))
        }
        SchemaListing::FieldKeys => {
            let kind = match infos.first().map(|i| i.value_type) {
                Some(ValueType::I64) => "integer",
                Some(ValueType::Bool) => "boolean",
                Some(ValueType::F64) | None => "float",
            };
            (
                &["fieldKey", "fieldType"],
                Rows::Pairs(vec![("value".to_string(), kind.to_string())]),
            )
        }
        SchemaListing::Series => (&["key"], Rows::Names(Vec::new())), // answered by the caller
    }
}

/// The series the listing covers, sorted by key, each once: every series, or those of the
/// `FROM` sources; for `SHOW TAG VALUES` only those carrying one of its keys.
fn selected(
    engine: &Engine,
    what: &SchemaListing,
    sources: &[Source],
) -> Result<Vec<SeriesInfo>, String> {
    let required: &[String] = match what {
        SchemaListing::TagValues(keys) => keys,
        _ => &[],
    };
    if sources.is_empty() && required.is_empty() {
        return Ok(engine.list_series_page(None, None, usize::MAX));
    }
    let names = if sources.is_empty() {
        // Names are never empty: any name.
        vec![Matcher::NotEqual(String::new())]
    } else {
        sources.iter().map(name_matcher).collect::<Result<_, _>>()?
    };
    let mut selectors = Vec::new();
    for name in &names {
        if required.is_empty() {
            selectors.push(Selector {
                name: name.clone(),
                labels: Vec::new(),
            });
        }
        // Label values are never empty: "not empty" is "has the label".
        for key in required {
            selectors.push(Selector {
                name: name.clone(),
                labels: vec![(key.clone(), Matcher::NotEqual(String::new()))],
            });
        }
    }
    let mut infos: Vec<SeriesInfo> = Vec::new();
    for s in &selectors {
        infos.extend(engine.list_series_page(Some(s), None, usize::MAX));
    }
    if selectors.len() > 1 {
        infos.sort_by(|a, b| a.key.cmp(&b.key));
        infos.dedup_by(|a, b| a.key == b.key);
    }
    Ok(infos)
}

/// The name matcher of one `FROM` source: a name exactly, or a `/regex/` that matches
/// anywhere in the name, as InfluxDB's (unanchored) regexes do.
fn name_matcher(source: &Source) -> Result<Matcher, String> {
    match source {
        Source::Name(n) => Ok(Matcher::Equal(n.clone())),
        Source::Regex(p) => {
            let invalid = |e: &dyn std::fmt::Display| format!("invalid regex /{p}/: {e}");
            // Checked alone first, so the message is about the pattern as written.
            Regex::new(p).map_err(|e| invalid(&e))?;
            // Engine patterns match the whole name: allow anything around it.
            Pattern::new(&format!("(?s:.*)(?:{p})(?s:.*)"))
                .map(Matcher::Matches)
                .map_err(|e| invalid(&e))
        }
    }
}

/// `m,tag=v,...` with line-protocol escapes, as InfluxDB lists series keys.
fn line_protocol_key(key: &SeriesKey) -> String {
    let esc = |s: &str, specials: &[char]| {
        let mut out = String::with_capacity(s.len());
        for c in s.chars() {
            if specials.contains(&c) {
                out.push('\\');
            }
            out.push(c);
        }
        out
    };
    let mut out = esc(key.name(), &[',', ' ']);
    for (k, v) in key.labels() {
        out.push(',');
        out.push_str(&esc(k, &[',', '=', ' ']));
        out.push('=');
        out.push_str(&esc(v, &[',', '=', ' ']));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str, labels: &[(&str, &str)]) -> SeriesKey {
        SeriesKey::new(name, labels.iter().copied()).unwrap()
    }

    #[test]
    fn regex_sources_match_anywhere_in_the_name_like_influxdb() {
        let m = name_matcher(&Source::Regex("emp".into())).unwrap();
        assert!(m.matches("temperature"));
        assert!(!m.matches("pressure"));
        let m = name_matcher(&Source::Regex("^temp$".into())).unwrap();
        assert!(m.matches("temp"));
        assert!(!m.matches("temperature"));
        let m = name_matcher(&Source::Regex("a|^p".into())).unwrap();
        assert!(m.matches("xa") && m.matches("pump") && !m.matches("xp"));
        let e = name_matcher(&Source::Regex("a(b".into())).unwrap_err();
        assert!(e.starts_with("invalid regex /a(b/: "), "{e}");
    }

    #[test]
    fn series_keys_are_written_with_line_protocol_escapes() {
        assert_eq!(
            line_protocol_key(&key("my meas,x", &[("t k", "v=1,2")])),
            r"my\ meas\,x,t\ k=v\=1\,2"
        );
        assert_eq!(line_protocol_key(&key("odd", &[])), "odd");
    }
}
