//! Series metadata: the unit and description a plant engineer gives a series, beside the
//! value type the series is declared or first written with.
//!
//! Metadata is set through the WAL like a write (so it is durable under the same mode) and
//! kept in the `metadata` file once the WAL records that set it are deleted by a flush.

pub mod file;

use crate::coding::{PutLe, Reader, Short};

/// Longest unit, in bytes of UTF-8.
pub const MAX_UNIT_LEN: usize = 64;
/// Longest description, in bytes of UTF-8.
pub const MAX_DESCRIPTION_LEN: usize = 1024;

/// Descriptive metadata of one series.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeriesMetadata {
    /// Engineering unit, e.g. `degC` or `m3/h`; at most [`MAX_UNIT_LEN`] bytes, no control
    /// characters. Empty when not given.
    pub unit: String,
    /// Free text; at most [`MAX_DESCRIPTION_LEN`] bytes, no control characters other than
    /// newline and tab. Empty when not given.
    pub description: String,
}

impl SeriesMetadata {
    /// Metadata with a unit and a description.
    pub fn new(unit: impl Into<String>, description: impl Into<String>) -> SeriesMetadata {
        SeriesMetadata {
            unit: unit.into(),
            description: description.into(),
        }
    }

    /// Checks the limits; the error names the field and the limit.
    pub fn validate(&self) -> Result<(), String> {
        if self.unit.len() > MAX_UNIT_LEN {
            return Err(format!(
                "unit is {} bytes, at most {MAX_UNIT_LEN} allowed",
                self.unit.len()
            ));
        }
        if let Some(c) = self.unit.chars().find(|c| c.is_control()) {
            return Err(format!("unit contains control character {c:?}"));
        }
        if self.description.len() > MAX_DESCRIPTION_LEN {
            return Err(format!(
                "description is {} bytes, at most {MAX_DESCRIPTION_LEN} allowed",
                self.description.len()
            ));
        }
        if let Some(c) = self
            .description
            .chars()
            .find(|c| c.is_control() && *c != '\n' && *c != '\t')
        {
            return Err(format!("description contains control character {c:?}"));
        }
        Ok(())
    }

    /// Appends the binary form used in WAL records and the metadata file:
    /// `unit_len u16 | unit | description_len u16 | description`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        for s in [&self.unit, &self.description] {
            out.put_u16(s.len() as u16);
            out.extend_from_slice(s.as_bytes());
        }
    }

    /// Reads the form written by [`SeriesMetadata::encode`] and checks the limits.
    /// `Err(None)` means the input ended early; `Err(Some(reason))` means wrong bytes.
    pub fn decode(r: &mut Reader<'_>) -> Result<SeriesMetadata, Option<String>> {
        let mut text = || -> Result<String, Option<String>> {
            let n = r.u16().map_err(|Short| None)? as usize;
            let b = r.bytes(n).map_err(|Short| None)?;
            String::from_utf8(b.to_vec()).map_err(|_| Some("metadata text is not UTF-8".into()))
        };
        let unit = text()?;
        let description = text()?;
        let m = SeriesMetadata { unit, description };
        m.validate().map_err(Some)?;
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_named_in_the_error() {
        assert!(SeriesMetadata::new("m³/h", "Feed flow\nline 4")
            .validate()
            .is_ok());
        let e = SeriesMetadata::new("x".repeat(65), "")
            .validate()
            .unwrap_err();
        assert_eq!(e, "unit is 65 bytes, at most 64 allowed");
        let e = SeriesMetadata::new("", "d".repeat(1025))
            .validate()
            .unwrap_err();
        assert_eq!(e, "description is 1025 bytes, at most 1024 allowed");
        assert!(SeriesMetadata::new("a\nb", "").validate().is_err());
        assert!(SeriesMetadata::new("", "a\u{7}").validate().is_err());
    }

    #[test]
    fn binary_form_round_trips_and_short_input_is_told_apart() {
        let m = SeriesMetadata::new("degC", "Reactor 2 jacket temperature");
        let mut buf = Vec::new();
        m.encode(&mut buf);
        assert_eq!(SeriesMetadata::decode(&mut Reader::new(&buf)).unwrap(), m);
        for cut in 0..buf.len() {
            assert_eq!(
                SeriesMetadata::decode(&mut Reader::new(&buf[..cut])),
                Err(None)
            );
        }
    }
}
