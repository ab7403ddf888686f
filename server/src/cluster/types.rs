//! What the Raft group replicates: its type configuration for openraft, the log entry's
//! payload (a `RaftCommand` protobuf: a write, a delete or a metadata update, as the client
//! sent it) and what applying one gives back.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// A node's id in the cluster: given by the operator, stable for the node's life.
pub type NodeId = u64;

/// The payload of a log entry: a `lodestone.v1.RaftCommand`, protobuf-encoded. The log
/// stores the request as the client sent it, so applying it on every node runs the same
/// validation and gives the same result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command(#[serde(with = "serde_bytes_vec")] pub Vec<u8>);

/// What applying one entry gave. A command the engine refuses (a point of the wrong type,
/// metadata over its limits) changes nothing on any node, the same on each, and the leader
/// hands the refusal to the client that asked.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// The gRPC status code and message of the refusal, if the command was refused.
    pub refused: Option<(i32, String)>,
}

/// A snapshot: a folder holding a checkpoint of the engine (see `Engine::checkpoint`), on
/// the node that built or received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotDir(pub PathBuf);

openraft::declare_raft_types!(
    /// Lodestone's Raft group: write commands over nodes with an address each.
    pub TypeConfig:
        D = Command,
        R = Applied,
        NodeId = NodeId,
        Node = openraft::BasicNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = SnapshotDir,
        AsyncRuntime = openraft::TokioRuntime,
);

/// A Raft node of this group.
pub type Raft = openraft::Raft<TypeConfig>;
/// A log id of this group.
pub type LogId = openraft::LogId<NodeId>;
/// The membership as stored with the applied state.
pub type StoredMembership = openraft::StoredMembership<NodeId, openraft::BasicNode>;
/// A snapshot's metadata.
pub type SnapshotMeta = openraft::SnapshotMeta<NodeId, openraft::BasicNode>;
/// The error of every storage call.
pub type StorageError = openraft::StorageError<NodeId>;

/// Bincode with the standard configuration: what Raft messages and stored Raft state are
/// encoded with.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, String> {
    bincode::serde::encode_to_vec(value, bincode::config::standard()).map_err(|e| e.to_string())
}

/// Decodes what [`encode`] wrote; an error names what was wrong, it never panics.
pub fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    let limit = bincode::config::standard().with_limit::<{ 256 << 20 }>();
    bincode::serde::decode_from_slice(bytes, limit)
        .map(|(v, _)| v)
        .map_err(|e| e.to_string())
}

/// Serializes a byte vector as one byte string (not a sequence of numbers).
mod serde_bytes_vec {
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        struct Bytes;
        impl<'de> serde::de::Visitor<'de> for Bytes {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a byte string")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
                Ok(v.to_vec())
            }
            fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
                Ok(v)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Vec<u8>, A::Error> {
                let mut out = Vec::new();
                while let Some(b) = a.next_element()? {
                    out.push(b);
                }
                Ok(out)
            }
        }
        d.deserialize_byte_buf(Bytes)
    }
}
