//! The series listing over the client's connection: one page, every page read in turn, or
//! all of them collected. A plant may hold a million series, more than one answer carries,
//! so the server answers in pages in key order and the client asks for each next page with
//! the key the previous one ended at.

use lodestone_proto::v1 as pb;

use crate::error::{Error, Result};
use crate::Client;

/// One page of a series listing.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesPage {
    /// The series with their value types and newest points, in key order.
    pub series: Vec<pb::SeriesInfo>,
    /// The key to pass as `after` for the next page; `None` on the last page.
    pub next_after: Option<pb::SeriesKey>,
}

impl Client {
    /// Every known series with its value type and newest point, in key order, collected
    /// from as many pages as the server needs (10,000 series each).
    pub async fn list_series(&self) -> Result<Vec<pb::SeriesInfo>> {
        self.list_series_all(None).await
    }

    /// One page of the series `selector` matches (every series when `None`), in key order:
    /// at most `limit` series (0 is the server's default, 10,000; the server caps it at
    /// 100,000), starting with the first series after the key `after` (from the first when
    /// `None`). The page's `next_after` is the `after` of the next page. A bad pattern or
    /// `after` key is [`Error::InvalidArgument`] with the server's reason.
    pub async fn list_series_page(
        &self,
        selector: Option<pb::SeriesSelector>,
        after: Option<pb::SeriesKey>,
        limit: u32,
    ) -> Result<SeriesPage> {
        let req = pb::ListSeriesRequest {
            stale_ok: self.reads_stale(),
            selector,
            limit,
            after,
        };
        let reply = self.rpc().list_series(req).await?.into_inner();
        Ok(SeriesPage {
            series: reply.series,
            next_after: reply.next_after,
        })
    }

    /// Every series `selector` matches (every series when `None`), in key order, collected
    /// from all pages. For a large selection prefer [`Client::list_series_pages`], which
    /// holds one page at a time.
    pub async fn list_series_all(
        &self,
        selector: Option<pb::SeriesSelector>,
    ) -> Result<Vec<pb::SeriesInfo>> {
        let mut pages = self.list_series_pages(selector, 0);
        let mut all = Vec::new();
        while let Some(page) = pages.next_page().await? {
            all.extend(page);
        }
        Ok(all)
    }

    /// The series `selector` matches (every series when `None`), page after page of at most
    /// `limit` (0: the server's default), each asked for when the caller reads it. Series
    /// written while the pages are read appear if their keys sort after the current page.
    pub fn list_series_pages(
        &self,
        selector: Option<pb::SeriesSelector>,
        limit: u32,
    ) -> SeriesPages {
        SeriesPages {
            client: self.clone(),
            selector,
            limit,
            after: None,
            done: false,
        }
    }
}

/// The pages of a [`Client::list_series_pages`] walk.
#[derive(Debug)]
pub struct SeriesPages {
    client: Client,
    selector: Option<pb::SeriesSelector>,
    limit: u32,
    /// Where the next page starts.
    after: Option<pb::SeriesKey>,
    /// The last page has been read.
    done: bool,
}

impl SeriesPages {
    /// The next page, never empty; `Ok(None)` after the last. A reply that would not move
    /// the walk forward (a `next_after` that is not the page's last key) is
    /// [`Error::Protocol`], so a faulty server cannot make the walk loop.
    pub async fn next_page(&mut self) -> Result<Option<Vec<pb::SeriesInfo>>> {
        if self.done {
            return Ok(None);
        }
        let page = self
            .client
            .list_series_page(self.selector.clone(), self.after.clone(), self.limit)
            .await?;
        match page.next_after {
            Some(next) => {
                let last = page.series.last().and_then(|s| s.series.as_ref());
                if last != Some(&next) || self.after.as_ref() == Some(&next) {
                    return Err(Error::Protocol(
                        "list series: next_after is not the last key of a new page".into(),
                    ));
                }
                self.after = Some(next);
            }
            None => self.done = true,
        }
        Ok((!page.series.is_empty()).then_some(page.series))
    }
}
