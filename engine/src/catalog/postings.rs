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

use std::collections::HashMap;

use crate::select::{Matcher, Selector};
use crate::series::SeriesKey;

/// Postings lists by name and by label.
#[derive(Debug, Default)]
pub struct Postings {
    names: HashMap<Box<str>, Vec<u32>>,
    labels: HashMap<Box<str>, HashMap<Box<str>, Vec<u32>>>,
}

/// The ids one matcher admits, as found from the index.
enum Found {
    /// Exactly these (sorted).
    Ids(Vec<u32>),
    /// Any series without the label, and those with a value the matcher admits: too many to
    /// list cheaply, so the matcher is checked on each candidate instead.
    Filter,
}

impl Postings {
    /// Adds series `id`, newer than every id added before, with key `key`.
    pub fn add(&mut self, id: u32, key: &SeriesKey) {
        push_id(&mut self.names, key.name(), id);
        for (k, v) in key.labels() {
            let values = match self.labels.get_mut(k) {
                Some(values) => values,
                None => self.labels.entry(k.into()).or_default(),
            };
            push_id(values, v, id);
        }
    }

    /// The ids, sorted, of the series that `sel` selects; `key_of` gives a series' key to
    /// check the matchers the index cannot answer alone.
    pub fn select<'a>(
        &self,
        sel: &Selector,
        key_of: impl Fn(u32) -> Option<&'a SeriesKey>,
    ) -> Vec<u32> {
        // Exact matchers first: their lists are found without looking at other values.
        let mut sets: Vec<Vec<u32>> = Vec::new();
        if let Matcher::Equal(v) = &sel.name {
            sets.push(self.names.get(v.as_str()).cloned().unwrap_or_default());
        }
        for (label, m) in &sel.labels {
            if matches!(m, Matcher::Equal(v) if !v.is_empty()) {
                sets.push(self.label_ids(label, m).unwrap_or_default());
            }
        }
        // Without one, the name pattern and every matcher that needs its label present
        // narrow the candidates by their own lists.
        if sets.is_empty() {
            sets.push(self.name_ids(&sel.name));
            for (label, m) in &sel.labels {
                if let Found::Ids(ids) = self.found(label, m) {
                    sets.push(ids);
                }
            }
        }
        sets.sort_by_key(Vec::len);
        let mut sets = sets.into_iter();
        let mut ids = sets.next().unwrap_or_default();
        for s in sets {
            if ids.is_empty() {
                break;
            }
            ids = intersect(&ids, &s);
        }
        ids.retain(|&id| key_of(id).is_some_and(|k| sel.matches(k)));
        ids
    }

    /// The ids with a name `m` admits. Names are never empty, and there are few of them.
    fn name_ids(&self, m: &Matcher) -> Vec<u32> {
        union(
            self.names
                .iter()
                .filter(|(name, _)| m.matches(name))
                .map(|(_, ids)| ids),
        )
    }

    /// The ids whose label `label` has a value `m` admits, when `m` does not admit a missing
    /// label (the empty value).
    fn label_ids(&self, label: &str, m: &Matcher) -> Option<Vec<u32>> {
        let values = self.labels.get(label);
        if let Matcher::Equal(v) = m {
            return Some(
                values
                    .and_then(|vs| vs.get(v.as_str()))
                    .cloned()
                    .unwrap_or_default(),
            );
        }
        let values = values?;
        Some(union(
            values
                .iter()
                .filter(|(value, _)| m.matches(value))
                .map(|(_, ids)| ids),
        ))
    }

    fn found(&self, label: &str, m: &Matcher) -> Found {
        if m.matches("") {
            return Found::Filter;
        }
        Found::Ids(self.label_ids(label, m).unwrap_or_default())
    }

    /// Approximate bytes held.
    pub fn mem_bytes(&self) -> usize {
        const ENTRY: usize = 16 + 24 + 16;
        let lists = |m: &HashMap<Box<str>, Vec<u32>>| {
            m.iter()
                .map(|(k, v)| ENTRY + k.len() + v.capacity() * 4)
                .sum::<usize>()
        };
        lists(&self.names)
            + self
                .labels
                .iter()
                .map(|(k, vs)| ENTRY + k.len() + lists(vs))
                .sum::<usize>()
    }
}

fn push_id(lists: &mut HashMap<Box<str>, Vec<u32>>, value: &str, id: u32) {
    match lists.get_mut(value) {
        Some(ids) => ids.push(id),
        None => {
            lists.insert(value.into(), vec![id]);
        }
    }
}

/// The union of disjoint sorted lists (a series has one name and one value per label).
fn union<'a>(lists: impl Iterator<Item = &'a Vec<u32>>) -> Vec<u32> {
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
    fn intersections_of_uneven_lists() {
        let big: Vec<u32> = (0..1000).collect();
        assert_eq!(intersect(&[3, 500, 2000], &big), vec![3, 500]);
        assert_eq!(intersect(&[1, 2, 3, 9], &[2, 3, 4, 9]), vec![2, 3, 9]);
        assert!(intersect(&[], &big).is_empty());
    }
}
