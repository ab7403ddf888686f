//! The inverted index of the catalog: from a series name, and from a label name and value,
//! to the sorted ids of the series that have it (postings lists, as in Prometheus' TSDB).
//!
//! A selection costs what it returns, not what the store holds: exact matchers are answered
//! by intersecting postings lists, smallest first, and only the series left are checked
//! against the remaining matchers. Patterns are matched against the distinct values of
//! their label (far fewer than the series, except for labels unique per series), never
//! against every series.
//!
//! Ids are given out in increasing order and series are never forgotten, so appending an id
//! keeps every list sorted.

use std::borrow::Cow;
use std::collections::BTreeMap;

use hashbrown::HashMap;

use crate::select::{Matcher, Selector};
use crate::series::SeriesKey;

/// Postings lists by name and by label. A label's values are kept sorted, so that a
/// pattern with a literal prefix (`FIC-00.*`) looks only at the values that start with it.
#[derive(Debug, Default)]
pub struct Postings {
    names: HashMap<Box<str>, Vec<u32>>,
    labels: HashMap<Box<str>, BTreeMap<Box<str>, Vec<u32>>>,
}

impl Postings {
    /// Adds series `id`, newer than every id added before, with key `key`.
    pub fn add(&mut self, id: u32, key: &SeriesKey) {
        match self.names.get_mut(key.name()) {
            Some(ids) => ids.push(id),
            None => {
                self.names.insert(key.name().into(), vec![id]);
            }
        }
        for (k, v) in key.labels() {
            let values = match self.labels.get_mut(k) {
                Some(values) => values,
                None => self.labels.entry(k.into()).or_default(),
            };
            match values.get_mut(v) {
                Some(ids) => ids.push(id),
                None => {
                    values.insert(v.into(), vec![id]);
                }
            }
        }
    }

    /// The ids, sorted, of the series that `sel` selects; `key_of` gives a series' key to
    /// check the matchers the index cannot answer alone.
    pub fn select<'a>(
        &self,
        sel: &Selector,
        key_of: impl Fn(u32) -> Option<&'a SeriesKey>,
    ) -> Vec<u32> {
        let mut lists: Vec<Cow<'_, [u32]>> = Vec::new();
        // Matchers the lists answer exactly need no check on the candidates.
        let mut name_answered = false;
        let mut answered = vec![false; sel.labels.len()];
        // Exact matchers first: their lists are found without looking at other values.
        if let Matcher::Equal(v) = &sel.name {
            lists.push(Cow::Borrowed(
                self.names.get(v.as_str()).map_or(&[], |l| &l[..]),
            ));
            name_answered = true;
        }
        for (i, (label, m)) in sel.labels.iter().enumerate() {
            if let Matcher::Equal(v) = m {
                if !v.is_empty() {
                    let ids = self
                        .labels
                        .get(label.as_str())
                        .and_then(|vs| vs.get(v.as_str()))
                        .map_or(&[][..], |l| &l[..]);
                    lists.push(Cow::Borrowed(ids));
                    answered[i] = true;
                }
            }
        }
        // The smallest exact list bounds what the other matchers may cost to list: past it,
        // checking them on each candidate is cheaper.
        let budget = lists.iter().map(|l| l.len()).min();
        if !name_answered && budget.is_none() {
            lists.push(Cow::Owned(union(
                self.names
                    .iter()
                    .filter(|(name, _)| sel.name.matches(name))
                    .map(|(_, ids)| &ids[..]),
            )));
            name_answered = true;
        }
        for (i, (label, m)) in sel.labels.iter().enumerate() {
            if answered[i] || m.matches("") {
                continue;
            }
            if let Some(ids) = self.label_ids(label, m, budget.map(|b| b.saturating_mul(4))) {
                lists.push(Cow::Owned(ids));
                answered[i] = true;
            }
        }
        lists.sort_by_key(|l| l.len());
        let mut lists = lists.into_iter();
        let mut ids = lists.next().map(Cow::into_owned).unwrap_or_default();
        for l in lists {
            if ids.is_empty() {
                break;
            }
            ids = intersect(&ids, &l);
        }
        let rest: Vec<&(String, Matcher)> = sel
            .labels
            .iter()
            .zip(&answered)
            .filter(|(_, done)| !**done)
            .map(|(lm, _)| lm)
            .collect();
        if !name_answered || !rest.is_empty() {
            ids.retain(|&id| {
                key_of(id).is_some_and(|k| {
                    (name_answered || sel.name.matches(k.name()))
                        && rest
                            .iter()
                            .all(|(label, m)| m.matches(k.label(label).unwrap_or("")))
                })
            });
        }
        ids
    }

    /// The ids whose label `label` has a value `m` admits (`m` does not admit the empty
    /// value, so series without the label are not among them); `None` when listing them
    /// would look at more than `budget` ids (no bound without one). A pattern with a
    /// literal prefix looks only at the values that start with it.
    fn label_ids(&self, label: &str, m: &Matcher, budget: Option<usize>) -> Option<Vec<u32>> {
        let Some(values) = self.labels.get(label) else {
            return Some(Vec::new());
        };
        let prefix = match m {
            Matcher::Matches(p) => literal_prefix(p.as_str()),
            _ => "",
        };
        if prefix.is_empty() && budget.is_some() {
            return None;
        }
        let mut lists = Vec::new();
        let mut seen = 0usize;
        let range = values
            .range::<str, _>((
                std::ops::Bound::Included(prefix),
                std::ops::Bound::Unbounded,
            ))
            .take_while(|(v, _)| v.starts_with(prefix));
        for (value, ids) in range {
            seen += ids.len();
            if budget.is_some_and(|b| seen > b) {
                return None;
            }
            if m.matches(value) {
                lists.push(&ids[..]);
            }
        }
        Some(union(lists.into_iter()))
    }

    /// Approximate bytes held.
    pub fn mem_bytes(&self) -> usize {
        const ENTRY: usize = 16 + 24 + 16;
        let size = |k: &str, v: &Vec<u32>| ENTRY + k.len() + v.capacity() * 4;
        let names: usize = self.names.iter().map(|(k, v)| size(k, v)).sum();
        let labels: usize = self
            .labels
            .iter()
            .map(|(k, vs)| ENTRY + k.len() + vs.iter().map(|(v, l)| size(v, l)).sum::<usize>())
            .sum();
        names + labels
    }
}

/// The literal text every value a pattern (anchored at both ends) matches must start with:
/// the leading run of plain characters, without the last one when a quantifier follows it.
/// Empty when the pattern could start otherwise (an alternation anywhere, a group, a class,
/// an escape or a flag first).
fn literal_prefix(pattern: &str) -> &str {
    if pattern.contains('|') {
        return "";
    }
    let plain = |c: char| {
        c.is_alphanumeric()
            || matches!(
                c,
                '-' | '_'
                    | '/'
                    | ':'
                    | ','
                    | '='
                    | ' '
                    | '@'
                    | '#'
                    | '%'
                    | '~'
                    | '!'
                    | '<'
                    | '>'
                    | ';'
                    | '\''
                    | '"'
                    | '&'
            )
    };
    let end = pattern
        .char_indices()
        .find(|&(_, c)| !plain(c))
        .map_or(pattern.len(), |(i, _)| i);
    let next = pattern[end..].chars().next();
    if matches!(next, Some('*' | '?' | '{' | '+')) {
        // The quantifier applies to the last character, which may then be absent or repeat.
        let last = pattern[..end].chars().next_back().map_or(0, char::len_utf8);
        return &pattern[..end - last];
    }
    &pattern[..end]
}

/// The union of disjoint sorted lists (a series has one name and one value per label).
fn union<'a>(lists: impl Iterator<Item = &'a [u32]>) -> Vec<u32> {
    let mut out: Vec<u32> = lists.flatten().copied().collect();
    out.sort_unstable();
    out
}

/// The ids in both sorted lists.
fn intersect(a: &[u32], b: &[u32]) -> Vec<u32> {
    let (small, large) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let mut out = Vec::with_capacity(small.len());
    // Galloping would pay for very uneven lists; a binary search per id of the small list
    // already bounds the work by the small list's length.
    if small.len() * 16 < large.len() {
        out.extend(
            small
                .iter()
                .copied()
                .filter(|id| large.binary_search(id).is_ok()),
        );
        return out;
    }
    let (mut i, mut j) = (0, 0);
    while i < small.len() && j < large.len() {
        match small[i].cmp(&large[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(small[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::select::Pattern;

    fn keys() -> Vec<SeriesKey> {
        let mut out = Vec::new();
        for i in 0..60u32 {
            let name = ["temp", "flow", "level"][i as usize % 3];
            let mut labels = vec![
                ("site".to_string(), format!("s{}", i % 2)),
                ("tag".to_string(), format!("T-{i:03}")),
            ];
            if i % 5 == 0 {
                labels.push(("unit".to_string(), "degC".to_string()));
            }
            out.push(SeriesKey::new(name, labels).unwrap());
        }
        out
    }

    fn check(sel: Selector) {
        let keys = keys();
        let mut p = Postings::default();
        for (i, k) in keys.iter().enumerate() {
            p.add(i as u32, k);
        }
        let got = p.select(&sel, |id| keys.get(id as usize));
        let want: Vec<u32> = (0..keys.len() as u32)
            .filter(|&i| sel.matches(&keys[i as usize]))
            .collect();
        assert_eq!(got, want, "{sel:?}");
    }

    fn sel(name: Matcher, labels: &[(&str, Matcher)]) -> Selector {
        Selector {
            name,
            labels: labels
                .iter()
                .map(|(k, m)| (k.to_string(), m.clone()))
                .collect(),
        }
    }

    #[test]
    fn selections_match_a_scan() {
        let eq = |v: &str| Matcher::Equal(v.into());
        let ne = |v: &str| Matcher::NotEqual(v.into());
        let re = |v: &str| Matcher::Matches(Pattern::new(v).unwrap());
        let nre = |v: &str| Matcher::NotMatches(Pattern::new(v).unwrap());
        let any = || re(".*");
        check(sel(eq("temp"), &[]));
        check(sel(eq("nothing"), &[]));
        check(sel(any(), &[]));
        check(sel(re("t.*|flow"), &[("site", eq("s1"))]));
        check(sel(any(), &[("unit", eq(""))]));
        check(sel(any(), &[("unit", ne(""))]));
        check(sel(any(), &[("unit", ne("degC"))]));
        check(sel(eq("flow"), &[("tag", re("T-0[0-2].*"))]));
        check(sel(
            any(),
            &[("tag", re("T-0[0-2].*")), ("site", nre("s0"))],
        ));
        check(sel(ne("flow"), &[("site", eq("s0")), ("unit", eq("degC"))]));
        check(sel(any(), &[("missing", re(".+"))]));
        check(sel(any(), &[("missing", re(".*"))]));
        check(sel(any(), &[("site", eq("s9"))]));
    }

    #[test]
    fn literal_prefixes_are_what_every_match_starts_with() {
        assert_eq!(literal_prefix("FIC-00043.*"), "FIC-00043");
        assert_eq!(literal_prefix("T-0[0-2].*"), "T-0");
        assert_eq!(literal_prefix("abc*"), "ab");
        assert_eq!(literal_prefix("abc+"), "ab");
        assert_eq!(literal_prefix("ab{2}"), "a");
        assert_eq!(literal_prefix("ab|cd"), "");
        assert_eq!(literal_prefix("(?i)abc"), "");
        assert_eq!(literal_prefix(".*x"), "");
        assert_eq!(literal_prefix("plain"), "plain");
    }

    #[test]
    fn intersections_of_uneven_lists() {
        let big: Vec<u32> = (0..1000).collect();
        assert_eq!(intersect(&[3, 500, 2000], &big), vec![3, 500]);
        assert_eq!(intersect(&[1, 2, 3, 9], &[2, 3, 4, 9]), vec![2, 3, 9]);
        assert!(intersect(&[], &big).is_empty());
    }
}
