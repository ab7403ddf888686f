//! The small files the engine rewrites whole (`tombstones`, `metadata`): a 32-byte header
//! with magic, version, body length and two CRCs, then the body. A new version of a file is
//! written as `<name>.tmp`, fsynced, renamed over `<name>`, and the folder fsynced, so a crash
//! at any instant leaves the old file or the new one, never a mix (layout in
//! `engine/FORMAT.md`).
//!
//! ```text
//! header (32): magic (8) | version u32 | flags u32 | body_len u64 | body_crc u32 | crc u32
//! body:        body_len bytes, decoded by the file kind
//! ```

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::checksum::crc32;
use crate::coding::{PutLe, Reader};
use crate::error::{Error, Result};
use crate::fsutil::sync_dir;

/// Size of the header.
pub const HEADER_LEN: usize = 32;
/// Largest body accepted; a larger length field is damage.
pub const MAX_BODY_LEN: u64 = 1 << 30;

/// One kind of whole file: its name in the data folder, magic bytes and newest version.
#[derive(Debug, Clone, Copy)]
pub struct Kind {
    /// File name inside the data folder.
    pub name: &'static str,
    /// Magic bytes at the start of the file.
    pub magic: [u8; 8],
    /// The version this build writes and the newest it reads.
    pub version: u32,
}

impl Kind {
    /// Path of the file in data folder `dir`.
    pub fn path(&self, dir: &Path) -> PathBuf {
        dir.join(self.name)
    }

    fn tmp_path(&self, dir: &Path) -> PathBuf {
        dir.join(format!("{}.tmp", self.name))
    }

    /// Header followed by `body`.
    pub fn encode(&self, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + body.len());
        out.extend_from_slice(&self.magic);
        out.put_u32(self.version);
        out.put_u32(0);
        out.put_u64(body.len() as u64);
        out.put_u32(crc32(body));
        out.put_u32(crc32(&out));
        out.extend_from_slice(body);
        out
    }

    /// Replaces the file in `dir` with one holding `body`: tmp, fsync, rename, fsync folder.
    pub fn write(&self, dir: &Path, body: &[u8]) -> Result<()> {
        let tmp = self.tmp_path(dir);
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&tmp)
            .map_err(|e| Error::io("create", &tmp, e))?;
        file.write_all(&self.encode(body))
            .map_err(|e| Error::io("write", &tmp, e))?;
        file.sync_all().map_err(|e| Error::io("fsync", &tmp, e))?;
        drop(file);
        let path = self.path(dir);
        std::fs::rename(&tmp, &path).map_err(|e| Error::io("rename", &tmp, e))?;
        sync_dir(dir)
    }

    /// Removes a `<name>.tmp` left by a crash during [`Kind::write`]; the file it was to
    /// replace is still whole.
    pub fn remove_leftover(&self, dir: &Path) -> Result<()> {
        let tmp = self.tmp_path(dir);
        match std::fs::remove_file(&tmp) {
            Ok(()) => {
                tracing::info!(file = %tmp.display(), "removing unfinished file left by a crash");
                sync_dir(dir)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io("remove", &tmp, e)),
        }
    }

    /// Reads and checks the file in `dir`; `Ok(None)` when it does not exist (nothing was
    /// ever written). Returns the version found and the body. Every failed check is an error
    /// naming the file and offset; a newer version is [`Error::UnsupportedVersion`].
    pub fn read(&self, dir: &Path) -> Result<Option<(u32, Vec<u8>)>> {
        let path = self.path(dir);
        let buf = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("read", &path, e)),
        };
        let bad = |offset: usize, what: &str| Error::corrupt(&path, offset as u64, what);
        let Some(header) = buf.get(..HEADER_LEN) else {
            return Err(bad(0, "file shorter than its header"));
        };
        let mut r = Reader::new(header);
        let short = |_| bad(0, "file shorter than its header");
        if r.bytes(8).map_err(short)? != self.magic {
            return Err(bad(0, "wrong magic in file header"));
        }
        let version = r.u32().map_err(short)?;
        let _flags = r.u32().map_err(short)?;
        let body_len = r.u64().map_err(short)?;
        let body_crc = r.u32().map_err(short)?;
        let crc = r.u32().map_err(short)?;
        if crc != crc32(&header[..HEADER_LEN - 4]) {
            return Err(bad(0, "file header checksum mismatch"));
        }
        if version == 0 || version > self.version {
            return Err(Error::UnsupportedVersion {
                path,
                version,
                supported: self.version,
            });
        }
        if body_len > MAX_BODY_LEN || HEADER_LEN as u64 + body_len != buf.len() as u64 {
            return Err(bad(0, "body length in the header does not match the file"));
        }
        let body = &buf[HEADER_LEN..];
        if crc32(body) != body_crc {
            return Err(bad(HEADER_LEN, "body checksum mismatch"));
        }
        Ok(Some((version, body.to_vec())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KIND: Kind = Kind {
        name: "thing",
        magic: *b"LDSTTEST",
        version: 1,
    };

    #[test]
    fn a_written_file_reads_back_and_a_missing_one_is_none() {
        let dir = tempfile::tempdir().unwrap();
        assert!(KIND.read(dir.path()).unwrap().is_none());
        KIND.write(dir.path(), b"hello").unwrap();
        assert_eq!(KIND.read(dir.path()).unwrap(), Some((1, b"hello".to_vec())));
        KIND.write(dir.path(), b"").unwrap();
        assert_eq!(KIND.read(dir.path()).unwrap(), Some((1, Vec::new())));
    }

    #[test]
    fn every_flipped_byte_and_every_cut_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let good = KIND.encode(b"some body bytes");
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x10;
            std::fs::write(KIND.path(dir.path()), &bad).unwrap();
            let e = KIND.read(dir.path()).unwrap_err().to_string();
            assert!(e.contains("thing"), "byte {i}: {e}");
        }
        for cut in 0..good.len() {
            std::fs::write(KIND.path(dir.path()), &good[..cut]).unwrap();
            assert!(KIND.read(dir.path()).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn a_newer_version_is_refused_as_unsupported() {
        let dir = tempfile::tempdir().unwrap();
        let newer = Kind { version: 9, ..KIND };
        newer.write(dir.path(), b"x").unwrap();
        let e = KIND.read(dir.path()).unwrap_err();
        assert!(
            matches!(e, Error::UnsupportedVersion { version: 9, .. }),
            "{e}"
        );
    }
}
