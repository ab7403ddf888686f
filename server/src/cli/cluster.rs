//! `lodestone cluster status|add|remove`: a node's view of its cluster, and membership
//! changes (sent on to the leader when asked of another node).

use std::io::Write;

use lodestone_proto::v1 as pb;

use super::{block_on, CliError, ServerAddr};

/// The `cluster` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum ClusterCommand {
    /// Print the node's role, term, log positions and every member with its lag.
    Status {
        #[command(flatten)]
        server: ServerAddr,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Add a node (started with --node-id and no --peers): it catches up as a learner,
    /// then votes.
    Add {
        #[command(flatten)]
        server: ServerAddr,
        /// The new node's id.
        #[arg(long)]
        node_id: u64,
        /// The new node's gRPC address, as the other nodes and clients reach it.
        #[arg(long = "node-addr")]
        node_addr: String,
    },
    /// Remove a node from the cluster.
    Remove {
        #[command(flatten)]
        server: ServerAddr,
        /// The node's id.
        #[arg(long)]
        node_id: u64,
    },
}

/// Runs the subcommand.
pub fn run(cmd: ClusterCommand) -> Result<(), CliError> {
    let (status, json) = block_on(async {
        Ok(match &cmd {
            ClusterCommand::Status { server, json } => {
                (server.connect().await?.cluster_status().await?, *json)
            }
            ClusterCommand::Add {
                server,
                node_id,
                node_addr,
            } => (
                server
                    .connect()
                    .await?
                    .add_node(*node_id, node_addr)
                    .await?,
                false,
            ),
            ClusterCommand::Remove { server, node_id } => {
                (server.connect().await?.remove_node(*node_id).await?, false)
            }
        })
    })?;
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", to_json(&status))?;
    } else {
        print_table(&mut out, &status)?;
    }
    out.flush()?;
    Ok(())
}

fn opt(v: Option<u64>) -> String {
    v.map_or_else(|| "-".into(), |v| v.to_string())
}

fn print_table(out: &mut impl Write, s: &pb::ClusterStatusResponse) -> std::io::Result<()> {
    if !s.clustered {
        return writeln!(out, "this server runs alone (not a cluster node)");
    }
    let leader = match s.leader_id {
        Some(l) => format!("node {l} at {}", s.leader_addr),
        None => "none known".into(),
    };
    writeln!(
        out,
        "node {}: {}, term {}, leader {leader}",
        s.node_id, s.role, s.term
    )?;
    writeln!(
        out,
        "log: last {}, committed {}, applied {}, snapshot {}, purged {}; elections seen {}, snapshots installed {}",
        opt(s.last_log_index),
        opt(s.committed_index),
        opt(s.last_applied_index),
        opt(s.snapshot_index),
        opt(s.purged_index),
        s.elections,
        s.snapshots_installed,
    )?;
    writeln!(
        out,
        "{:<6} {:<24} {:<8} {:>10} {:>8}",
        "id", "address", "role", "matched", "lag"
    )?;
    for m in &s.members {
        writeln!(
            out,
            "{:<6} {:<24} {:<8} {:>10} {:>8}",
            m.id,
            m.addr,
            if m.voter { "voter" } else { "learner" },
            opt(m.matched_index),
            opt(m.lag),
        )?;
    }
    Ok(())
}

fn to_json(s: &pb::ClusterStatusResponse) -> serde_json::Value {
    serde_json::json!({
        "clustered": s.clustered,
        "node_id": s.node_id,
        "role": s.role,
        "term": s.term,
        "leader_id": s.leader_id,
        "leader_addr": s.leader_addr,
        "last_log_index": s.last_log_index,
        "committed_index": s.committed_index,
        "last_applied_index": s.last_applied_index,
        "snapshot_index": s.snapshot_index,
        "purged_index": s.purged_index,
        "elections": s.elections,
        "snapshots_installed": s.snapshots_installed,
        "members": s.members.iter().map(|m| serde_json::json!({
            "id": m.id,
            "addr": m.addr,
            "voter": m.voter,
            "matched_index": m.matched_index,
            "lag": m.lag,
        })).collect::<Vec<_>>(),
    })
}
