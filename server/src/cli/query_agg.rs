//! `lodestone query --agg F --step D`: one aggregate per window of one series, or of every
//! series a selector matches, through the `Aggregate` RPC, as a table, CSV or JSON lines.

use std::io::Write;

use lodestone_proto::v1 as pb;

use super::table::{self, Format};
use super::{block_on, CliError, ServerAddr};
use crate::settings::units::parse_duration;

/// The aggregate flags of `lodestone query`.
#[derive(Debug, Clone, clap::Args)]
pub struct AggArgs {
    /// Print one aggregate per window of --step instead of the points (needs --step and
    /// --start; --end defaults to now).
    #[arg(long, value_enum, requires = "step", requires = "start")]
    pub agg: Option<AggName>,
    /// Window length for --agg: a whole number with a unit: ms, s, m, h or d (10s, 5m, 1h).
    #[arg(long, value_parser = parse_step, requires = "agg")]
    pub step: Option<i64>,
    /// What windows without a value show with --agg: none (left out; the default), null
    /// (shown without a value), previous (the last value), linear (interpolated).
    #[arg(long, value_enum, requires = "agg")]
    pub fill: Option<FillName>,
    /// Which points --agg uses: good (the default), uncertain (good or uncertain), all.
    #[arg(long, value_enum, requires = "agg")]
    pub quality: Option<QualityName>,
}

/// The aggregates `--agg` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AggName {
    /// Points used.
    Count,
    /// Sum of their values.
    Sum,
    /// Smallest value.
    Min,
    /// Largest value.
    Max,
    /// Arithmetic mean.
    Mean,
    /// Value of the earliest point.
    First,
    /// Value of the latest point.
    Last,
    /// Sample standard deviation.
    Stddev,
    /// Time-weighted average (each value holds until the next point).
    Twa,
    /// Value at the window's start: the last point at or before it.
    Previous,
    /// Value at the window's start, interpolated between the points around it.
    Linear,
}

/// The fills `--fill` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FillName {
    /// Windows without a value are left out.
    None,
    /// They are shown without a value.
    Null,
    /// They repeat the last window's value.
    Previous,
    /// They are interpolated between the windows around them.
    Linear,
}

/// The quality filters `--quality` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum QualityName {
    /// Good points.
    Good,
    /// Good and uncertain points.
    Uncertain,
    /// Every point.
    All,
}

/// A step: like a settings duration, but the unit is required, since a bare number would be
/// read as milliseconds where times on this command line are nanoseconds.
pub fn parse_step(s: &str) -> Result<i64, String> {
    if s.trim().bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "step {s:?} needs a unit: ms, s, m, h or d (e.g. 10s, 1h)"
        ));
    }
    let d = parse_duration(s)?;
    i64::try_from(d.as_nanos()).map_err(|_| format!("step {s:?} is too long"))
}

impl AggArgs {
    /// The request for `selection` over `[start, end)`, or `None` without `--agg`.
    pub fn request(
        &self,
        selection: pb::aggregate_request::Selection,
        start: i64,
        end: i64,
    ) -> Option<pb::AggregateRequest> {
        let agg = self.agg?;
        let aggregate = match agg {
            AggName::Count => pb::AggregateFunction::Count,
            AggName::Sum => pb::AggregateFunction::Sum,
            AggName::Min => pb::AggregateFunction::Min,
            AggName::Max => pb::AggregateFunction::Max,
            AggName::Mean => pb::AggregateFunction::Mean,
            AggName::First => pb::AggregateFunction::First,
            AggName::Last => pb::AggregateFunction::Last,
            AggName::Stddev => pb::AggregateFunction::Stddev,
            AggName::Twa => pb::AggregateFunction::TimeWeighted,
            AggName::Previous => pb::AggregateFunction::InterpolatePrevious,
            AggName::Linear => pb::AggregateFunction::InterpolateLinear,
        };
        let fill = match self.fill.unwrap_or(FillName::None) {
            FillName::None => pb::Fill::None,
            FillName::Null => pb::Fill::Null,
            FillName::Previous => pb::Fill::Previous,
            FillName::Linear => pb::Fill::Linear,
        };
        let quality = match self.quality.unwrap_or(QualityName::Good) {
            QualityName::Good => pb::QualityFilter::Good,
            QualityName::Uncertain => pb::QualityFilter::GoodOrUncertain,
            QualityName::All => pb::QualityFilter::All,
        };
        let req = pb::AggregateRequest {
            selection: Some(selection),
            start_ns: start,
            end_ns: end,
            // clap requires --step with --agg; 0 would be refused by the server, naming it.
            step_ns: self.step.unwrap_or(0),
            aggregate: aggregate as i32,
            fill: fill as i32,
            quality: quality as i32,
            // The client's setting (`--stale-ok`) is applied when the request is sent.
            stale_ok: false,
        };
        Some(req)
    }
}

/// Prints the windows of `req`.
pub fn run(server: &ServerAddr, req: pb::AggregateRequest, format: Format) -> Result<(), CliError> {
    let answer = block_on(async {
        let client = server.connect().await?;
        Ok(client.aggregate(req).await?)
    })?;
    let mut out = std::io::stdout().lock();
    table::windows_as(&mut out, format, &answer)?;
    out.flush()?;
    let windows: usize = answer.iter().map(|s| s.windows.len()).sum();
    eprintln!("{windows} windows of {} series", answer.len());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_need_a_unit_and_become_nanoseconds() {
        assert_eq!(parse_step("1s"), Ok(1_000_000_000));
        assert_eq!(parse_step("250ms"), Ok(250_000_000));
        assert_eq!(parse_step("1h"), Ok(3_600_000_000_000));
        assert_eq!(parse_step("1d"), Ok(86_400_000_000_000));
        assert!(parse_step("60").unwrap_err().contains("needs a unit"));
        assert!(parse_step("1w").unwrap_err().contains("unknown unit"));
        assert!(parse_step("999999999d").unwrap_err().contains("too long"));
    }
}
