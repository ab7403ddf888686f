//! The real `lodestone` binary moving data in and out: `import` of line protocol and CSV,
//! `export` as line protocol that imports back bit-exact, `query`/`latest --format`, and
//! malformed input stopping the import at its file and line (or skipped and counted).

#![allow(clippy::unwrap_used)]

mod common;

use common::Server;

/// Awkward floats from every corner of the bit space (NaN payloads excepted: text cannot
/// carry them).
fn float(i: u64) -> f64 {
    let x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let v = f64::from_bits(x ^ (x >> 29));
    if v.is_nan() {
        f64::NAN
    } else {
        v
    }
}

/// Line protocol as `export` writes it: labels sorted, shortest floats, `i` integers.
fn plant_lines() -> Vec<String> {
    let mut lines = Vec::new();
    for i in 0..3_000u64 {
        let ts = 1_767_225_600_000_000_000 + i as i64 * 1_000_000_000;
        let a = i % 3;
        lines.push(format!(
            "temperature,asset=a{a},site=p1 value={} {ts}",
            (i as f64 * 0.1 + 0.2)
        ));
        lines.push(format!(
            "vibration,asset=a{a},site=p1 value={} {ts}",
            float(i)
        ));
        lines.push(format!(
            "motor_state,asset=a{a},site=p1 value={}i {ts}",
            i as i64 * -7
        ));
        lines.push(format!("running,asset=a{a} value={} {ts}", i % 5 == 0));
    }
    lines.push(r"odd\ name,tag\,x=v\=1 value=-0 -5".to_string());
    lines.push(r#"path,dir=C:\plc\1,q="hi" value=1e300 0"#.replace("1e300", &1e300.to_string()));
    lines
}

fn sorted_lines(text: &str) -> Vec<String> {
    let mut v: Vec<String> = text.lines().map(str::to_string).collect();
    v.sort();
    v
}

#[test]
fn line_protocol_exported_from_one_server_imports_into_another_bit_exact() {
    let work = tempfile::tempdir().unwrap();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = (Server::start(dir_a.path()), Server::start(dir_b.path()));
    let input = work.path().join("plant.lp");
    let lines = plant_lines();
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();

    let (ok, out, err) = a.cli(&["import", input.to_str().unwrap(), "--batch-points", "1000"]);
    assert!(ok, "{err}");
    let n = lines.len();
    assert!(
        out.starts_with(&format!("imported {n} points in "))
            && out.trim_end().ends_with("points/s)"),
        "{out}"
    );

    let exported_a = work.path().join("a.lp");
    let (ok, _, err) = a.cli(&["export", "--output", exported_a.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(
        err.contains(&format!("exported {n} points of 14 series")),
        "{err}"
    );
    let text_a = std::fs::read_to_string(&exported_a).unwrap();
    let mut want = lines.clone();
    want.sort();
    assert_eq!(
        sorted_lines(&text_a),
        want,
        "export writes what was imported, exactly"
    );

    let (ok, _, err) = b.cli(&["import", exported_a.to_str().unwrap()]);
    assert!(ok, "{err}");
    let (ok, text_b, err) = b.cli(&["export", "--format", "lp"]);
    assert!(ok, "{err}");
    assert_eq!(
        text_b, text_a,
        "same series, times and value bits on both servers"
    );

    // A chosen series and window, to stdout.
    let (ok, text, err) = b.cli(&[
        "export",
        "--series",
        r#"motor_state{asset="a1",site="p1"}"#,
        "--start",
        "2026-01-01T00:00:03Z",
        "--end",
        "2026-01-01T00:00:10Z",
    ]);
    assert!(ok, "{err}");
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        [
            "motor_state,asset=a1,site=p1 value=-28i 1767225604000000000",
            "motor_state,asset=a1,site=p1 value=-49i 1767225607000000000",
        ]
    );
}

#[test]
fn csv_keeps_quality_and_query_prints_table_csv_and_json() {
    let work = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let input = work.path().join("in.csv");
    let rows = [
        "series,timestamp,value,quality",
        r#""flow{line=""l 04"",site=""p1""}",1970-01-01T00:00:00.000000001Z,2.5,0"#,
        r#""flow{line=""l 04"",site=""p1""}",1970-01-01T00:00:00.000000002Z,NaN,1073741824"#,
        r#""flow{line=""l 04"",site=""p1""}",1970-01-01T00:00:00.000000003Z,-0,2147483648"#,
    ];
    std::fs::write(&input, rows.join("\n") + "\n").unwrap();
    let (ok, out, err) = s.cli(&["import", input.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.starts_with("imported 3 points"), "{out}");

    let series = r#"flow{site="p1",line="l 04"}"#;
    let (ok, csv, err) = s.cli(&["query", "--series", series, "--format", "csv"]);
    assert!(ok, "{err}");
    assert_eq!(csv.lines().collect::<Vec<_>>(), rows, "CSV out is CSV in");

    let (ok, table, _) = s.cli(&["query", "--series", series]);
    assert!(ok);
    assert!(table.starts_with("time"), "table is the default: {table}");
    assert!(table.contains("uncertain (0x40000000)"), "{table}");

    let (ok, json, err) = s.cli(&["query", "--series", series, "--format", "json"]);
    assert!(ok, "{err}");
    let first = json.lines().next().unwrap();
    assert_eq!(
        first,
        r#"{"series":"flow{line=\"l 04\",site=\"p1\"}","ts":1,"time":"1970-01-01T00:00:00.000000001Z","value":2.5,"quality":0}"#
    );
    let (ok, latest, err) = s.cli(&["latest", "--series", series, "--format", "json"]);
    assert!(ok, "{err}");
    assert!(
        latest.contains(r#""quality":2147483648"#) && latest.contains(r#""value":-0.0"#),
        "{latest}"
    );

    // Exported as CSV and imported elsewhere: the same rows.
    let (ok, exported, err) = s.cli(&["export", "--format", "csv"]);
    assert!(ok, "{err}");
    assert_eq!(exported.lines().collect::<Vec<_>>(), rows);
}

#[test]
fn a_malformed_line_stops_the_import_at_its_file_and_line_unless_skipped() {
    let work = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let bad = work.path().join("bad.lp");
    std::fs::write(
        &bad,
        "t value=1 1\n\n# comment\nt value=2 2\nt value= 3\nt value=4 4\nt,x value=5 5\n",
    )
    .unwrap();
    let (ok, _, err) = s.cli(&["import", bad.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("bad.lp:5: "), "names file and line: {err}");

    let (ok, out, err) = s.cli(&["import", "--skip-errors", bad.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.starts_with("imported 3 points"), "{out}");
    assert!(err.contains("skipped 2 malformed lines"), "{err}");
    assert!(err.contains("bad.lp:7: "), "{err}");

    let csv = work.path().join("bad.csv");
    std::fs::write(&csv, "series,timestamp,value\nt,1,1.5\nt,2\n").unwrap();
    let (ok, _, err) = s.cli(&["import", csv.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("bad.csv:3: expected 3 fields"), "{err}");

    // The server refuses a type change: the import fails and says why.
    let typed = work.path().join("typed.csv");
    std::fs::write(&typed, "series,timestamp,value\nt,10,true\n").unwrap();
    let (ok, _, err) = s.cli(&["import", typed.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("rejected") && err.contains("point 0"), "{err}");

    let unknown = work.path().join("data.txt");
    std::fs::write(&unknown, "t value=1 1\n").unwrap();
    let (ok, _, err) = s.cli(&["import", unknown.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("--format lp|csv"), "{err}");
    let (ok, out, err) = s.cli(&["import", "--format", "lp", unknown.to_str().unwrap()]);
    assert!(ok && out.starts_with("imported 1 points"), "{out}{err}");
}
