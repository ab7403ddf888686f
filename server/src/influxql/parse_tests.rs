//! Parser specifications: the benchmark's statements, the accepted variants, InfluxDB-style
//! error messages for malformed input, and a property that no input makes it panic.

use proptest::prelude::*;

use super::ast::{CmpOp, Cond, Expr, Fill, GroupTags, Literal, Select, Source, Statement, Term};
use super::parse::parse_query;

fn select(q: &str) -> Select {
    match parse_query(q)
        .unwrap_or_else(|e| panic!("{q}: {e}"))
        .remove(0)
    {
        Statement::Select(s) => *s,
        other => panic!("{q}: {other:?}"),
    }
}

fn error(q: &str) -> String {
    match parse_query(q) {
        Ok(s) => panic!("{q} parsed: {s:?}"),
        Err(e) => e.message,
    }
}

#[test]
fn benchmark_statements_parse() {
    let s = select(
        "SELECT value FROM temperature WHERE site='p1' AND line='l04' AND asset='a0003' \
         AND time >= 1767225600000000000 AND time < 1767229200000000000",
    );
    assert_eq!(s.fields[0].expr, Expr::Ident("value".into()));
    assert_eq!(s.sources, vec![Source::Name("temperature".into())]);
    assert!(s.condition.is_some());

    let s = select(
        "SELECT mean(value) FROM temperature WHERE asset='a0003' AND time >= 1 AND time < 2 \
         GROUP BY time(1m)",
    );
    assert_eq!(
        s.fields[0].expr,
        Expr::Call("mean".into(), vec![Expr::Ident("value".into())])
    );
    assert_eq!(s.group_time, Some((60_000_000_000, 0)));
    assert_eq!(s.group_tags, GroupTags::None);

    let s = select(
        "SELECT max(value) FROM temperature WHERE time >= 1 AND time < 2 GROUP BY time(1h), *",
    );
    assert_eq!(s.group_time, Some((3_600_000_000_000, 0)));
    assert_eq!(s.group_tags, GroupTags::All);

    let s = select("SELECT last(value) FROM /.*/ GROUP BY *");
    assert_eq!(s.sources, vec![Source::Regex(".*".into())]);
    assert_eq!(s.group_tags, GroupTags::All);

    assert_eq!(
        parse_query("CREATE DATABASE bench").unwrap(),
        vec![Statement::CreateDatabase("bench".into())]
    );
    assert_eq!(
        parse_query("show databases").unwrap(),
        vec![Statement::ShowDatabases]
    );
}

#[test]
fn accepted_variants() {
    let s = select(r#"select MEAN("value") as "avg", max(value) from "db"."rp"."temperature""#);
    assert_eq!(s.fields[0].alias.as_deref(), Some("avg"));
    assert_eq!(s.sources, vec![Source::Name("temperature".into())]);
    assert_eq!(
        select(r#"SELECT value FROM "db".."m""#).sources,
        vec![Source::Name("m".into())]
    );
    assert_eq!(
        select("SELECT value FROM db./^t/").sources,
        vec![Source::Regex("^t".into())]
    );

    let s = select(
        "SELECT count(value) FROM m WHERE time > now() - 1h GROUP BY time(10s, 2s), site, line \
         fill(-1.5) ORDER BY time DESC LIMIT 10 OFFSET 2 SLIMIT 3 SOFFSET 1 tz('UTC')",
    );
    assert_eq!(s.group_time, Some((10_000_000_000, 2_000_000_000)));
    assert_eq!(
        s.group_tags,
        GroupTags::List(vec!["site".into(), "line".into()])
    );
    assert_eq!(s.fill, Fill::Number(Literal::Float(-1.5)));
    assert!(s.descending);
    assert_eq!((s.limit, s.offset, s.slimit, s.soffset), (10, 2, 3, 1));
    assert_eq!(s.tz.as_deref(), Some("UTC"));
    let Some(Cond::Cmp(_, CmpOp::Gt, rhs)) = s.condition else {
        panic!("{:?}", s.condition)
    };
    assert_eq!(rhs.first, Term::Now);
    assert_eq!(rhs.rest, vec![(true, Term::Duration(3_600_000_000_000))]);

    for fill in ["null", "none", "previous", "linear", "0"] {
        select(&format!(
            "SELECT mean(value) FROM m WHERE time > 0 GROUP BY time(1m) fill({fill})"
        ));
    }
    let many = parse_query("SELECT value FROM a; SELECT value FROM b;").unwrap();
    assert_eq!(many.len(), 2);
    let s =
        select("SELECT value::field FROM m WHERE \"site\"::tag = 'x' AND (a = 'b' OR a =~ /c/)");
    assert_eq!(s.fields[0].expr, Expr::Ident("value".into()));
}

#[test]
fn errors_name_the_token_and_position() {
    assert_eq!(
        error("FOO"),
        "found FOO, expected SELECT, SHOW, CREATE at line 1, char 1"
    );
    assert_eq!(
        error(""),
        "found EOF, expected SELECT, SHOW, CREATE at line 1, char 2"
    );
    assert_eq!(
        error("SELECT value temperature"),
        "found temperature, expected FROM at line 1, char 14"
    );
    assert_eq!(
        error("SELECT FROM m"),
        "found FROM, expected identifier, string, number, bool at line 1, char 8"
    );
    assert_eq!(
        error("SELECT value\nFROM m WHERE"),
        "found EOF, expected identifier, string, number, bool at line 2, char 14"
    );
    assert!(error("SELECT value FROM m WHERE a = 'x").contains("unterminated string"));
    assert!(error("SELECT value FROM m GROUP BY time(1x)").contains("unable to parse duration 1x"));
    assert!(error("SELECT value FROM m GROUP BY time(5)").contains("expected duration"));
    assert!(
        error("SELECT value FROM m GROUP BY time(1m) fill(sometimes)").contains("found sometimes")
    );
    assert!(error("SELECT value FROM m WHERE a =~ 'x'").contains("expected regex"));
    assert!(error("SELECT value FROM m LIMIT -1").contains("non-negative integer"));
    assert!(error("SELECT value FROM m extra").contains("found extra, expected ;"));
    assert!(error("SELECT value FROM /unclosed").contains("unterminated regex"));
    assert!(error("SHOW RETENTION POLICIES").contains("expected DATABASES, MEASUREMENTS"));
    assert!(error("SHOW TAG VALUES FROM m").contains("found EOF, expected WITH"));
    assert!(error("SHOW TAG VALUES WITH KEY IN (a").contains("expected )"));
    assert!(error("SELECT mean(value FROM m").contains("found FROM, expected )"));
    assert!(error("SELECT value FROM m WHERE time > 1 +").contains("found EOF"));
}

#[test]
fn hostile_nesting_is_refused_before_it_can_overflow_the_stack() {
    let deep = format!(
        "SELECT value FROM m WHERE {}a = 'b'{}",
        "(".repeat(100_000),
        ")".repeat(100_000)
    );
    assert!(error(&deep).contains("nested more than"));
    let calls = format!(
        "SELECT {}value{} FROM m",
        "f(".repeat(100_000),
        ")".repeat(100_000)
    );
    assert!(error(&calls).contains("nested more than"));
    let long = format!(
        "SELECT value FROM m WHERE {}",
        vec!["a = 'b'"; 100_000].join(" AND ")
    );
    assert!(error(&long).contains("more than 1000 comparisons"));
    let ok = format!(
        "SELECT value FROM m WHERE {}",
        vec!["a = 'b'"; 1_000].join(" OR ")
    );
    select(&ok);
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(q in "\\PC{0,80}") {
        let _ = parse_query(&q);
    }

    #[test]
    fn query_shaped_text_never_panics(q in "(SELECT|FROM|WHERE|GROUP BY|time|\\(|\\)|/|'|\"|[a-z]+|[0-9]+[a-zµ]*|[=<>!~,;.*+-]| ){0,40}") {
        let _ = parse_query(&q);
    }
}

#[test]
fn schema_listings_parse_with_their_sources_and_keys() {
    use super::ast::SchemaListing;
    let one = |q: &str| parse_query(q).unwrap().remove(0);
    let listing = |what, sources| Statement::ShowSchema {
        what,
        sources,
        limit: 0,
        offset: 0,
    };
    assert_eq!(
        one("SHOW TAG KEYS"),
        listing(SchemaListing::TagKeys, vec![])
    );
    assert_eq!(
        one("SHOW TAG VALUES ON bench FROM \"temperature\" WITH KEY = \"site\""),
        listing(
            SchemaListing::TagValues(vec!["site".into()]),
            vec![Source::Name("temperature".into())],
        )
    );
    assert_eq!(
        one("show tag values from /temp.*/ with key in (site, asset)"),
        listing(
            SchemaListing::TagValues(vec!["site".into(), "asset".into()]),
            vec![Source::Regex("temp.*".into())],
        )
    );
    assert_eq!(
        one("SHOW FIELD KEYS FROM m"),
        listing(SchemaListing::FieldKeys, vec![Source::Name("m".into())])
    );
    assert_eq!(one("SHOW SERIES"), listing(SchemaListing::Series, vec![]));
}

#[test]
fn schema_listings_take_limit_and_offset_after_everything_else() {
    use super::ast::SchemaListing;
    let one = |q: &str| parse_query(q).unwrap().remove(0);
    let window = |s: Statement| match s {
        Statement::ShowSchema { limit, offset, .. } => (limit, offset),
        other => panic!("not a schema listing: {other:?}"),
    };
    assert_eq!(window(one("SHOW SERIES LIMIT 3 OFFSET 2")), (3, 2));
    assert_eq!(window(one("show series from m, /x/ offset 7")), (0, 7));
    assert_eq!(
        one("SHOW TAG VALUES FROM m WITH KEY IN (a, b) LIMIT 1 OFFSET 1"),
        Statement::ShowSchema {
            what: SchemaListing::TagValues(vec!["a".into(), "b".into()]),
            sources: vec![Source::Name("m".into())],
            limit: 1,
            offset: 1,
        }
    );
    assert_eq!(window(one("SHOW TAG KEYS LIMIT 5")), (5, 0));
    assert_eq!(window(one("SHOW FIELD KEYS FROM m LIMIT 1")), (1, 0));
    // Before WITH KEY is not where InfluxDB takes them, and a count must be a whole number.
    assert!(parse_query("SHOW TAG VALUES LIMIT 1 WITH KEY = a").is_err());
    assert!(parse_query("SHOW SERIES LIMIT x").is_err());
    assert!(parse_query("SHOW SERIES LIMIT -1").is_err());
    assert!(parse_query("SHOW SERIES OFFSET 1 LIMIT 1").is_err());
}
