//! The deterministic plant data set of `shared/bench/gen_plant.py`, loaded for benchmarks.

use std::path::{Path, PathBuf};
use std::process::Command;

/// One parsed line-protocol point of the plant data set.
#[derive(Debug, Clone, PartialEq)]
pub struct PlantPoint {
    /// Measurement name (the signal kind: temperature, pressure, ...).
    pub measurement: String,
    /// Tags in the order written (`site=..,line=..,asset=..`).
    pub tags: String,
    /// Nanosecond timestamp.
    pub ts: i64,
    /// The value: `Ok(f64)` for floats, `Err(i64)` for `i`-suffixed integers.
    pub value: Result<f64, i64>,
}

/// Path of the generator script, beside the checkout (`../shared/bench/gen_plant.py`).
pub fn generator() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/bench/gen_plant.py")
}

/// Generates (once, cached under `target/bench-data/`) and returns the data set for `assets`
/// assets over `seconds` seconds.
pub fn load(assets: u32, seconds: u32) -> std::io::Result<Vec<PlantPoint>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&dir)?;
    let file = dir.join(format!("plant-{assets}x{seconds}.lp"));
    if !file.exists() {
        let out = Command::new("python3")
            .arg(generator())
            .args([
                "--assets",
                &assets.to_string(),
                "--seconds",
                &seconds.to_string(),
            ])
            .output()?;
        if !out.status.success() {
            return Err(std::io::Error::other(
                String::from_utf8_lossy(&out.stderr).into_owned(),
            ));
        }
        let tmp = file.with_extension("tmp");
        std::fs::write(&tmp, &out.stdout)?;
        std::fs::rename(&tmp, &file)?;
    }
    let text = std::fs::read_to_string(&file)?;
    Ok(text.lines().filter_map(parse_line).collect())
}

/// Parses `measurement,tags value=X[i] ts`; `None` for anything else.
pub fn parse_line(line: &str) -> Option<PlantPoint> {
    let mut parts = line.split(' ');
    let series = parts.next()?;
    let field = parts.next()?.strip_prefix("value=")?;
    let ts = parts.next()?.parse().ok()?;
    let (measurement, tags) = series.split_once(',').unwrap_or((series, ""));
    let value = match field.strip_suffix('i') {
        Some(int) => Err(int.parse().ok()?),
        None => Ok(field.parse().ok()?),
    };
    Some(PlantPoint {
        measurement: measurement.into(),
        tags: tags.into(),
        ts,
        value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_float_and_integer_lines() {
        let p =
            parse_line("temperature,site=p1,line=l01,asset=a0000 value=21.4 1767225600000000000")
                .unwrap();
        assert_eq!(p.measurement, "temperature");
        assert_eq!(p.value, Ok(21.4));
        let p = parse_line("motor_state,site=p1 value=2i 5").unwrap();
        assert_eq!((p.value, p.ts), (Err(2), 5));
        assert!(parse_line("garbage").is_none());
    }
}
