//! `lodestone meta get|put`: a series' unit, description and value type. `put --type`
//! declares a series before its first point, so that a tag can be registered with its unit
//! when it is commissioned.

use lodestone_client::ValueType;
use lodestone_proto::v1 as pb;

use super::{block_on, CliError, ServerAddr};
use crate::grpc::convert::key_to_proto;
use crate::series_text;

/// `lodestone meta` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum MetaCommand {
    /// Print a series' type, unit and description.
    Get(GetArgs),
    /// Set a series' unit and description (and declare it with --type if it is new).
    Put(PutArgs),
}

/// Flags of `lodestone meta get`.
#[derive(Debug, clap::Args)]
pub struct GetArgs {
    #[command(flatten)]
    server: ServerAddr,
    /// The series, e.g. 'temperature{site="p1"}'.
    #[arg(long)]
    series: String,
}

/// Flags of `lodestone meta put`.
#[derive(Debug, clap::Args)]
pub struct PutArgs {
    #[command(flatten)]
    server: ServerAddr,
    /// The series, e.g. 'temperature{site="p1"}'.
    #[arg(long)]
    series: String,
    /// Engineering unit, e.g. degC, bar, m3/h (at most 64 bytes).
    #[arg(long, default_value = "")]
    unit: String,
    /// What the series measures (at most 1024 bytes).
    #[arg(long, default_value = "")]
    description: String,
    /// Declare the series with this type if it does not exist yet: f64, i64 or bool.
    #[arg(long = "type", value_parser = parse_type)]
    value_type: Option<ValueType>,
}

fn parse_type(s: &str) -> Result<ValueType, String> {
    match s {
        "f64" | "float" => Ok(ValueType::F64),
        "i64" | "int" | "integer" => Ok(ValueType::I64),
        "bool" | "boolean" => Ok(ValueType::Bool),
        other => Err(format!("unknown type {other:?}: use f64, i64 or bool")),
    }
}

fn type_name(t: i32) -> &'static str {
    match ValueType::try_from(t) {
        Ok(ValueType::F64) => "f64",
        Ok(ValueType::I64) => "i64",
        Ok(ValueType::Bool) => "bool",
        _ => "unspecified",
    }
}

/// Runs `meta get` or `meta put` and prints the stored metadata.
pub fn run(cmd: MetaCommand) -> Result<(), CliError> {
    let (key, unit, description, value_type) = match cmd {
        MetaCommand::Get(a) => {
            let key = series_text::parse(&a.series)?;
            let got = block_on(async {
                let client = a.server.connect().await?;
                Ok(client.get_metadata(key_to_proto(&key)).await?)
            })?;
            (key, got.unit, got.description, got.value_type)
        }
        MetaCommand::Put(a) => {
            let key = series_text::parse(&a.series)?;
            let req = pb::PutSeriesMetadataRequest {
                series: Some(key_to_proto(&key)),
                value_type: a.value_type.map_or(0, |t| t as i32),
                unit: a.unit,
                description: a.description,
            };
            let got = block_on(async {
                let client = a.server.connect().await?;
                Ok(client.put_metadata(req).await?)
            })?;
            (key, got.unit, got.description, got.value_type)
        }
    };
    println!("series:      {key}");
    println!("type:        {}", type_name(value_type));
    println!("unit:        {unit}");
    println!("description: {description}");
    Ok(())
}
