//! `ListSeries`: one page of the series a request selects, in key order, with their types
//! and newest points.
//!
//! A plant may hold a million series, too many for one answer (about 100 bytes each on the
//! wire), so the answer is a page: at most [`LIST_SERIES_DEFAULT`] series unless the request
//! asks otherwise, never more than [`LIST_SERIES_MAX`]. The engine finds the selected series
//! through its series index and sorts only the page ([`Engine::list_series_page`]), so a page
//! costs what the selection holds, not a sort of the whole catalog; a client walks every
//! page by passing each answer's `next_after` as the next request's `after`.

use std::sync::Arc;

use lodestone_engine::Engine;
use lodestone_proto::v1 as pb;
use tonic::Status;

use super::blocking;
use super::convert::{key_from_proto, key_to_proto, selector_from_proto, series_info_to_proto};

/// Series per answer when the request leaves `limit` at 0: about 1 MB on the wire.
pub const LIST_SERIES_DEFAULT: usize = 10_000;

/// Most series per answer, whatever the request asks: about 10 MB on the wire, under the
/// 64 MiB the Rust client accepts.
pub const LIST_SERIES_MAX: usize = 100_000;

/// The page size for a request's `limit`: 0 is the default, anything above the maximum is
/// the maximum.
pub fn page_limit(limit: u32) -> usize {
    match usize::try_from(limit) {
        Ok(0) => LIST_SERIES_DEFAULT,
        Ok(n) => n.min(LIST_SERIES_MAX),
        Err(_) => LIST_SERIES_MAX,
    }
}

/// Answers one page of `req`. A bad selector (unknown operator, pattern that does not
/// compile, too many matchers) or a bad `after` key is INVALID_ARGUMENT naming it. The
/// caller has already passed the read barrier.
pub(super) async fn page(
    engine: Arc<Engine>,
    req: pb::ListSeriesRequest,
) -> Result<pb::ListSeriesResponse, Status> {
    let selector = req.selector.as_ref().map(selector_from_proto).transpose()?;
    let after = match &req.after {
        Some(key) => Some(
            key_from_proto(Some(key))
                .map_err(|s| Status::invalid_argument(format!("after: {}", s.message())))?,
        ),
        None => None,
    };
    let limit = page_limit(req.limit);
    // The selection, the sort of the page and the conversion of up to 100,000 series: off
    // the runtime.
    blocking(move || {
        let infos = engine.list_series_page(selector.as_ref(), after.as_ref(), limit);
        let next_after = if infos.len() == limit {
            infos.last().map(|info| key_to_proto(&info.key))
        } else {
            None
        };
        Ok(pb::ListSeriesResponse {
            series: infos.iter().map(series_info_to_proto).collect(),
            next_after,
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_of_zero_is_the_default_and_large_limits_are_capped() {
        assert_eq!(page_limit(0), LIST_SERIES_DEFAULT);
        assert_eq!(page_limit(1), 1);
        assert_eq!(page_limit(100_000), LIST_SERIES_MAX);
        assert_eq!(page_limit(100_001), LIST_SERIES_MAX);
        assert_eq!(page_limit(u32::MAX), LIST_SERIES_MAX);
    }
}
