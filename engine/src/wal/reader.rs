//! Reading one WAL file and telling a torn tail (cut it) from damage (report it).
//!
//! A crash can leave the end of the newest file incomplete: a record cut short, a record whose
//! bytes never reached the disk, or zeros. None of those records was acknowledged in the
//! fsync-before-ack mode, so they are cut. Anything wrong that is followed by a valid record
//! cannot come from a crash: that is damage, and reading stops with an error naming the file
//! and offset.

use std::path::{Path, PathBuf};

use super::record::{
    decode_record, parse_file_header, parse_frame, Frame, HeaderError, Record, FILE_HEADER_LEN,
    RECORD_HEADER_LEN,
};
use crate::error::{Error, Result};

/// What was found at the end of a WAL file.
#[derive(Debug, PartialEq, Eq)]
pub enum Tail {
    /// The file ends exactly after its last valid record.
    Clean,
    /// Bytes after the last valid record must be cut; `offset` is where valid data ends.
    Torn {
        /// Length of the intact prefix.
        offset: u64,
        /// Why the rest was not a record.
        reason: &'static str,
    },
    /// The file header itself never reached the disk intact; the file holds nothing.
    NoHeader,
}

/// The decoded contents of one WAL file.
#[derive(Debug)]
pub struct WalFile {
    /// The file read.
    pub path: PathBuf,
    /// Its sequence number (from the name).
    pub seq: u64,
    /// Its records, in order.
    pub records: Vec<Record>,
    /// How it ends.
    pub tail: Tail,
}

/// Reads and checks WAL file `path`. `is_last` says whether it is the newest file, the only
/// one a crash can leave torn.
pub fn read_file(path: &Path, seq: u64, is_last: bool) -> Result<WalFile> {
    let buf = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
    let damaged = |offset: usize, what: String| Error::corrupt(path, offset as u64, what);
    let mut out = WalFile {
        path: path.to_path_buf(),
        seq,
        records: Vec::new(),
        tail: Tail::Clean,
    };

    match parse_file_header(&buf) {
        Ok(found) if found == seq => {}
        Ok(found) => {
            return Err(damaged(
                0,
                format!("header names WAL file {found}, expected {seq}"),
            ));
        }
        Err(HeaderError::Version(v)) => {
            return Err(Error::UnsupportedVersion {
                path: path.to_path_buf(),
                version: v,
                supported: super::record::VERSION,
            })
        }
        Err(e) => {
            let reason = match e {
                HeaderError::Bad(r) => r,
                _ => "file shorter than its header",
            };
            if is_last && find_valid_record(&buf, 0).is_none() {
                out.tail = Tail::NoHeader;
                return Ok(out);
            }
            return Err(damaged(0, reason.to_string()));
        }
    }

    let mut pos = FILE_HEADER_LEN;
    while pos < buf.len() {
        let reason = match parse_frame(&buf[pos..]) {
            Frame::Record(payload, len) => match decode_record(payload) {
                Ok(rec) => {
                    out.records.push(rec);
                    pos += len;
                    continue;
                }
                Err(what) => return Err(damaged(pos, format!("checksum-valid record: {what}"))),
            },
            Frame::Short => "record cut short",
            Frame::Bad(r) => r,
        };
        if let Some(next) = find_valid_record(&buf, pos + 1) {
            return Err(damaged(
                pos,
                format!("{reason}, followed by a valid record at offset {next}"),
            ));
        }
        if !is_last {
            return Err(damaged(
                pos,
                format!("{reason} in a WAL file that is not the newest"),
            ));
        }
        out.tail = Tail::Torn {
            offset: pos as u64,
            reason,
        };
        return Ok(out);
    }
    Ok(out)
}

/// Offset of the first checksum-valid record starting at or after `from`, if any.
fn find_valid_record(buf: &[u8], from: usize) -> Option<usize> {
    let last_start = buf.len().checked_sub(RECORD_HEADER_LEN)?;
    (from..=last_start).find(|&o| matches!(parse_frame(&buf[o..]), Frame::Record(..)))
}
