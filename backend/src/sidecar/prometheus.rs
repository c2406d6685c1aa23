//! HTTP client for the parts of Prometheus's API the sidecar needs: external labels, the oldest
//! timestamp, streamed remote read, label names and label values (metric metadata is in
//! [`super::metadata`]).
//!
//! Remote read follows prometheus storage/remote/codec.go and read_handler.go: a snappy
//! block-compressed `ReadRequest` accepting `STREAMED_XOR_CHUNKS`, answered by
//! `application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse` frames, decoded here
//! as they arrive (see [`super::frame`]). This module speaks Prometheus's wire formats only; it
//! knows nothing of external-label semantics or of the StoreAPI.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::time::Duration;

use futures::Stream;
use prost::Message as _;
use proto::prometheus::{ChunkedSeries, Query, ReadRequest, read_request::ResponseType};
use reqwest::{Response, Url};
use serde::Deserialize;
use shared::labels::{Labels, Matcher};
use shared::series::TimeRange;

use super::frame::{FrameDecoder, FrameError};
use super::read_stream::ChunkedSeriesReader;
use super::selector::{SelectorError, format_selector};

/// Content type of a streamed remote-read response.
const STREAMED_CONTENT_TYPE: &str =
    "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse";

/// Error bodies longer than this are cut in messages.
const MAX_ERROR_BODY_CHARS: usize = 2048;

/// The Prometheus gauge holding the oldest timestamp in its TSDB, in ms (prometheus tsdb/db.go:
/// the first block's min time, or the head's when there are no blocks).
const LOWEST_TIMESTAMP_METRIC: &str = "prometheus_tsdb_lowest_timestamp";

/// A call to Prometheus failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrometheusError {
    /// `--prometheus.url` is not an http(s) URL.
    #[error("invalid Prometheus URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// Why it is rejected.
        reason: String,
    },
    /// Prometheus could not be reached (connection refused, reset, DNS, ...).
    #[error("prometheus at {url}: {reason}")]
    Unreachable {
        /// The URL called.
        url: String,
        /// The innermost cause.
        reason: String,
    },
    /// Prometheus did not answer within the timeout.
    #[error("prometheus at {url}: no answer within {timeout:?}")]
    Timeout {
        /// The URL called.
        url: String,
        /// The timeout.
        timeout: Duration,
    },
    /// Prometheus answered with a non-2xx status.
    #[error("prometheus at {url} answered {status}: {body}")]
    Status {
        /// The URL called.
        url: String,
        /// HTTP status code.
        status: u16,
        /// The response body (cut to a few KB).
        body: String,
    },
    /// Prometheus's answer could not be understood.
    #[error("prometheus at {url}: invalid response: {reason}")]
    InvalidResponse {
        /// The URL called.
        url: String,
        /// What was wrong.
        reason: String,
    },
    /// The streamed response's framing is broken.
    #[error("prometheus at {url}: {source}")]
    Frame {
        /// The URL called.
        url: String,
        /// The framing problem.
        source: FrameError,
    },
    /// The request cannot be expressed in Prometheus's API.
    #[error("{0}")]
    Request(#[from] SelectorError),
}

/// Series streamed from remote read, one `ChunkedSeries` per item, in Prometheus's order.
pub type ChunkedSeriesStream =
    Pin<Box<dyn Stream<Item = Result<ChunkedSeries, PrometheusError>> + Send>>;

/// Label names or values with Prometheus's warnings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelList {
    /// Names or values as Prometheus returned them (sorted).
    pub values: Vec<String>,
    /// Warnings from Prometheus.
    pub warnings: Vec<String>,
}

/// A client for one Prometheus server.
#[derive(Debug, Clone)]
pub struct PrometheusClient {
    base: Url,
    http: reqwest::Client,
    timeout: Duration,
    max_frame_bytes: usize,
}

impl PrometheusClient {
    /// A client for the Prometheus at `url`. `timeout` bounds connecting and every call except
    /// remote read, whose body may stream for longer; `max_frame_bytes` bounds one remote-read
    /// frame.
    pub fn new(
        url: &str,
        timeout: Duration,
        max_frame_bytes: usize,
    ) -> Result<Self, PrometheusError> {
        let invalid = |reason: &str| PrometheusError::InvalidUrl {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        let base = Url::parse(url).map_err(|e| invalid(&e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https")
            || base.cannot_be_a_base()
            || base.host().is_none()
        {
            return Err(invalid("expected http://host:port[/prefix]"));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(timeout)
            .user_agent(concat!("chorus-sidecar/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| invalid(&error_chain(&e)))?;
        Ok(Self {
            base,
            http,
            timeout,
            max_frame_bytes,
        })
    }

    /// The base URL, for messages.
    pub fn url(&self) -> &Url {
        &self.base
    }

    /// The external labels from `GET /api/v1/status/config` (`global.external_labels`).
    pub async fn external_labels(&self) -> Result<Labels, PrometheusError> {
        #[derive(Deserialize)]
        struct ConfigData {
            yaml: String,
        }
        #[derive(Deserialize, Default)]
        struct Config {
            #[serde(default)]
            global: Global,
        }
        #[derive(Deserialize, Default)]
        struct Global {
            #[serde(default)]
            external_labels: BTreeMap<String, String>,
        }
        let url = self.endpoint(&["api", "v1", "status", "config"]);
        let (data, _) = self.get_json::<ConfigData>(url.clone()).await?;
        let config: Config =
            serde_yaml::from_str(&data.yaml).map_err(|e| PrometheusError::InvalidResponse {
                url: url.to_string(),
                reason: format!("configuration YAML: {e}"),
            })?;
        Ok(Labels::from_pairs(config.global.external_labels))
    }

    /// The oldest timestamp in Prometheus's TSDB, in ms, read from its own `/metrics`
    /// (`prometheus_tsdb_lowest_timestamp`). `None` while the TSDB holds no sample.
    pub async fn lowest_timestamp_ms(&self) -> Result<Option<i64>, PrometheusError> {
        let url = self.endpoint(&["metrics"]);
        let response = self
            .send(self.http.get(url.clone()).timeout(self.timeout), &url)
            .await?;
        let text = response
            .text()
            .await
            .map_err(|e| self.transport_error(&url, &e))?;
        let value = text
            .lines()
            .find_map(|line| {
                line.strip_prefix(LOWEST_TIMESTAMP_METRIC)?
                    .strip_prefix(' ')
            })
            .ok_or_else(|| PrometheusError::InvalidResponse {
                url: url.to_string(),
                reason: format!("no {LOWEST_TIMESTAMP_METRIC} metric"),
            })?;
        let value: f64 = value
            .trim()
            .parse()
            .map_err(|_| PrometheusError::InvalidResponse {
                url: url.to_string(),
                reason: format!("{LOWEST_TIMESTAMP_METRIC} is not a number: {value:?}"),
            })?;
        // An empty head reports MaxInt64 (as a float, which rounds up past i64::MAX).
        Ok((value.is_finite() && value < i64::MAX as f64).then_some(value as i64))
    }

    /// Starts a streamed remote read of one query. The returned stream decodes frames as the
    /// body arrives and never holds more than one frame.
    pub async fn remote_read(&self, query: Query) -> Result<ChunkedSeriesStream, PrometheusError> {
        let url = self.endpoint(&["api", "v1", "read"]);
        let request = ReadRequest {
            queries: vec![query],
            accepted_response_types: vec![ResponseType::StreamedXorChunks as i32],
        };
        let body = snap::raw::Encoder::new()
            .compress_vec(&request.encode_to_vec())
            .map_err(|e| PrometheusError::InvalidResponse {
                url: url.to_string(),
                reason: format!("snappy compression: {e}"),
            })?;
        let builder = self
            .http
            .post(url.clone())
            .header(http::header::CONTENT_ENCODING, "snappy")
            .header(http::header::CONTENT_TYPE, "application/x-protobuf")
            .header("X-Prometheus-Remote-Read-Version", "0.1.0")
            .body(body);
        let response = self.send(builder, &url).await?;
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        if !content_type.starts_with(STREAMED_CONTENT_TYPE) {
            return Err(PrometheusError::InvalidResponse {
                url: url.to_string(),
                reason: format!(
                    "content type {content_type:?}, expected {STREAMED_CONTENT_TYPE:?}"
                ),
            });
        }
        let body = Box::pin(response.bytes_stream());
        let reader = ChunkedSeriesReader::new(body, FrameDecoder::new(self.max_frame_bytes), url);
        Ok(Box::pin(reader.into_stream()))
    }

    /// Label names of series matching `matchers` in `range` (`GET /api/v1/labels`).
    pub async fn label_names(
        &self,
        range: TimeRange,
        matchers: &[Matcher],
    ) -> Result<LabelList, PrometheusError> {
        let url = self.label_url(&["api", "v1", "labels"], range, matchers)?;
        let (values, warnings) = self.get_json::<Vec<String>>(url).await?;
        Ok(LabelList { values, warnings })
    }

    /// Values of label `name` of series matching `matchers` in `range`
    /// (`GET /api/v1/label/<name>/values`).
    pub async fn label_values(
        &self,
        name: &str,
        range: TimeRange,
        matchers: &[Matcher],
    ) -> Result<LabelList, PrometheusError> {
        let url = self.label_url(&["api", "v1", "label", name, "values"], range, matchers)?;
        let (values, warnings) = self.get_json::<Vec<String>>(url).await?;
        Ok(LabelList { values, warnings })
    }

    /// `base/<segments>` with `start`, `end` (seconds) and `match[]` query parameters.
    fn label_url(
        &self,
        segments: &[&str],
        range: TimeRange,
        matchers: &[Matcher],
    ) -> Result<Url, PrometheusError> {
        let mut url = self.endpoint(segments);
        {
            let mut query = url.query_pairs_mut();
            // The extremes mean "unbounded"; Prometheus then uses its own defaults.
            if range.min_ms() != i64::MIN {
                query.append_pair("start", &format_seconds(range.min_ms()));
            }
            if range.max_ms() != i64::MAX {
                query.append_pair("end", &format_seconds(range.max_ms()));
            }
            if !matchers.is_empty() {
                query.append_pair("match[]", &format_selector(matchers)?);
            }
        }
        Ok(url)
    }

    /// `base/<segments>`, keeping any path prefix of the base URL. Segments are percent-encoded.
    pub(super) fn endpoint(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .expect("the constructor rejects cannot-be-a-base URLs")
            .pop_if_empty()
            .extend(segments);
        url
    }

    /// GETs a Prometheus API envelope and returns `data` and `warnings`.
    pub(super) async fn get_json<T: for<'de> Deserialize<'de>>(
        &self,
        url: Url,
    ) -> Result<(T, Vec<String>), PrometheusError> {
        #[derive(Deserialize)]
        struct Envelope<T> {
            status: String,
            data: Option<T>,
            #[serde(default)]
            warnings: Vec<String>,
            #[serde(default)]
            error: String,
        }
        let response = self
            .send(self.http.get(url.clone()).timeout(self.timeout), &url)
            .await?;
        let body = response
            .bytes()
            .await
            .map_err(|e| self.transport_error(&url, &e))?;
        let invalid = |reason: String| PrometheusError::InvalidResponse {
            url: url.to_string(),
            reason,
        };
        let envelope: Envelope<T> =
            serde_json::from_slice(&body).map_err(|e| invalid(e.to_string()))?;
        match (envelope.status.as_str(), envelope.data) {
            ("success", Some(data)) => Ok((data, envelope.warnings)),
            _ => Err(invalid(format!(
                "status {:?}: {}",
                envelope.status, envelope.error
            ))),
        }
    }

    /// Sends a request; non-2xx answers become [`PrometheusError::Status`] with the body text.
    ///
    /// Every call is read-only, so a transport failure is retried once: it is usually a pooled
    /// keep-alive connection that Prometheus closed, and the retry then either succeeds on a
    /// fresh connection or reports the real cause (e.g. connection refused).
    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        url: &Url,
    ) -> Result<Response, PrometheusError> {
        let retry = request.try_clone();
        let response = match (request.send().await, retry) {
            (Ok(response), _) => response,
            (Err(error), Some(retry)) if !error.is_timeout() => {
                tracing::debug!(%url, error = %error_chain(&error), "retrying on a new connection");
                retry
                    .send()
                    .await
                    .map_err(|e| self.transport_error(url, &e))?
            }
            (Err(error), _) => return Err(self.transport_error(url, &error)),
        };
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body = response.text().await.unwrap_or_default();
        let mut body = body.trim().to_string();
        if let Some((cut, _)) = body.char_indices().nth(MAX_ERROR_BODY_CHARS) {
            body.truncate(cut);
            body.push('…');
        }
        Err(PrometheusError::Status {
            url: url.to_string(),
            status: status.as_u16(),
            body,
        })
    }

    fn transport_error(&self, url: &Url, error: &reqwest::Error) -> PrometheusError {
        if error.is_timeout() {
            PrometheusError::Timeout {
                url: url.to_string(),
                timeout: self.timeout,
            }
        } else {
            PrometheusError::Unreachable {
                url: url.to_string(),
                reason: innermost_cause(error),
            }
        }
    }
}

/// Milliseconds as the decimal seconds Prometheus's API parses (`1700000000.123`).
fn format_seconds(ms: i64) -> String {
    let (secs, millis) = (ms.div_euclid(1000), ms.rem_euclid(1000));
    format!("{secs}.{millis:03}")
}

/// The innermost cause of an error, e.g. "Connection refused (os error 111)".
pub(super) fn innermost_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string()
}

/// The whole cause chain of an error, joined with ": ".
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![error.to_string()];
    let mut current = error;
    while let Some(source) = current.source() {
        parts.push(source.to_string());
        current = source;
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_keep_milliseconds_and_sign() {
        assert_eq!(format_seconds(1_700_000_000_123), "1700000000.123");
        assert_eq!(format_seconds(5), "0.005");
        assert_eq!(format_seconds(-1), "-1.999");
    }

    #[test]
    fn endpoints_keep_the_path_prefix_and_encode_segments() {
        let client =
            PrometheusClient::new("http://127.0.0.1:9090/prom/", Duration::from_secs(1), 100)
                .expect("valid Prometheus URL");
        assert_eq!(
            client.endpoint(&["api", "v1", "read"]).as_str(),
            "http://127.0.0.1:9090/prom/api/v1/read"
        );
        let url = client
            .label_url(
                &["api", "v1", "label", "a/b", "values"],
                TimeRange::new(1000, 2500).expect("ordered time range"),
                &[Matcher::equal("x", "y z")],
            )
            .expect("label URL can be built");
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:9090/prom/api/v1/label/a%2Fb/values?start=1.000&end=2.500&match%5B%5D=%7Bx%3D%22y+z%22%7D"
        );
        let all = client
            .label_url(&["api", "v1", "labels"], TimeRange::ALL, &[])
            .expect("label URL can be built");
        assert_eq!(all.query(), Some(""));
    }

    #[test]
    fn urls_other_than_http_are_rejected() {
        assert!(PrometheusClient::new("localhost:9090", Duration::from_secs(1), 100).is_err());
        assert!(PrometheusClient::new("ftp://x", Duration::from_secs(1), 100).is_err());
    }
}
