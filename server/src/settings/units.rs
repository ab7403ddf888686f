//! Human units in settings: sizes like `64MiB` and durations like `250ms` or `2h`, so that a
//! config file says what it means without counting zeros.

use std::fmt;
use std::time::Duration;

/// A size in bytes, written `4096`, `512KiB`, `64MiB`, `1GiB` (binary) or `100KB`, `1MB`
/// (decimal); a bare number is bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "SizeText")]
pub struct ByteSize(pub u64);

/// A size as it appears in TOML: an integer (bytes) or a string with a unit.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum SizeText {
    Bytes(u64),
    Text(String),
}

impl TryFrom<SizeText> for ByteSize {
    type Error = String;

    fn try_from(t: SizeText) -> Result<Self, String> {
        match t {
            SizeText::Bytes(n) => Ok(ByteSize(n)),
            SizeText::Text(s) => parse_size(&s).map(ByteSize),
        }
    }
}

impl ByteSize {
    /// The size as a `usize`, saturating on 32-bit machines.
    pub fn as_usize(self) -> usize {
        usize::try_from(self.0).unwrap_or(usize::MAX)
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bytes", self.0)
    }
}

/// Parses `64MiB`, `100KB`, `4096` (bytes) and the like; spaces before the unit are allowed.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let (number, unit) = split_unit(s);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("size {s:?} is not a whole number with a unit like 64MiB"))?;
    let scale: u64 = match unit {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "TiB" => 1 << 40,
        "KB" | "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "TB" => 1_000_000_000_000,
        _ => {
            return Err(format!(
                "size {s:?}: unknown unit {unit:?} (use B, KiB, MiB, GiB, TiB, KB, MB, GB, TB)"
            ))
        }
    };
    n.checked_mul(scale)
        .ok_or_else(|| format!("size {s:?} is too large"))
}

/// Parses `250ms`, `10s`, `5m`, `2h`, `1d`; a bare number is milliseconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let (number, unit) = split_unit(s);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("duration {s:?} is not a whole number with a unit like 250ms"))?;
    let ms_per: u64 = match unit {
        "" | "ms" => 1,
        "s" => 1_000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => {
            return Err(format!(
                "duration {s:?}: unknown unit {unit:?} (use ms, s, m, h, d)"
            ))
        }
    };
    n.checked_mul(ms_per)
        .map(Duration::from_millis)
        .ok_or_else(|| format!("duration {s:?} is too long"))
}

/// An age after which data counts as cold, written like a duration (`7d`) or `never`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct Age(pub Option<Duration>);

impl TryFrom<String> for Age {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        if s.trim() == "never" {
            return Ok(Age(None));
        }
        parse_duration(&s)
            .map(|d| Age(Some(d)))
            .map_err(|e| format!("{e}, or never"))
    }
}

/// A positive length of time written like a duration (`1m`, `1h`, `1d`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct Span(pub Duration);

impl TryFrom<String> for Span {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        match parse_duration(&s)? {
            d if d.is_zero() => Err(format!("duration {s:?} must be longer than zero")),
            d => Ok(Span(d)),
        }
    }
}

fn split_unit(s: &str) -> (&str, &str) {
    let s = s.trim();
    let at = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    (&s[..at], s[at..].trim_start())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_binary_and_decimal_units() {
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("16 KiB"), Ok(16 << 10));
        assert_eq!(parse_size("100KB"), Ok(100_000));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("64mb").unwrap_err().contains("unknown unit"));
        assert!(parse_size("1.5GiB").unwrap_err().contains("unknown unit"));
        assert!(parse_size("MiB").unwrap_err().contains("whole number"));
        assert!(parse_size("99999999999TiB")
            .unwrap_err()
            .contains("too large"));
    }

    #[test]
    fn durations_take_units_and_default_to_milliseconds() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("250"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert!(parse_duration("2 weeks")
            .unwrap_err()
            .contains("unknown unit"));
    }
}
