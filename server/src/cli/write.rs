//! `lodestone write`: one point, acknowledged once durable.

use lodestone_proto::v1 as pb;

use super::{block_on, time, CliError, ServerAddr};
use crate::grpc::convert::key_to_proto;
use crate::series_text;

/// Flags of `lodestone write`.
#[derive(Debug, clap::Args)]
pub struct WriteArgs {
    #[command(flatten)]
    server: ServerAddr,
    /// The series, e.g. 'temperature{site="p1",line="l04"}'.
    #[arg(long)]
    series: String,
    /// The value, typed as in InfluxDB line protocol: 21.5 (float), 42i (integer),
    /// true/false (boolean).
    #[arg(long, value_parser = parse_value, allow_hyphen_values = true)]
    value: pb::point::Value,
    /// Timestamp: nanoseconds since the epoch, `now`, or UTC RFC 3339.
    #[arg(long, default_value = "now", value_parser = time::parse, allow_hyphen_values = true)]
    ts: i64,
    /// OPC UA quality code, decimal or 0x hex (0 = good).
    #[arg(long, default_value = "0", value_parser = parse_quality)]
    quality: u32,
}

/// Writes the point.
pub fn run(args: WriteArgs) -> Result<(), CliError> {
    let key = series_text::parse(&args.series)?;
    let point = pb::Point::with_quality(args.ts, args.value, args.quality);
    let batch = pb::WriteRequest::new(1).add(key_to_proto(&key), vec![point]);
    block_on(async {
        let client = args.server.connect().await?;
        client.write(batch).await?;
        Ok(())
    })?;
    println!("wrote 1 point to {key} at {}", time::format(args.ts));
    Ok(())
}

/// A value in line-protocol style: `42i` integer, `true`/`false` boolean, else float.
pub(super) fn parse_value(s: &str) -> Result<pb::point::Value, String> {
    match s {
        "true" => return Ok(true.into()),
        "false" => return Ok(false.into()),
        _ => {}
    }
    if let Some(int) = s.strip_suffix('i') {
        return int
            .parse::<i64>()
            .map(Into::into)
            .map_err(|e| format!("integer {int:?}: {e}"));
    }
    s.parse::<f64>().map(Into::into).map_err(|_| {
        format!("{s:?} is not a value: write 21.5 (float), 42i (integer) or true/false")
    })
}

/// A quality code in decimal or `0x` hexadecimal.
pub(super) fn parse_quality(s: &str) -> Result<u32, String> {
    let parsed = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16),
        None => s.parse(),
    };
    parsed.map_err(|e| format!("quality {s:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_typed_as_in_line_protocol() {
        use pb::point::Value;
        assert_eq!(parse_value("21.5"), Ok(Value::F64(21.5)));
        assert_eq!(parse_value("42"), Ok(Value::F64(42.0)));
        assert_eq!(parse_value("-42i"), Ok(Value::I64(-42)));
        assert_eq!(parse_value("true"), Ok(Value::Bool(true)));
        assert!(matches!(parse_value("NaN"), Ok(Value::F64(v)) if v.is_nan()));
        assert!(parse_value("4.2i").unwrap_err().contains("integer"));
        assert!(parse_value("warm").unwrap_err().contains("42i (integer)"));
    }

    #[test]
    fn quality_is_decimal_or_hex() {
        assert_eq!(parse_quality("0x80000000"), Ok(0x8000_0000));
        assert_eq!(parse_quality("7"), Ok(7));
        assert!(parse_quality("0x1_0000_0000").is_err());
    }
}
