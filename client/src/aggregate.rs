//! Windowed aggregates over the client's connection: the windows of one series, or of every
//! series a selector matches, collected whole or read message by message.

use lodestone_proto::v1 as pb;

use crate::error::{Error, Result};
use crate::Client;

/// The windows of one series in an aggregate answer, in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesWindows {
    /// The series.
    pub series: pb::SeriesKey,
    /// Its windows; empty when none is in the answer (with `FILL_NONE`, none had a value).
    pub windows: Vec<pb::Window>,
}

impl Client {
    /// The windows of every series `req` selects, in series key order, each series' messages
    /// joined. Build `req` with [`pb::AggregateRequest::of_series`] or
    /// [`pb::AggregateRequest::of_selector`]. An unknown exact series is
    /// [`Error::NotFound`]; a bad pattern, a step below 1 ns, `start_ns > end_ns` or too many
    /// windows is [`Error::InvalidArgument`] with the server's reason.
    pub async fn aggregate(&self, req: pb::AggregateRequest) -> Result<Vec<SeriesWindows>> {
        let mut pages = self.aggregate_pages(req).await?;
        let mut out: Vec<SeriesWindows> = Vec::new();
        while let Some(page) = pages.next_page().await? {
            let series = page.series.ok_or_else(|| {
                Error::Protocol("aggregate answered windows without their series".into())
            })?;
            match out.last_mut() {
                Some(last) if last.series == series => last.windows.extend(page.windows),
                _ => out.push(SeriesWindows {
                    series,
                    windows: page.windows,
                }),
            }
        }
        Ok(out)
    }

    /// The answer to `req` message by message as the server sends them (each one series'
    /// key and up to 65,536 of its windows; a series' messages follow each other), so that a
    /// caller printing a large selection holds one message at a time.
    pub async fn aggregate_pages(&self, mut req: pb::AggregateRequest) -> Result<AggregatePages> {
        req.stale_ok |= self.reads_stale();
        let pages = self.rpc().aggregate(req).await?.into_inner();
        Ok(AggregatePages { pages })
    }
}

/// The messages of a [`Client::aggregate_pages`] call.
#[derive(Debug)]
pub struct AggregatePages {
    pages: tonic::Streaming<pb::AggregateResponse>,
}

impl AggregatePages {
    /// The next message; `Ok(None)` after the last. An error ends the answer: the series
    /// after it were not sent.
    pub async fn next_page(&mut self) -> Result<Option<pb::AggregateResponse>> {
        Ok(self.pages.message().await?)
    }
}
