//! The `/query` request: parameters from the URL and the form body, parsing, running the
//! statements on the blocking pool, and the JSON answer with InfluxDB's status codes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use lodestone_engine::Engine;

use super::exec::run;
use super::json::{error_body, write_results};
use super::parse::parse_query;
use super::time::epoch_unit;

/// Answers one InfluxDB v1 `/query` request. `query_string` is the raw URL query (may be
/// empty), `form_body` the POST body (`application/x-www-form-urlencoded`, may be empty);
/// the body's parameters override the URL's, as InfluxDB does for `q`.
///
/// Parameters: `q` (required; statements separated by `;`), `epoch` (`ns`, `u`, `µ`, `ms`,
/// `s`, `m`, `h`: integer times in that unit; RFC 3339 strings without it). `db` and `rp` are
/// accepted and ignored: Lodestone keeps one database. `pretty`, `chunked`, `chunk_size`,
/// `u` and `p` are ignored too (authentication belongs to the HTTP layer).
///
/// Answers 200 with one result per statement (a failing statement carries its own
/// `"error"`), 400 with `{"error":...}` for a missing `q`, a bad `epoch` or a syntax error,
/// and 500 if running the query failed unexpectedly.
pub async fn respond(engine: Arc<Engine>, query_string: &str, form_body: &[u8]) -> Response {
    let params = params(query_string, form_body);
    let Some(q) = params.get("q").filter(|q| !q.trim().is_empty()) else {
        return json(
            StatusCode::BAD_REQUEST,
            error_body("missing required parameter \"q\""),
        );
    };
    let epoch = match params.get("epoch").map(String::as_str) {
        None | Some("") => None,
        Some(e) => match epoch_unit(e) {
            Some(unit) => Some(unit),
            None => {
                return json(
                    StatusCode::BAD_REQUEST,
                    error_body(&format!("invalid epoch {e:?}: use ns, u, µ, ms, s, m or h")),
                )
            }
        },
    };
    let statements = match parse_query(q) {
        Ok(s) => s,
        Err(e) => {
            return json(
                StatusCode::BAD_REQUEST,
                error_body(&format!("error parsing query: {e}")),
            )
        }
    };
    let now = now_ns();
    let answer = tokio::task::spawn_blocking(move || {
        let results = run(&engine, &statements, now);
        let mut body = Vec::new();
        write_results(&mut body, &results, epoch);
        body
    })
    .await;
    match answer {
        Ok(body) => json(StatusCode::OK, body),
        Err(e) => {
            tracing::error!(error = %e, "influxql query panicked");
            json(
                StatusCode::INTERNAL_SERVER_ERROR,
                error_body("query failed; see the server log"),
            )
        }
    }
}

/// URL parameters, then form-body parameters over them.
fn params(query_string: &str, form_body: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(query_string.as_bytes())
        .chain(form_urlencoded::parse(form_body))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn json(status: StatusCode, body: Vec<u8>) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (
                header::HeaderName::from_static("x-influxdb-version"),
                "1.8-lodestone",
            ),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_parameters_override_the_url() {
        let p = params("q=SELECT+1&db=x&epoch=ms", b"q=SELECT%20value%20FROM%20m");
        assert_eq!(p["q"], "SELECT value FROM m");
        assert_eq!(p["db"], "x");
        assert_eq!(p["epoch"], "ms");
        assert!(params("", b"").is_empty());
    }
}
