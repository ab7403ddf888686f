//! The durability mode as written on the command line and in the config file.

use std::str::FromStr;

use lodestone_engine::Durability;

use super::units::parse_duration;

/// A durability mode as written: `sync`, `interval:<duration>` (`interval:100ms`; a bare
/// number is milliseconds) or `none`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct DurabilityArg(pub Durability);

/// Why a durability setting was not understood.
#[derive(Debug, thiserror::Error)]
#[error("durability {0:?} is not one of: sync, interval:<duration> (e.g. interval:100ms), none")]
pub struct BadDurability(String);

impl FromStr for DurabilityArg {
    type Err = BadDurability;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let d = match s {
            "sync" => Durability::SyncEachBatch,
            "none" => Durability::None,
            _ => {
                let every = s
                    .strip_prefix("interval:")
                    .and_then(|d| parse_duration(d).ok())
                    .filter(|d| !d.is_zero())
                    .ok_or_else(|| BadDurability(s.to_string()))?;
                Durability::Interval(every)
            }
        };
        Ok(DurabilityArg(d))
    }
}

impl TryFrom<String> for DurabilityArg {
    type Error = BadDurability;

    fn try_from(s: String) -> Result<Self, BadDurability> {
        s.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn durability_modes_parse_and_bad_ones_say_what_is_allowed() {
        let parse = |s: &str| s.parse::<DurabilityArg>().map(|d| d.0);
        assert_eq!(parse("sync").unwrap(), Durability::SyncEachBatch);
        assert_eq!(parse("none").unwrap(), Durability::None);
        let quarter = Durability::Interval(Duration::from_millis(250));
        assert_eq!(parse("interval:250").unwrap(), quarter);
        assert_eq!(parse("interval:250ms").unwrap(), quarter);
        assert_eq!(
            parse("interval:1s").unwrap(),
            Durability::Interval(Duration::from_secs(1))
        );
        let e = parse("interval:0").unwrap_err().to_string();
        assert!(e.contains("sync, interval:<duration>"), "{e}");
        assert!(parse("fast").is_err());
    }
}
