//! The Raft log on disk: segment files of CRC-checked records, one record per entry.
//!
//! ```text
//! raft/log/<index of its first entry, 20 digits>.log
//! file:   magic "LDSRAFTL" (8) │ version u32 = 1 │ reserved u32 = 0 │ records
//! record: len u32 │ crc u32 │ index u64 │ entry (len − 8 bytes, bincode)
//!         crc = CRC-32 (IEEE) of index and entry; integers little-endian
//! ```
//! Appends are written and fsynced before openraft is told they are durable. On open every
//! record is checked: a record cut short or failing its CRC at the very end of the newest
//! file is a torn write and is cut off; anything wrong before that (a bad record followed by
//! more bytes, an index out of sequence, an entry that does not decode) is an error naming
//! the file and offset, never a silent drop. Truncating (a follower's conflicting suffix)
//! cuts the file and deletes newer ones; purging deletes whole files whose entries all lie
//! in the purged prefix.
//!
//! Entries are read back from the files (a small cache keeps the newest, which replication
//! reads most), so the log costs memory for its index only.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use lodestone_engine::checksum::crc32;

use super::types::{decode, encode, LogId, TypeConfig};

/// An entry of the log.
pub type Entry = openraft::Entry<TypeConfig>;

const MAGIC: &[u8; 8] = b"LDSRAFTL";
const VERSION: u32 = 1;
const FILE_HEADER_LEN: u64 = 16;
const RECORD_HEADER_LEN: usize = 16;
/// A new file is started once the newest passes this size.
const SEGMENT_BYTES: u64 = 64 << 20;
/// Largest record accepted when reading; a larger length is damage.
const MAX_RECORD_BYTES: u32 = 256 << 20;
/// Newest entries kept decoded in memory.
const CACHE_ENTRIES: usize = 1024;

/// Where one entry is.
#[derive(Debug, Clone, Copy)]
struct Loc {
    log_id: LogId,
    /// First index of its file.
    file: u64,
    offset: u64,
    len: u32,
}

/// The log's files and the index of their entries.
#[derive(Debug)]
pub struct LogFile {
    dir: PathBuf,
    /// First index of each file, oldest first, with its size.
    files: BTreeMap<u64, u64>,
    /// The newest file, open for appending, and its first index.
    active: Option<(u64, File)>,
    index: BTreeMap<u64, Loc>,
    cache: BTreeMap<u64, Arc<Entry>>,
}

fn bad_data(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

fn file_name(first: u64) -> String {
    format!("{first:020}.log")
}

fn parse_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".log")?;
    (digits.len() == 20).then(|| digits.parse().ok()).flatten()
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

impl LogFile {
    /// Opens (creating if needed) the log in `dir`, checking every record.
    pub fn open(dir: &Path) -> io::Result<LogFile> {
        std::fs::create_dir_all(dir)?;
        let mut firsts = Vec::new();
        for e in std::fs::read_dir(dir)? {
            let e = e?;
            if let Some(first) = e.file_name().to_str().and_then(parse_name) {
                firsts.push(first);
            }
        }
        firsts.sort_unstable();
        let mut log = LogFile {
            dir: dir.to_path_buf(),
            files: BTreeMap::new(),
            active: None,
            index: BTreeMap::new(),
            cache: BTreeMap::new(),
        };
        let count = firsts.len();
        for (i, first) in firsts.into_iter().enumerate() {
            let newest = i + 1 == count;
            let len = log.scan(first, newest)?;
            log.files.insert(first, len);
        }
        if let Some((&first, _)) = log.files.iter().next_back() {
            let path = dir.join(file_name(first));
            let f = OpenOptions::new().append(true).open(&path)?;
            log.active = Some((first, f));
        }
        Ok(log)
    }

    /// Reads the records of one file into the index; returns the length of its valid part
    /// (the newest file is cut there when its tail is torn).
    fn scan(&mut self, first: u64, newest: bool) -> io::Result<u64> {
        let path = self.dir.join(file_name(first));
        let mut buf = Vec::new();
        File::open(&path)?.read_to_end(&mut buf)?;
        let name = path.display();
        if buf.len() < FILE_HEADER_LEN as usize {
            if newest {
                // Created, but the header never made it: start the file again.
                write_header(&path)?;
                return Ok(FILE_HEADER_LEN);
            }
            return Err(bad_data(format!("{name}: shorter than its header")));
        }
        if &buf[..8] != MAGIC {
            return Err(bad_data(format!(
                "{name}: not a Raft log file (wrong magic)"
            )));
        }
        let version = u32::from_le_bytes([buf[8], buf[9], buf[10], buf[11]]);
        if version != VERSION {
            return Err(bad_data(format!(
                "{name}: Raft log format version {version}; this build reads {VERSION}"
            )));
        }
        let mut pos = FILE_HEADER_LEN as usize;
        let mut expected = self.index.keys().next_back().map(|&i| i + 1);
        while pos < buf.len() {
            let at = pos;
            let torn = |what: &str| -> io::Result<u64> {
                if newest {
                    tracing::warn!(file = %name, offset = at, "cutting a torn Raft log tail: {what}");
                    let f = OpenOptions::new().write(true).open(&path)?;
                    f.set_len(at as u64)?;
                    f.sync_all()?;
                    Ok(at as u64)
                } else {
                    Err(bad_data(format!("{name} at offset {at}: {what}")))
                }
            };
            let Some(header) = buf.get(pos..pos + RECORD_HEADER_LEN) else {
                return torn("record header cut short");
            };
            let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
            let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
            if !(8..=MAX_RECORD_BYTES).contains(&len) {
                // Zeros to the end are space the file system gave a write that never landed.
                if buf[pos..].iter().all(|&b| b == 0) {
                    return torn("zeros where a record should be");
                }
                return Err(bad_data(format!(
                    "{name} at offset {at}: record length {len}"
                )));
            }
            let end = pos + 8 + len as usize;
            let Some(body) = buf.get(pos + 8..end) else {
                return torn("record cut short");
            };
            if crc32(body) != crc {
                if end == buf.len() {
                    return torn("last record fails its checksum");
                }
                return Err(bad_data(format!(
                    "{name} at offset {at}: record fails its checksum"
                )));
            }
            let index = u64::from_le_bytes([
                body[0], body[1], body[2], body[3], body[4], body[5], body[6], body[7],
            ]);
            if expected.is_some_and(|e| e != index) {
                return Err(bad_data(format!(
                    "{name} at offset {at}: entry {index} where {} was expected",
                    expected.unwrap_or(0)
                )));
            }
            let entry: Entry = decode(&body[8..])
                .map_err(|e| bad_data(format!("{name} at offset {at}: entry {index}: {e}")))?;
            if entry.log_id.index != index {
                return Err(bad_data(format!(
                    "{name} at offset {at}: record {index} holds entry {}",
                    entry.log_id.index
                )));
            }
            self.index.insert(
                index,
                Loc {
                    log_id: entry.log_id,
                    file: first,
                    offset: at as u64,
                    len: len + 8,
                },
            );
            expected = Some(index + 1);
            pos = end;
        }
        Ok(buf.len() as u64)
    }

    /// The id of the newest entry, if any.
    pub fn last(&self) -> Option<LogId> {
        self.index.values().next_back().map(|l| l.log_id)
    }

    /// Appends `entries` (consecutive, following the newest) and fsyncs them.
    pub fn append(&mut self, entries: &[Entry]) -> io::Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let first = entries[0].log_id.index;
        let needs_file = match &self.active {
            None => true,
            Some((f, _)) => self.files.get(f).copied().unwrap_or(0) >= SEGMENT_BYTES,
        };
        if needs_file {
            self.start_file(first)?;
        }
        let Some((active_first, file)) = &mut self.active else {
            return Err(bad_data("no Raft log file open".into()));
        };
        let active_first = *active_first;
        let mut offset = self
            .files
            .get(&active_first)
            .copied()
            .unwrap_or(FILE_HEADER_LEN);
        let mut out = Vec::new();
        let mut locs = Vec::with_capacity(entries.len());
        for e in entries {
            let body = encode(e).map_err(bad_data)?;
            let mut rec = Vec::with_capacity(8 + body.len());
            rec.extend_from_slice(&e.log_id.index.to_le_bytes());
            rec.extend_from_slice(&body);
            let len = u32::try_from(rec.len())
                .ok()
                .filter(|&l| l <= MAX_RECORD_BYTES)
                .ok_or_else(|| bad_data(format!("entry {} is too large", e.log_id.index)))?;
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(&crc32(&rec).to_le_bytes());
            out.extend_from_slice(&rec);
            locs.push(Loc {
                log_id: e.log_id,
                file: active_first,
                offset,
                len: len + 8,
            });
            offset += 8 + len as u64;
        }
        file.write_all(&out)?;
        file.sync_data()?;
        self.files.insert(active_first, offset);
        for (loc, e) in locs.into_iter().zip(entries) {
            self.index.insert(loc.log_id.index, loc);
            self.cache.insert(loc.log_id.index, Arc::new(e.clone()));
        }
        while self.cache.len() > CACHE_ENTRIES {
            self.cache.pop_first();
        }
        Ok(())
    }

    fn start_file(&mut self, first: u64) -> io::Result<()> {
        let path = self.dir.join(file_name(first));
        write_header(&path)?;
        sync_dir(&self.dir)?;
        let f = OpenOptions::new().append(true).open(&path)?;
        self.files.insert(first, FILE_HEADER_LEN);
        self.active = Some((first, f));
        Ok(())
    }

    /// The entries with indexes in `start..end`, oldest first, stopping early (but never
    /// before the first) once `max_bytes` are read.
    pub fn read(&mut self, start: u64, end: u64, max_bytes: usize) -> io::Result<Vec<Entry>> {
        let locs: Vec<Loc> = self.index.range(start..end).map(|(_, l)| *l).collect();
        let mut out = Vec::with_capacity(locs.len());
        let mut bytes = 0usize;
        let mut open: Option<(u64, File)> = None;
        for loc in locs {
            if !out.is_empty() && bytes >= max_bytes {
                break;
            }
            bytes += loc.len as usize;
            if let Some(e) = self.cache.get(&loc.log_id.index) {
                out.push((**e).clone());
                continue;
            }
            if open.as_ref().is_none_or(|(f, _)| *f != loc.file) {
                let path = self.dir.join(file_name(loc.file));
                open = Some((loc.file, File::open(path)?));
            }
            let Some((_, f)) = &mut open else { continue };
            f.seek(SeekFrom::Start(loc.offset + RECORD_HEADER_LEN as u64))?;
            let mut body = vec![0u8; loc.len as usize - RECORD_HEADER_LEN];
            f.read_exact(&mut body)?;
            let entry: Entry = decode(&body).map_err(|e| {
                bad_data(format!(
                    "{} at offset {}: entry {}: {e}",
                    file_name(loc.file),
                    loc.offset,
                    loc.log_id.index
                ))
            })?;
            out.push(entry);
        }
        Ok(out)
    }

    /// Deletes the entries from index `from` on, durably.
    pub fn truncate(&mut self, from: u64) -> io::Result<()> {
        let Some(loc) = self.index.get(&from).copied() else {
            return Ok(());
        };
        // Newer files go entirely; the one holding `from` is cut there.
        let newer: Vec<u64> = self.files.range(loc.file + 1..).map(|(&f, _)| f).collect();
        self.active = None;
        for f in newer {
            std::fs::remove_file(self.dir.join(file_name(f)))?;
            self.files.remove(&f);
        }
        let path = self.dir.join(file_name(loc.file));
        let f = OpenOptions::new().append(true).open(&path)?;
        f.set_len(loc.offset)?;
        f.sync_all()?;
        sync_dir(&self.dir)?;
        self.files.insert(loc.file, loc.offset);
        self.active = Some((loc.file, f));
        self.index.split_off(&from);
        self.cache.split_off(&from);
        Ok(())
    }

    /// Forgets the entries up to index `upto` and deletes the files holding only those.
    pub fn purge(&mut self, upto: u64) -> io::Result<()> {
        let keep = self.index.split_off(&(upto + 1));
        self.index = keep;
        let keep = self.cache.split_off(&(upto + 1));
        self.cache = keep;
        let active = self.active.as_ref().map(|(f, _)| *f);
        let firsts: Vec<u64> = self.files.keys().copied().collect();
        let mut removed = false;
        for pair in firsts.windows(2) {
            // Every entry of a file comes before the next file's first.
            let (f, next) = (pair[0], pair[1]);
            if next <= upto + 1 && Some(f) != active {
                std::fs::remove_file(self.dir.join(file_name(f)))?;
                self.files.remove(&f);
                removed = true;
            }
        }
        if removed {
            sync_dir(&self.dir)?;
        }
        Ok(())
    }
}

fn write_header(path: &Path) -> io::Result<()> {
    let mut f = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(path)?;
    let mut h = Vec::with_capacity(FILE_HEADER_LEN as usize);
    h.extend_from_slice(MAGIC);
    h.extend_from_slice(&VERSION.to_le_bytes());
    h.extend_from_slice(&0u32.to_le_bytes());
    f.write_all(&h)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::types::Command;
    use openraft::{CommittedLeaderId, EntryPayload};

    fn entry(index: u64) -> Entry {
        Entry {
            log_id: LogId::new(CommittedLeaderId::new(1, 1), index),
            payload: EntryPayload::Normal(Command(vec![index as u8; 100])),
        }
    }

    fn indexes(log: &mut LogFile) -> Vec<u64> {
        log.read(0, u64::MAX, usize::MAX)
            .unwrap()
            .iter()
            .map(|e| e.log_id.index)
            .collect()
    }

    fn only_file(dir: &Path) -> PathBuf {
        dir.join(file_name(1))
    }

    #[test]
    fn entries_survive_a_reopen_and_read_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = LogFile::open(dir.path()).unwrap();
        log.append(&(1..=50).map(entry).collect::<Vec<_>>())
            .unwrap();
        log.append(&[entry(51)]).unwrap();
        drop(log);
        let mut log = LogFile::open(dir.path()).unwrap();
        assert_eq!(indexes(&mut log), (1..=51).collect::<Vec<_>>());
        assert_eq!(log.last().unwrap().index, 51);
        let some = log.read(10, 20, usize::MAX).unwrap();
        assert_eq!(some.first().unwrap(), &entry(10));
        assert_eq!(some.len(), 10);
        // A byte budget stops early, but never before the first entry.
        assert_eq!(log.read(10, 20, 1).unwrap().len(), 1);
    }

    #[test]
    fn a_torn_tail_is_cut_and_damage_before_it_is_an_error_naming_file_and_offset() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = LogFile::open(dir.path()).unwrap();
        log.append(&(1..=10).map(entry).collect::<Vec<_>>())
            .unwrap();
        drop(log);
        let path = only_file(dir.path());
        let whole = std::fs::read(&path).unwrap();
        // Cut anywhere inside the last record: the nine before it stay.
        for cut in [whole.len() - 1, whole.len() - 50, whole.len() - 120] {
            std::fs::write(&path, &whole[..cut]).unwrap();
            let mut log = LogFile::open(dir.path()).unwrap();
            assert_eq!(
                indexes(&mut log),
                (1..=9).collect::<Vec<_>>(),
                "cut at {cut}"
            );
            drop(log);
            std::fs::write(&path, &whole).unwrap();
        }
        // Zeros after the last record (space a write never filled) are cut too.
        let mut zeros = whole.clone();
        zeros.extend([0u8; 40]);
        std::fs::write(&path, &zeros).unwrap();
        assert_eq!(indexes(&mut LogFile::open(dir.path()).unwrap()).len(), 10);
        // A flipped byte in the third record, with records after it: an error.
        let mut bad = whole.clone();
        bad[FILE_HEADER_LEN as usize + 2 * 132 + 40] ^= 0x55;
        std::fs::write(&path, &bad).unwrap();
        let e = LogFile::open(dir.path()).unwrap_err().to_string();
        assert!(e.contains(&file_name(1)) && e.contains("offset"), "{e}");
        // A wrong magic: not a Raft log file.
        let mut foreign = whole.clone();
        foreign[0] = b'X';
        std::fs::write(&path, &foreign).unwrap();
        let e = LogFile::open(dir.path()).unwrap_err().to_string();
        assert!(e.contains("magic"), "{e}");
    }

    #[test]
    fn truncate_and_purge_leave_no_hole() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = LogFile::open(dir.path()).unwrap();
        log.append(&(1..=20).map(entry).collect::<Vec<_>>())
            .unwrap();
        log.truncate(15).unwrap();
        assert_eq!(log.last().unwrap().index, 14);
        log.append(&[entry(15), entry(16)]).unwrap();
        log.purge(5).unwrap();
        drop(log);
        let mut log = LogFile::open(dir.path()).unwrap();
        // The purged entries are still in the file; the store drops them with `purge`.
        log.purge(5).unwrap();
        assert_eq!(indexes(&mut log), (6..=16).collect::<Vec<_>>());
    }
}
