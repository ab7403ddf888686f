//! Decoding a packed chunk into [`Columns`]: the timestamps in one loop (none read at all on
//! a regular clock), the values in another, each coding's loop chosen once per chunk. The
//! checks are those of the row decoder ([`super::decode_into`]): every stream must end
//! where its values do.

use super::super::columns::Columns;
use super::super::error::CodecError;
use super::super::quality::QualityRuns;
use super::readers::{self, Ints, Splits, ValueReader, Xors};
use super::time::TimeReader;
use super::{read_header, Header, ValueCoding};
use crate::point::{Value, ValueType};

/// Decodes the packed chunk `bytes` into `cols` (emptied first). On error the columns are
/// left empty.
pub fn decode(bytes: &[u8], cols: &mut Columns) -> Result<(ValueType, u32), CodecError> {
    let h = read_header(bytes).inspect_err(|_| cols.clear())?;
    // Every value slot is written below: only slots beyond the old length are zeroed.
    let values = std::mem::take(&mut cols.values);
    cols.clear();
    cols.values = values;
    cols.values.truncate(h.count as usize);
    cols.values.resize(h.count as usize, 0.0);
    let decoded = decode_sections(bytes, h, cols);
    if decoded.is_err() {
        cols.clear();
    }
    decoded?;
    Ok((h.value_type, h.count))
}

fn decode_sections(bytes: &[u8], h: Header, cols: &mut Columns) -> Result<(), CodecError> {
    let n = h.count as usize;
    let mut pos = h.body;
    cols.nan_free = true;
    if n > 0 {
        let mut times = TimeReader::new(bytes, &mut pos, n, h.plan.time)?;
        decode_times(&mut times, n, &mut cols.ts);
        let out = &mut cols.values[..];
        match h.plan.value {
            ValueCoding::Int => {
                let (order, first) = readers::int_header(bytes, &mut pos)?;
                if h.value_type == ValueType::Bool {
                    let mut wide = false;
                    int_column(bytes, &mut pos, n, order, first, out, |v| {
                        wide |= v as u64 > 1;
                        v as f64
                    })?;
                    if wide {
                        return Err(CodecError::Invalid {
                            what: "value section",
                            detail: "boolean other than 0 or 1".into(),
                        });
                    }
                } else {
                    int_column(bytes, &mut pos, n, order, first, out, |v| v as f64)?;
                }
            }
            ValueCoding::Decimal => {
                let (p10, exceptions) = readers::decimal_header(bytes, &mut pos, n)?;
                let (order, first) = readers::int_header(bytes, &mut pos)?;
                // The integers over the scale: a value is one IEEE division away, exactly as
                // the encoder checked. Exceptions hold other bits: then divide now.
                int_column(bytes, &mut pos, n, order, first, out, |v| v as f64)?;
                cols.scale = p10;
                if !exceptions.is_empty() {
                    cols.divide();
                    for (i, b) in exceptions {
                        cols.values[i] = f64::from_bits(b);
                        cols.nan_free &= !cols.values[i].is_nan();
                    }
                }
            }
            ValueCoding::Split => {
                cols.nan_free = false;
                float_column(Splits::new(bytes, &mut pos, n)?, out)?;
            }
            ValueCoding::Xor => {
                cols.nan_free = false;
                float_column(Xors::new(bytes, &mut pos)?, out)?;
            }
        }
        times.finish()?;
    }
    cols.quality = QualityRuns::decode(bytes.get(pos..).unwrap_or(&[]), h.count)?;
    Ok(())
}

/// The `n` timestamps of `times`, appended to `ts`.
fn decode_times(times: &mut TimeReader<'_>, n: usize, ts: &mut Vec<i64>) {
    let t0 = times.first();
    match times.regular_step() {
        Some(step) => {
            let mut t = t0;
            ts.extend((0..n).map(|_| {
                let now = t;
                t = t.wrapping_add(step);
                now
            }));
        }
        None => {
            ts.push(t0);
            ts.extend((1..n).map(|_| times.next_ts()));
        }
    }
}

/// The integers of an Int section (its `order` and `first` value read) through `map`
/// into `out`, monomorphized per order; checks the section.
fn int_column(
    bytes: &[u8],
    pos: &mut usize,
    n: usize,
    order: u8,
    first: i64,
    out: &mut [f64],
    map: impl FnMut(i64) -> f64,
) -> Result<(), CodecError> {
    match order {
        0 => {
            let mut ints = Ints::<0>::new(bytes, pos, n, first)?;
            ints.decode_all(out, map);
            ints.finish_ints()
        }
        1 => {
            let mut ints = Ints::<1>::new(bytes, pos, n, first)?;
            ints.decode_all(out, map);
            ints.finish_ints()
        }
        _ => {
            let mut ints = Ints::<2>::new(bytes, pos, n, first)?;
            ints.decode_all(out, map);
            ints.finish_ints()
        }
    }
}

/// The floats of a Split or Xor section into `out`; checks the section.
fn float_column<V: ValueReader>(mut values: V, out: &mut [f64]) -> Result<(), CodecError> {
    let as_f64 = |v: Value| match v {
        Value::F64(x) => x,
        _ => f64::NAN,
    };
    if let Some((head, rest)) = out.split_first_mut() {
        *head = as_f64(values.first());
        for slot in rest {
            *slot = as_f64(values.next_value());
        }
    }
    values.finish()
}
