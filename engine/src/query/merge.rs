//! Merging sorted point lists where a newer source wins on equal timestamps.

use crate::point::Point;

/// Merges two lists, each sorted by strictly increasing timestamp, into one such list. On
/// equal timestamps the point from `newer` wins (last write wins).
///
/// The result reuses `older`'s buffer: the part of `older` before `newer` begins stays where
/// it is, and only the overlapping tail is copied out and merged back, so merging a source
/// that overlaps just the edge of a long one costs about the size of the edge (plus growing
/// `older`'s buffer, which callers avoid by reserving the total up front).
pub fn merge_newer_wins(mut older: Vec<Point>, newer: Vec<Point>) -> Vec<Point> {
    let (Some(first_new), Some(last_new)) = (newer.first(), newer.last()) else {
        return older;
    };
    if older.is_empty() {
        return newer;
    }
    if last_new.ts < older[0].ts {
        let mut out = newer;
        out.extend_from_slice(&older);
        return out;
    }
    let keep = older.partition_point(|p| p.ts < first_new.ts);
    let tail = older.split_off(keep);
    merge_runs(&tail, &newer, &mut older);
    older
}

/// Appends the merge of `older` and `newer` (both sorted, newer winning ties) to `out`,
/// copying alternating runs found by binary search: a memcpy per run rather than a
/// comparison and a push per point.
fn merge_runs(older: &[Point], newer: &[Point], out: &mut Vec<Point>) {
    out.reserve(older.len() + newer.len());
    let (mut i, mut j) = (0, 0);
    while i < older.len() && j < newer.len() {
        let (a, b) = (older[i].ts, newer[j].ts);
        if a < b {
            let run = i + older[i..].partition_point(|p| p.ts < b);
            out.extend_from_slice(&older[i..run]);
            i = run;
        } else {
            let run = j + newer[j..].partition_point(|p| p.ts <= a);
            out.extend_from_slice(&newer[j..run]);
            j = run;
            if newer[run - 1].ts == a {
                i += 1; // replaced by the newer point with the same timestamp
            }
        }
    }
    out.extend_from_slice(&older[i..]);
    out.extend_from_slice(&newer[j..]);
}

/// Up to this many overlapping sources are merged pairwise in linear time each; more are
/// sorted once.
const FOLD_MAX_SOURCES: usize = 8;

/// Merges any number of sources, each sorted by strictly increasing timestamp, given oldest
/// first; on equal timestamps the newest source wins. See [`merge_slices`].
pub fn merge_sources(sources: Vec<Vec<Point>>) -> Vec<Point> {
    let mut nonempty: Vec<Vec<Point>> = sources.into_iter().filter(|s| !s.is_empty()).collect();
    if nonempty.len() <= 1 {
        return nonempty.pop().unwrap_or_default();
    }
    let slices: Vec<&[Point]> = nonempty.iter().map(Vec::as_slice).collect();
    merge_slices(&slices)
}

/// Merges sources given as slices, each sorted by strictly increasing timestamp, oldest
/// first; on equal timestamps the newest source wins. Every point is copied once into the
/// result: sources that do not overlap in time (the common case: flushes of data arriving
/// in order) are concatenated; a few overlapping ones are folded in age order, each merge
/// copying the newer source's runs and only the older result's overlapping tail; many are
/// sorted once, so the cost stays at O(n log n) however many sources overlap.
pub fn merge_slices(sources: &[&[Point]]) -> Vec<Point> {
    let mut sources: Vec<(usize, &[Point])> = sources
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, s)| !s.is_empty())
        .collect();
    let total = sources.iter().map(|(_, s)| s.len()).sum();
    let mut out = Vec::with_capacity(total);
    sources.sort_by_key(|(_, s)| s[0].ts);
    let disjoint = sources
        .windows(2)
        .all(|w| w[0].1[w[0].1.len() - 1].ts < w[1].1[0].ts);
    if disjoint {
        for (_, s) in sources {
            out.extend_from_slice(s);
        }
        return out;
    }
    if sources.len() <= FOLD_MAX_SOURCES {
        sources.sort_by_key(|(age, _)| *age);
        for (_, s) in sources {
            let keep = out.partition_point(|p: &Point| p.ts < s[0].ts);
            let tail = out.split_off(keep);
            merge_runs(&tail, s, &mut out);
        }
        return out;
    }
    let mut tagged: Vec<(usize, Point)> = Vec::with_capacity(total);
    for (prio, s) in sources {
        tagged.extend(s.iter().map(|&p| (prio, p)));
    }
    // Sort by time, newest source first within a timestamp, then keep the first of each run.
    tagged.sort_by(|a, b| a.1.ts.cmp(&b.1.ts).then(b.0.cmp(&a.0)));
    tagged.dedup_by_key(|(_, p)| p.ts);
    out.extend(tagged.into_iter().map(|(_, p)| p));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::point::Value;

    fn pts(v: &[(i64, i64)]) -> Vec<Point> {
        v.iter()
            .map(|&(t, x)| Point::new(t, Value::I64(x)))
            .collect()
    }

    #[test]
    fn newer_wins_on_equal_timestamps_and_order_is_kept() {
        let got = merge_newer_wins(
            pts(&[(1, 1), (3, 1), (5, 1)]),
            pts(&[(3, 2), (4, 2), (9, 2)]),
        );
        assert_eq!(got, pts(&[(1, 1), (3, 2), (4, 2), (5, 1), (9, 2)]));
    }

    #[test]
    fn many_sources_merge_with_the_newest_winning_whatever_their_order_in_time() {
        let sources = vec![
            pts(&[(5, 1), (6, 1)]),
            pts(&[(1, 2), (2, 2)]),
            pts(&[(2, 3), (6, 3)]),
            vec![],
        ];
        assert_eq!(
            merge_sources(sources),
            pts(&[(1, 2), (2, 3), (5, 1), (6, 3)])
        );
        let disjoint = vec![pts(&[(9, 1)]), pts(&[(1, 2)]), pts(&[(4, 3)])];
        assert_eq!(merge_sources(disjoint), pts(&[(1, 2), (4, 3), (9, 1)]));
    }

    #[test]
    fn disjoint_sources_are_concatenated_in_time_order() {
        assert_eq!(
            merge_newer_wins(pts(&[(5, 1)]), pts(&[(1, 2)])),
            pts(&[(1, 2), (5, 1)])
        );
        assert_eq!(
            merge_newer_wins(pts(&[(1, 1)]), pts(&[(5, 2)])),
            pts(&[(1, 1), (5, 2)])
        );
    }

    /// The reference: a map from timestamp to the newest source's point.
    fn reference(sources: &[Vec<Point>]) -> Vec<Point> {
        let mut m = std::collections::BTreeMap::new();
        for s in sources {
            for p in s {
                m.insert(p.ts, *p);
            }
        }
        m.into_values().collect()
    }

    #[test]
    fn folding_and_sorting_agree_with_the_reference_for_any_overlap() {
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        for case in 0..300 {
            let n_sources = 1 + (case % 14);
            let sources: Vec<Vec<Point>> = (0..n_sources)
                .map(|age| {
                    let start = (next() % 100) as i64;
                    let mut ts = start;
                    let len = next() % 40;
                    (0..len)
                        .map(|_| {
                            ts += 1 + (next() % 5) as i64;
                            Point::new(ts, Value::I64(age as i64))
                        })
                        .collect()
                })
                .collect();
            assert_eq!(
                merge_sources(sources.clone()),
                reference(&sources),
                "case {case}"
            );
        }
    }
}
