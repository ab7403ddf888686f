//! Applying one command of the log to the engine, the same on every node.
//!
//! A command is the client's request as it came (`RaftCommand`); it goes through the same
//! conversion and engine calls as on a single node, so a request the engine refuses is
//! refused on every node alike and changes nothing. What must not differ between nodes is
//! whether a command takes effect: a refusal that depends on this node's moment (its head
//! is full) is waited out rather than returned, and an error of the storage itself stops
//! the node rather than letting it skip what the others applied.

use std::time::Duration;

use lodestone_engine::Engine;
use lodestone_proto::v1 as pb;
use prost::Message;
use tonic::{Code, Status};

use super::types::Applied;
use crate::grpc::convert::batch_from_proto;
use crate::grpc::series_admin;
use crate::grpc::status::{is_final_refusal, to_status};

/// How long applying waits before trying again a command refused for overload.
const OVERLOAD_RETRY: Duration = Duration::from_millis(20);

/// Runs the encoded command `bytes` against `engine`. `Err` means this node cannot go on
/// (its storage failed, or the log holds bytes no build could have written).
pub async fn execute(engine: &std::sync::Arc<Engine>, bytes: &[u8]) -> Result<Applied, String> {
    let cmd =
        pb::RaftCommand::decode(bytes).map_err(|e| format!("a log entry is not a command: {e}"))?;
    let Some(command) = cmd.command else {
        return Err("a log entry holds an empty command".into());
    };
    loop {
        let done = match &command {
            pb::raft_command::Command::Write(req) => write(engine, req).await,
            pb::raft_command::Command::Delete(req) => {
                series_admin::delete(engine, req.clone()).await.map(drop)
            }
            pb::raft_command::Command::PutMetadata(req) => {
                series_admin::put_metadata(engine.clone(), req.clone())
                    .await
                    .map(drop)
            }
        };
        match done {
            Ok(()) => return Ok(Applied::default()),
            Err(s) if s.code() == Code::ResourceExhausted && !is_final_refusal(&s) => {
                tokio::time::sleep(OVERLOAD_RETRY).await;
            }
            Err(s) if refusal(s.code()) || is_final_refusal(&s) => {
                return Ok(Applied {
                    refused: Some((s.code() as i32, s.message().to_string())),
                })
            }
            Err(s) => return Err(format!("applying a command failed: {}", s.message())),
        }
    }
}

/// Codes that say the request itself was wrong for the state it met: the same on every
/// node.
fn refusal(code: Code) -> bool {
    matches!(
        code,
        Code::InvalidArgument | Code::NotFound | Code::FailedPrecondition | Code::OutOfRange
    )
}

async fn write(engine: &Engine, req: &pb::WriteRequest) -> Result<(), Status> {
    let batch = batch_from_proto(req)?;
    engine.write_async(&batch).await.map_err(to_status)
}

/// The status a refusal recorded by [`execute`] stands for.
pub fn refusal_status(applied: &Applied) -> Option<Status> {
    applied.refused.as_ref().map(|(code, message)| {
        let code = Code::from_i32(*code);
        let mut s = Status::new(code, message.clone());
        // The one refusal recorded with this code is the series limit.
        if code == Code::ResourceExhausted {
            s.metadata_mut().insert(
                crate::grpc::status::REFUSAL_KEY,
                tonic::metadata::MetadataValue::from_static(crate::grpc::status::SERIES_LIMIT),
            );
        }
        s
    })
}
