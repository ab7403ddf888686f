//! The statements the parser produces: InfluxQL as written, before it meets the catalog.

/// One statement of a `/query` request.
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// `SELECT ...`.
    Select(Box<Select>),
    /// `CREATE DATABASE name`: accepted and answered with success, since Lodestone keeps one
    /// database.
    CreateDatabase(String),
    /// `SHOW DATABASES`: lists the one database.
    ShowDatabases,
    /// `SHOW MEASUREMENTS [LIMIT n] [OFFSET n]`.
    ShowMeasurements {
        /// At most this many names (0: all).
        limit: u64,
        /// Skip this many first.
        offset: u64,
    },
    /// `SHOW TAG KEYS [FROM sources]`, `SHOW TAG VALUES [FROM sources] WITH KEY = k` (or
    /// `IN (k1, k2)`), `SHOW FIELD KEYS [FROM sources]`, `SHOW SERIES [FROM sources]`, each
    /// with an optional `LIMIT n` and `OFFSET n`: what Grafana's query editor asks to offer
    /// measurements, tags and fields.
    ShowSchema {
        /// Which listing.
        what: SchemaListing,
        /// The measurements it covers; empty: all.
        sources: Vec<Source>,
        /// At most this many rows (0: all): of the one result of `SHOW SERIES`, of each
        /// measurement's result for the others, as in InfluxDB 1.x.
        limit: u64,
        /// Skip this many rows first, counted as `limit` is.
        offset: u64,
    },
}

/// The listings of [`Statement::ShowSchema`].
#[derive(Debug, Clone, PartialEq)]
pub enum SchemaListing {
    /// Tag keys per measurement.
    TagKeys,
    /// Values of these tag keys per measurement.
    TagValues(Vec<String>),
    /// Field keys and types per measurement.
    FieldKeys,
    /// Series keys in line-protocol form (`m,tag=v,...`).
    Series,
}

/// A `SELECT` statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Select {
    /// The select list, in order.
    pub fields: Vec<Field>,
    /// The `FROM` sources.
    pub sources: Vec<Source>,
    /// The `WHERE` condition, if any.
    pub condition: Option<Cond>,
    /// `GROUP BY time(interval[, offset])`: interval and offset in nanoseconds.
    pub group_time: Option<(i64, i64)>,
    /// `GROUP BY` tags.
    pub group_tags: GroupTags,
    /// `fill(...)`.
    pub fill: Fill,
    /// `ORDER BY time DESC`.
    pub descending: bool,
    /// `LIMIT n` (rows per series; 0: no limit).
    pub limit: u64,
    /// `OFFSET n` (rows per series).
    pub offset: u64,
    /// `SLIMIT n` (series; 0: no limit).
    pub slimit: u64,
    /// `SOFFSET n` (series).
    pub soffset: u64,
    /// `tz('...')`, if given.
    pub tz: Option<String>,
}

/// One item of the select list: an expression and its optional `AS` alias.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// What to compute.
    pub expr: Expr,
    /// `AS name`.
    pub alias: Option<String>,
}

/// An expression of the select list, or an argument of a call.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A field (or tag) name.
    Ident(String),
    /// `*`.
    Wildcard,
    /// `name(args)`, e.g. `mean(value)`; checked against the functions Lodestone has at
    /// planning time, as InfluxDB does.
    Call(String, Vec<Expr>),
    /// A number or string argument (`percentile(value, 95)`).
    Literal(Literal),
}

/// A measurement source of `FROM`.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A measurement name (the last part of `"db"."rp"."m"`).
    Name(String),
    /// `/pattern/`, matched against measurement names.
    Regex(String),
}

/// `GROUP BY` tags.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum GroupTags {
    /// No tag grouping: every series of a measurement goes into one result series.
    #[default]
    None,
    /// `GROUP BY *`: one result series per tag set.
    All,
    /// `GROUP BY a, b`.
    List(Vec<String>),
}

/// What empty `GROUP BY time` windows show.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Fill {
    /// `fill(null)`, the default: a row with `null`.
    #[default]
    Null,
    /// `fill(none)`: no row.
    None,
    /// `fill(previous)`: the value of the window before.
    Previous,
    /// `fill(linear)`: interpolated between the neighbouring windows.
    Linear,
    /// `fill(<number>)`.
    Number(Literal),
}

/// A literal value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Literal {
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
}

/// A `WHERE` condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// Both hold.
    And(Box<Cond>, Box<Cond>),
    /// Either holds.
    Or(Box<Cond>, Box<Cond>),
    /// `lhs op rhs`.
    Cmp(Operand, CmpOp, Operand),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `!=` or `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `=~`
    Match,
    /// `!~`
    NotMatch,
}

impl CmpOp {
    /// The operator as written.
    pub fn text(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Match => "=~",
            CmpOp::NotMatch => "!~",
        }
    }

    /// The operator with its sides swapped (`a < b` ⇔ `b > a`).
    pub fn flipped(self) -> CmpOp {
        match self {
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
            other => other,
        }
    }
}

/// One side of a comparison: a sum of terms (`now() - 1h`), usually a single term.
#[derive(Debug, Clone, PartialEq)]
pub struct Operand {
    /// The first term.
    pub first: Term,
    /// `+ term` or `- term` (true for minus) that follow.
    pub rest: Vec<(bool, Term)>,
}

impl Operand {
    /// The identifier, when the operand is exactly one.
    pub fn ident(&self) -> Option<&str> {
        match (&self.first, self.rest.is_empty()) {
            (Term::Ident(name), true) => Some(name),
            _ => None,
        }
    }
}

/// A term of an operand.
#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    /// A tag, field or `time`.
    Ident(String),
    /// `'text'`.
    Str(String),
    /// An integer (nanoseconds, when compared with `time`).
    Int(i64),
    /// A float.
    Float(f64),
    /// A duration literal, in nanoseconds.
    Duration(i64),
    /// `now()`.
    Now,
    /// `/pattern/`.
    Regex(String),
}
