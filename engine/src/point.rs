//! Points: a timestamp, a typed value and an OPC UA-style quality code.

use std::fmt;

/// The type of the values a series holds. One series keeps one type for life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum ValueType {
    /// 64-bit IEEE 754 float; every bit pattern (NaN payloads, -0.0) is kept.
    F64 = 1,
    /// 64-bit signed integer (counters, states).
    I64 = 2,
    /// Boolean (digital inputs).
    Bool = 3,
}

impl ValueType {
    /// The one-byte code used on disk.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// Parses the on-disk code; `None` for an unknown code.
    pub fn from_code(code: u8) -> Option<ValueType> {
        match code {
            1 => Some(ValueType::F64),
            2 => Some(ValueType::I64),
            3 => Some(ValueType::Bool),
            _ => None,
        }
    }

    /// Lower-case name, as shown to users ("f64", "i64", "bool").
    pub fn name(self) -> &'static str {
        match self {
            ValueType::F64 => "f64",
            ValueType::I64 => "i64",
            ValueType::Bool => "bool",
        }
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A typed sample value.
///
/// Equality is bit-exact for floats (`NaN == NaN` when the payloads match, `0.0 != -0.0`),
/// because a historian must give back exactly what it was given.
#[derive(Debug, Clone, Copy)]
pub enum Value {
    /// A float reading.
    F64(f64),
    /// An integer reading.
    I64(i64),
    /// A boolean reading.
    Bool(bool),
}

impl Value {
    /// The type of this value.
    pub fn value_type(&self) -> ValueType {
        match self {
            Value::F64(_) => ValueType::F64,
            Value::I64(_) => ValueType::I64,
            Value::Bool(_) => ValueType::Bool,
        }
    }

    /// The value as 64 raw bits (float bits, integer bits, 0/1), the form the codecs use.
    pub fn to_bits(&self) -> u64 {
        match *self {
            Value::F64(v) => v.to_bits(),
            Value::I64(v) => v as u64,
            Value::Bool(v) => v as u64,
        }
    }

    /// Rebuilds a value of type `vt` from its raw bits (see [`Value::to_bits`]).
    pub fn from_bits(vt: ValueType, bits: u64) -> Value {
        match vt {
            ValueType::F64 => Value::F64(f64::from_bits(bits)),
            ValueType::I64 => Value::I64(bits as i64),
            ValueType::Bool => Value::Bool(bits != 0),
        }
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        self.value_type() == other.value_type() && self.to_bits() == other.to_bits()
    }
}

impl Eq for Value {}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::F64(v) => write!(f, "{v}"),
            Value::I64(v) => write!(f, "{v}"),
            Value::Bool(v) => write!(f, "{v}"),
        }
    }
}

/// OPC UA-style status code of a reading. The top two bits give the severity:
/// `00` good, `01` uncertain, `10` bad; the rest is the sub-code. Zero is plain good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Quality(pub u32);

impl Quality {
    /// Plain good (OPC UA `Good`, 0x00000000).
    pub const GOOD: Quality = Quality(0);
    /// Plain uncertain (OPC UA `Uncertain`, 0x40000000).
    pub const UNCERTAIN: Quality = Quality(0x4000_0000);
    /// Plain bad (OPC UA `Bad`, 0x80000000).
    pub const BAD: Quality = Quality(0x8000_0000);

    /// True when the severity is good.
    pub fn is_good(self) -> bool {
        self.0 >> 30 == 0
    }

    /// True when the severity is uncertain.
    pub fn is_uncertain(self) -> bool {
        self.0 >> 30 == 1
    }

    /// True when the severity is bad.
    pub fn is_bad(self) -> bool {
        self.0 >> 31 == 1
    }
}

/// One reading of one series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Point {
    /// Nanoseconds since the Unix epoch (any `i64`, before 1970 included).
    pub ts: i64,
    /// The reading.
    pub value: Value,
    /// Its status; [`Quality::GOOD`] unless the source said otherwise.
    pub quality: Quality,
}

impl Point {
    /// A good-quality point.
    pub fn new(ts: i64, value: Value) -> Point {
        Point {
            ts,
            value,
            quality: Quality::GOOD,
        }
    }

    /// A point with an explicit quality.
    pub fn with_quality(ts: i64, value: Value, quality: Quality) -> Point {
        Point { ts, value, quality }
    }
}
