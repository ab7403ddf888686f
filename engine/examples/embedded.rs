//! Embedding the engine in a gateway process: open a local data folder, write readings as
//! they arrive, query them back, close.
//!
//! Run: `cargo run -p lodestone-engine --example embedded [DATA_DIR]`

use std::time::{SystemTime, UNIX_EPOCH};

use lodestone_engine::{Engine, Options, Point, Quality, SeriesKey, Value, WriteBatch};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "gateway-buffer".into());
    // Defaults: fsync before every acknowledgement (group-committed), 64 MiB head.
    let engine = Engine::open(&dir, Options::default())?;

    let temperature = SeriesKey::new("temperature", [("site", "p1"), ("asset", "a0003")])?;
    let motor = SeriesKey::new("motor_state", [("site", "p1"), ("asset", "a0003")])?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos() as i64;
    let second = 1_000_000_000;

    // One batch per polling cycle: all series of that cycle land atomically.
    for cycle in 0..60 {
        let ts = now + cycle * second;
        let mut batch = WriteBatch::new();
        batch.push(
            &temperature,
            Point::new(ts, Value::F64(21.4 + cycle as f64 * 0.1)),
        );
        let quality = if cycle == 30 {
            Quality::UNCERTAIN
        } else {
            Quality::GOOD
        };
        batch.push(&motor, Point::with_quality(ts, Value::I64(1), quality));
        engine.write(&batch)?; // returns once durable
    }

    let last_10s = engine.read_range(&temperature, now + 50 * second, now + 60 * second)?;
    println!("last 10 s of {temperature}: {} points", last_10s.len());
    for p in &last_10s {
        println!("  {} {}", p.ts, p.value);
    }
    if let Some(latest) = engine.latest(&motor)? {
        println!(
            "latest {motor}: {} at {} (quality {:#010x})",
            latest.value, latest.ts, latest.quality.0
        );
    }
    for s in engine.list_series() {
        println!("series {} ({})", s.key, s.value_type);
    }
    println!("{:?}", engine.stats());
    engine.close()?; // flushes the head into a segment file; the next open replays nothing
    Ok(())
}
