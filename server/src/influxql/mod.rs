//! The InfluxDB v1-compatible `/query` endpoint: an InfluxQL subset, run over the engine,
//! answered in InfluxDB's JSON, so that dashboards and scripts written for InfluxDB 1.x read
//! Lodestone unchanged. The HTTP layer calls [`respond`] for `GET` and `POST /query`.
//!
//! Pipeline: [`http`] (parameters) → [`lex`] and [`parse`] (text → [`ast`]) → [`plan`]
//! (catalog, time range from [`cond`], result series) → [`exec`] ([`select_raw`],
//! [`select_agg`] with [`summaries`] or [`aggregate`], and [`fill`]; schema listings in
//! [`show`]) → [`result`] tables → [`json`].
//!
//! # What works
//! - `SELECT field[, ...]` (raw points) or `SELECT f(field) [AS name][, ...]` with `mean`,
//!   `min`, `max`, `count`, `sum`, `first`, `last`; `FROM m`, `"m"`, `"db"."rp"."m"`,
//!   `/regex/`, several sources.
//! - Series mapping (DESIGN.md): field `value` of measurement `m` is the series `m`; any other
//!   field `f` is the series `m.f`; tags are labels. A regex source matches series names for
//!   `value` (so a series `m.f` is also the measurement `m.f` with field `value`).
//! - `WHERE` with tag conditions (`=`, `!=`, `<>`, `=~ /re/`, `!~ /re/`, combined with
//!   `AND`, `OR` and parentheses; a missing tag reads as `''`) and time bounds (`>=`, `>`,
//!   `<`, `<=`, `=`; integer nanoseconds, `now() - 1h`, `'2026-01-01T00:00:00Z'`,
//!   `'2026-01-01 08:00:00'`, `'2026-01-01'`, `±hh:mm` zones), combined with `AND`.
//! - `GROUP BY time(d[, offset])` with d in `ns`, `u`/`µ`, `ms`, `s`, `m`, `h`, `d`, `w`
//!   (windows aligned to epoch multiples; the time column is the window start); `GROUP BY *`
//!   and `GROUP BY tag, ...`; `fill(null)` (default; `count` shows 0), `fill(none)`,
//!   `fill(previous)`, `fill(linear)`, `fill(<number>)`.
//! - `ORDER BY time [ASC|DESC]`, `LIMIT`, `OFFSET`, `SLIMIT`, `SOFFSET`, `tz('UTC')`.
//! - `CREATE DATABASE x` (success, nothing to do), `SHOW DATABASES` (one: `lodestone`),
//!   `SHOW MEASUREMENTS [LIMIT n] [OFFSET n]` (the distinct series names), and what
//!   Grafana's query editor asks: `SHOW TAG KEYS`, `SHOW TAG VALUES ... WITH KEY = k | IN
//!   (..)`, `SHOW FIELD KEYS` (each measurement has the field `value`), `SHOW SERIES`, each
//!   with an optional `FROM` list of names and `/regex/`es (no `WHERE`) and `LIMIT n` /
//!   `OFFSET n` (of the one list of `SHOW SERIES`, of each measurement's rows for the
//!   others, as InfluxDB 1.x counts them); the series are chosen through the engine's series
//!   index ([`show`]).
//! - Statements separated by `;`; the first failing one stops the rest (`not executed`).
//!
//! # Semantics worth knowing
//! - `db` and `rp` are accepted and ignored: Lodestone keeps one database.
//! - Raw selects without time bounds read all time; `GROUP BY time` needs a lower bound (the
//!   upper defaults to `now()`), as in InfluxDB.
//! - Aggregates use good-quality points only (DESIGN.md) and skip NaN readings, as the
//!   engine's aggregates do; raw selects return every point.
//! - `GROUP BY time` aggregates come from the engine's window summaries, so whole segment
//!   chunks are answered from their index without decoding; integer series beyond ±2^53,
//!   columns mixing value types, and queries without `GROUP BY time` fold the points. Float
//!   sums and means may differ between the two in the last bits (addition order).
//! - NaN and ±infinity print as `null` (JSON has no such numbers); other floats print in the
//!   shortest form that parses back to the same bits.
//! - Result series without any point in the range are left out, as InfluxDB does.
//!
//! # Limits
//! - No field-value conditions (`WHERE value > 5`), no arithmetic in the select list, no
//!   `SELECT *`, no subqueries, no `INTO`; functions other than the seven above are a
//!   statement error naming them. Bound parameters (`params`) and `chunked` streaming are not
//!   supported (the answer is one JSON document).
//! - At most [`select_agg::MAX_WINDOWS`] windows per result series unless `fill(none)`.

pub mod aggregate;
pub mod ast;
pub mod cond;
pub mod exec;
pub mod fill;
pub mod http;
pub mod json;
pub mod lex;
pub mod parse;
pub mod plan;
pub mod result;
pub mod select_agg;
pub mod select_raw;
pub mod show;
pub mod summaries;
pub mod time;

#[cfg(test)]
mod parse_tests;

pub use http::respond;
