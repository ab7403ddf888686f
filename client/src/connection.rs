//! [`Client`]: one connection to a Lodestone server and the calls it answers.

use std::sync::Arc;
use std::time::Duration;

use lodestone_proto::v1 as pb;
use pb::lodestone_client::LodestoneClient;
use tokio_stream::Stream;
use tonic::transport::{Channel, Endpoint};

use crate::error::{Error, Result};

/// How long [`Client::connect`] tries before giving up.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Largest reply accepted, in bytes: a series listing of a large plant or a page of points
/// is far below it, a runaway reply is not.
pub const MAX_REPLY_BYTES: usize = 64 << 20;

/// Largest request sent, in bytes; matches what the server accepts.
pub const MAX_REQUEST_BYTES: usize = 64 << 20;

/// An async client of the `lodestone.v1` service.
///
/// Cloning is cheap and clones share the connection (HTTP/2 multiplexes their calls), so a
/// program makes one `Client` and hands out clones.
///
/// A client made with [`Client::connect_any`] knows several endpoints: it is connected to
/// one, and a [`crate::Writer`] made from it moves to the next when that one fails.
#[derive(Debug, Clone)]
pub struct Client {
    rpc: LodestoneClient<Channel>,
    /// The connection, for the other services on it.
    channel: Channel,
    /// Every endpoint this client may use, normalized; never empty.
    endpoints: Arc<[String]>,
    /// Index in `endpoints` of the one connected.
    current: usize,
    /// Reads may be answered by a cluster node that is not the leader.
    stale_ok: bool,
}

impl Client {
    /// Connects to `endpoint`, e.g. `http://127.0.0.1:7400` or `127.0.0.1:7400` (plain
    /// HTTP/2 is assumed when no scheme is given).
    pub async fn connect(endpoint: impl AsRef<str>) -> Result<Client> {
        let endpoints: Arc<[String]> = Arc::from(vec![normalize(endpoint.as_ref())]);
        Client::connect_to(endpoints, 0).await
    }

    /// Connects to the first of `endpoints` that answers, trying them in order. The others
    /// are kept: a [`crate::Writer`] made from this client fails over to the next endpoint
    /// when the connected one fails or answers UNAVAILABLE. A malformed endpoint is refused
    /// before any is tried; when none answers, the error names each with its reason.
    pub async fn connect_any<I>(endpoints: I) -> Result<Client>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let endpoints: Vec<String> = endpoints
            .into_iter()
            .map(|e| normalize(e.as_ref()))
            .collect();
        if endpoints.is_empty() {
            return Err(Error::InvalidEndpoint {
                endpoint: String::new(),
                reason: "no endpoint given".into(),
            });
        }
        for e in &endpoints {
            parse_endpoint(e)?;
        }
        let endpoints: Arc<[String]> = Arc::from(endpoints);
        let mut failures = Vec::new();
        for i in 0..endpoints.len() {
            match Client::connect_to(endpoints.clone(), i).await {
                Ok(c) => return Ok(c),
                Err(Error::Connect { endpoint, reason }) => {
                    failures.push(format!("{endpoint}: {reason}"))
                }
                Err(e) => return Err(e),
            }
        }
        Err(Error::Connect {
            endpoint: endpoints.join(", "),
            reason: failures.join("; "),
        })
    }

    /// Connects to `endpoints[current]`, keeping the list.
    pub(crate) async fn connect_to(endpoints: Arc<[String]>, current: usize) -> Result<Client> {
        let endpoint = endpoints
            .get(current)
            .ok_or_else(|| Error::InvalidEndpoint {
                endpoint: String::new(),
                reason: "no endpoint given".into(),
            })?;
        let channel = parse_endpoint(endpoint)?
            .connect_timeout(CONNECT_TIMEOUT)
            .connect()
            .await
            .map_err(|e| Error::Connect {
                endpoint: endpoint.clone(),
                reason: transport_reason(&e),
            })?;
        let rpc = LodestoneClient::new(channel.clone())
            .max_decoding_message_size(MAX_REPLY_BYTES)
            .max_encoding_message_size(MAX_REQUEST_BYTES);
        Ok(Client {
            rpc,
            channel,
            endpoints,
            current,
            stale_ok: false,
        })
    }

    /// A client that connects on first use (tests of what happens when nothing answers).
    #[cfg(test)]
    pub(crate) fn lazy(endpoint: &str) -> Result<Client> {
        let endpoints: Arc<[String]> = Arc::from(vec![normalize(endpoint)]);
        let channel = parse_endpoint(&endpoints[0])?
            .connect_timeout(CONNECT_TIMEOUT)
            .connect_lazy();
        Ok(Client {
            rpc: LodestoneClient::new(channel.clone()),
            channel,
            endpoints,
            current: 0,
            stale_ok: false,
        })
    }

    /// The same client, whose reads (queries, latest values, series lists, metadata,
    /// aggregates) a cluster node that is not the leader may answer from its own copy,
    /// which may lag a little. Without it (the default) reads are linearizable: only the
    /// leader answers them, after confirming it still leads.
    pub fn stale_reads(mut self, stale_ok: bool) -> Client {
        self.stale_ok = stale_ok;
        self
    }

    /// True when reads may be answered by a node that is not the leader.
    pub fn reads_stale(&self) -> bool {
        self.stale_ok
    }

    /// The endpoint this client talks to, with its scheme.
    pub fn endpoint(&self) -> &str {
        &self.endpoints[self.current]
    }

    /// Every endpoint this client knows, the connected one included, with their schemes.
    pub fn endpoints(&self) -> &[String] {
        &self.endpoints
    }

    /// The generated gRPC client on this client's connection (cheap to clone), for calls
    /// written in other files of the crate.
    pub(crate) fn rpc(&self) -> LodestoneClient<Channel> {
        self.rpc.clone()
    }

    /// The connection, for the calls of other services on it.
    pub(crate) fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// The known endpoints and the index of the connected one, for failing over.
    pub(crate) fn endpoint_list(&self) -> (Arc<[String]>, usize) {
        (self.endpoints.clone(), self.current)
    }

    /// Stores one batch atomically (all or nothing); returns once it is durable under the
    /// server's durability mode. The reply echoes the batch's sequence number.
    pub async fn write(&self, batch: pb::WriteRequest) -> Result<pb::WriteResponse> {
        Ok(self.rpc.clone().write(batch).await?.into_inner())
    }

    /// Sends batches on one stream; the server acknowledges each, in order, by its sequence
    /// number once it is durable. Batches in flight share fsyncs, so this is the fast path
    /// for a steady feed. The first rejected batch ends the stream with its error.
    pub async fn write_stream<S>(&self, batches: S) -> Result<AckStream>
    where
        S: Stream<Item = pb::WriteRequest> + Send + 'static,
    {
        let acks = self.rpc.clone().write_stream(batches).await?.into_inner();
        Ok(AckStream { acks })
    }

    /// Every point of `series` with `start_ns <= ts < end_ns`, in time order, collected from
    /// the server's pages.
    pub async fn query(
        &self,
        series: pb::SeriesKey,
        start_ns: i64,
        end_ns: i64,
    ) -> Result<Vec<pb::Point>> {
        let mut pages = self.query_pages(series, start_ns, end_ns).await?;
        let mut points = Vec::new();
        while let Some(page) = pages.next_page().await? {
            points.extend(page);
        }
        Ok(points)
    }

    /// The points of `series` with `start_ns <= ts < end_ns`, in time order, page by page
    /// as the server sends them, so that a caller streaming them out holds one page at a
    /// time.
    pub async fn query_pages(
        &self,
        series: pb::SeriesKey,
        start_ns: i64,
        end_ns: i64,
    ) -> Result<QueryPages> {
        let req = pb::QueryRequest {
            series: Some(series),
            start_ns,
            end_ns,
            limit: 0,
            stale_ok: self.stale_ok,
        };
        let pages = self.rpc.clone().query(req).await?.into_inner();
        Ok(QueryPages { pages })
    }

    /// The newest point of `series` (`None` if it has none); an unknown series is
    /// [`Error::NotFound`].
    pub async fn latest(&self, series: pb::SeriesKey) -> Result<Option<pb::Point>> {
        let req = pb::LatestRequest {
            series: vec![series],
            stale_ok: self.stale_ok,
        };
        let reply = self.rpc.clone().latest(req).await?.into_inner();
        let first = reply
            .points
            .into_iter()
            .next()
            .ok_or_else(|| Error::Protocol("latest answered no entry for one series".into()))?;
        Ok(first.point)
    }

    /// The server's engine counters and sizes.
    pub async fn stats(&self) -> Result<pb::StatsResponse> {
        Ok(self
            .rpc
            .clone()
            .stats(pb::StatsRequest {})
            .await?
            .into_inner())
    }

    /// Asks the server to move its in-memory head into a segment file; returns when done.
    pub async fn flush(&self) -> Result<()> {
        self.rpc.clone().flush(pb::FlushRequest {}).await?;
        Ok(())
    }
}

/// The acknowledgements of a [`Client::write_stream`], in the order the batches were sent.
#[derive(Debug)]
pub struct AckStream {
    acks: tonic::Streaming<pb::WriteResponse>,
}

impl AckStream {
    /// The next acknowledgement; `Ok(None)` once the server has acknowledged every batch and
    /// the stream is over. An error ends the stream: batches after the failed one were not
    /// stored.
    pub async fn next_ack(&mut self) -> Result<Option<pb::WriteResponse>> {
        Ok(self.acks.message().await?)
    }
}

/// The pages of a [`Client::query_pages`] call.
#[derive(Debug)]
pub struct QueryPages {
    pages: tonic::Streaming<pb::QueryResponse>,
}

impl QueryPages {
    /// The next page of points; `Ok(None)` after the last.
    pub async fn next_page(&mut self) -> Result<Option<Vec<pb::Point>>> {
        Ok(self.pages.message().await?.map(|page| page.points))
    }
}

/// A tonic endpoint for `endpoint`, or why it is malformed.
fn parse_endpoint(endpoint: &str) -> Result<Endpoint> {
    Endpoint::from_shared(endpoint.to_string()).map_err(|e| Error::InvalidEndpoint {
        endpoint: endpoint.to_string(),
        reason: e.to_string(),
    })
}

/// `host:port` becomes `http://host:port`; anything with a scheme is kept.
fn normalize(endpoint: &str) -> String {
    if endpoint.contains("://") {
        endpoint.to_string()
    } else {
        format!("http://{endpoint}")
    }
}

/// The transport error with its causes: tonic's own message alone says only
/// "transport error".
fn transport_reason(e: &tonic::transport::Error) -> String {
    let mut reason = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        reason.push_str(": ");
        reason.push_str(&s.to_string());
        source = s.source();
    }
    reason
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_without_scheme_is_plain_http() {
        assert_eq!(normalize("127.0.0.1:7400"), "http://127.0.0.1:7400");
        assert_eq!(normalize("https://h:1"), "https://h:1");
    }

    #[tokio::test]
    async fn connecting_to_a_closed_port_names_the_endpoint() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let e = Client::connect(format!("127.0.0.1:{port}"))
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Connect { .. }), "{e:?}");
        assert!(e.to_string().contains(&format!("127.0.0.1:{port}")), "{e}");
    }

    #[tokio::test]
    async fn a_malformed_endpoint_is_refused_before_connecting() {
        let e = Client::connect("http://bad host:1").await.unwrap_err();
        assert!(matches!(e, Error::InvalidEndpoint { .. }), "{e:?}");
        let e = Client::connect_any(["127.0.0.1:1", "http://bad host:1"])
            .await
            .unwrap_err();
        assert!(matches!(e, Error::InvalidEndpoint { .. }), "{e:?}");
        let none: [&str; 0] = [];
        let e = Client::connect_any(none).await.unwrap_err();
        assert!(e.to_string().contains("no endpoint"), "{e}");
    }

    #[tokio::test]
    async fn when_no_endpoint_answers_each_is_named_with_its_reason() {
        let closed = || {
            std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        };
        let (a, b) = (closed(), closed());
        let e = Client::connect_any([format!("127.0.0.1:{a}"), format!("127.0.0.1:{b}")])
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Connect { .. }), "{e:?}");
        let text = e.to_string();
        assert!(text.contains(&format!("127.0.0.1:{a}: ")), "{text}");
        assert!(text.contains(&format!("127.0.0.1:{b}: ")), "{text}");
    }
}
