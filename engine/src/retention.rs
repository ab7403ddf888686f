//! Retention: how long each tier of a series is kept. Rules are tried in order and the
//! first whose selector matches a series applies; a series no rule matches, and a tier a
//! rule does not name, is kept forever. Data is dropped a whole time partition at a time,
//! once the partition's newest possible timestamp is older than the TTL, so nothing younger
//! than its TTL is ever dropped.

use std::time::Duration;

use crate::segment::RAW;
use crate::select::Selector;
use crate::series::SeriesKey;

/// How long the points and rollup buckets of some series are kept.
#[derive(Debug, Clone)]
pub struct RetentionRule {
    /// The series the rule applies to.
    pub series: Selector,
    /// How long raw points are kept; `None`: forever.
    pub raw: Option<Duration>,
    /// How long the buckets of each tier (by bucket width) are kept; `None`: forever.
    /// Tiers not listed are kept forever.
    pub tiers: Vec<(Duration, Option<Duration>)>,
}

fn nanos(d: Duration) -> i64 {
    d.as_nanos().min(i64::MAX as u128) as i64
}

/// The TTL in nanoseconds of tier `tier` ([`RAW`] or a bucket width) of `key`, or `None`
/// when it is kept forever.
pub fn ttl(rules: &[RetentionRule], key: &SeriesKey, tier: i64) -> Option<i64> {
    let rule = rules.iter().find(|r| r.series.matches(key))?;
    if tier == RAW {
        return rule.raw.map(nanos);
    }
    let (_, ttl) = rule.tiers.iter().find(|(w, _)| nanos(*w) == tier)?;
    ttl.map(nanos)
}

/// True when the data of `key` in tier `tier` and the partition ending at `last_ts` may be
/// dropped at time `now`: every timestamp the partition can hold is older than the TTL.
pub fn expired(
    rules: &[RetentionRule],
    key: &SeriesKey,
    tier: i64,
    last_ts: i64,
    now: i64,
) -> bool {
    ttl(rules, key, tier).is_some_and(|ttl| (last_ts as i128) < now as i128 - ttl as i128)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::select::{Matcher, Pattern};

    #[test]
    fn the_first_matching_rule_decides_and_unnamed_tiers_are_kept() {
        const DAY: Duration = Duration::from_secs(86_400);
        let glob = |g: &str| Selector {
            name: Matcher::Matches(Pattern::glob(g).unwrap()),
            labels: Vec::new(),
        };
        let rules = vec![
            RetentionRule {
                series: glob("vib*"),
                raw: Some(DAY),
                tiers: vec![(Duration::from_secs(3600), Some(30 * DAY))],
            },
            RetentionRule {
                series: glob("*"),
                raw: Some(10 * DAY),
                tiers: Vec::new(),
            },
        ];
        let vib = SeriesKey::from_name("vibration").unwrap();
        let temp = SeriesKey::from_name("temperature").unwrap();
        let d = nanos(DAY);
        assert_eq!(ttl(&rules, &vib, RAW), Some(d));
        assert_eq!(ttl(&rules, &temp, RAW), Some(10 * d));
        assert_eq!(ttl(&rules, &vib, 3600 * 1_000_000_000), Some(30 * d));
        assert_eq!(ttl(&rules, &vib, 60 * 1_000_000_000), None);
        assert_eq!(ttl(&[], &vib, RAW), None);
        // A partition whose last instant is exactly one TTL old is kept.
        let now = 100 * d;
        assert!(!expired(&rules, &vib, RAW, now - d, now));
        assert!(expired(&rules, &vib, RAW, now - d - 1, now));
        assert!(!expired(&rules, &vib, RAW, i64::MAX, i64::MIN));
    }
}
