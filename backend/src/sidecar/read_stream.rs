//! Reads a streamed remote-read body as the `ChunkedSeries` of its frames, as the bytes arrive.
//!
//! Frames are cut by [`FrameDecoder`] and decoded as `prometheus.ChunkedReadResponse`; at most
//! one frame's bytes and series are held at a time. This module knows the message type and the
//! body's byte stream, nothing of what the series are used for.

use bytes::Bytes;
use futures::{Stream, StreamExt};
use prost::Message as _;
use proto::prometheus::{ChunkedReadResponse, ChunkedSeries};
use reqwest::Url;

use super::frame::{FrameDecoder, FrameError};
use super::prometheus::{PrometheusError, innermost_cause};

/// Pulls bytes from a response body and hands out the series of its frames in order.
pub struct ChunkedSeriesReader<S> {
    body: S,
    decoder: FrameDecoder,
    url: Url,
    /// Series of the last decoded frame not yet handed out (Prometheus sends one per frame).
    ready: std::vec::IntoIter<ChunkedSeries>,
    done: bool,
}

impl<S> ChunkedSeriesReader<S>
where
    S: Stream<Item = Result<Bytes, reqwest::Error>> + Unpin,
{
    /// A reader of `body`, the response of `url`.
    pub fn new(body: S, decoder: FrameDecoder, url: Url) -> Self {
        Self {
            body,
            decoder,
            url,
            ready: Vec::new().into_iter(),
            done: false,
        }
    }

    /// The next series; `None` at the end of the body. After an error, the stream ends.
    pub async fn next(&mut self) -> Option<Result<ChunkedSeries, PrometheusError>> {
        loop {
            if let Some(series) = self.ready.next() {
                return Some(Ok(series));
            }
            if self.done {
                return None;
            }
            if let Err(error) = self.advance().await {
                self.done = true;
                return Some(Err(error));
            }
        }
    }

    /// The reader as a stream.
    pub fn into_stream(self) -> impl Stream<Item = Result<ChunkedSeries, PrometheusError>> {
        futures::stream::unfold(self, |mut reader| async move {
            reader.next().await.map(|item| (item, reader))
        })
    }

    /// Decodes the next buffered frame, or reads more of the body.
    async fn advance(&mut self) -> Result<(), PrometheusError> {
        if let Some(message) = self
            .decoder
            .next_message()
            .map_err(|e| self.frame_error(e))?
        {
            let response = ChunkedReadResponse::decode(message).map_err(|e| {
                PrometheusError::InvalidResponse {
                    url: self.url.to_string(),
                    reason: format!("ChunkedReadResponse: {e}"),
                }
            })?;
            self.ready = response.chunked_series.into_iter();
            return Ok(());
        }
        match self.body.next().await {
            Some(Ok(bytes)) => self.decoder.extend(&bytes),
            Some(Err(error)) => {
                return Err(PrometheusError::Unreachable {
                    url: self.url.to_string(),
                    reason: innermost_cause(&error),
                });
            }
            None => {
                self.done = true;
                self.decoder.finish().map_err(|e| self.frame_error(e))?;
            }
        }
        Ok(())
    }

    fn frame_error(&self, source: FrameError) -> PrometheusError {
        PrometheusError::Frame {
            url: self.url.to_string(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sidecar::frame::encode_frame;

    fn frame(name: &str) -> Vec<u8> {
        let label = proto::prometheus::Label {
            name: "__name__".into(),
            value: name.into(),
        };
        let series = ChunkedSeries {
            labels: vec![label],
            chunks: vec![],
        };
        encode_frame(
            &ChunkedReadResponse {
                chunked_series: vec![series],
                query_index: 0,
            }
            .encode_to_vec(),
        )
    }

    async fn read(pieces: Vec<Vec<u8>>) -> Vec<Result<ChunkedSeries, PrometheusError>> {
        let body = futures::stream::iter(pieces.into_iter().map(|p| Ok(Bytes::from(p))));
        let url = Url::parse("http://x/api/v1/read").expect("valid URL");
        ChunkedSeriesReader::new(body, FrameDecoder::new(1000), url)
            .into_stream()
            .collect()
            .await
    }

    #[tokio::test]
    async fn series_come_out_whatever_the_body_pieces() {
        let body: Vec<u8> = [frame("a"), frame("b")].concat();
        let out = read(body.chunks(3).map(<[u8]>::to_vec).collect()).await;
        let names: Vec<String> = out
            .into_iter()
            .map(|s| s.expect("frames decode").labels[0].value.clone())
            .collect();
        assert_eq!(names, ["a", "b"]);
    }

    #[tokio::test]
    async fn a_truncated_body_ends_with_an_error() {
        let body: Vec<u8> = [frame("a"), frame("b")].concat();
        let out = read(vec![body[..body.len() - 1].to_vec()]).await;
        assert_eq!(out.len(), 2);
        assert!(out[0].is_ok());
        assert!(
            matches!(
                &out[1],
                Err(PrometheusError::Frame {
                    source: FrameError::Truncated { .. },
                    ..
                })
            ),
            "{out:?}"
        );
    }

    #[tokio::test]
    async fn a_frame_that_is_not_a_message_is_an_error() {
        let out = read(vec![encode_frame(b"\xff\xff\xff")]).await;
        assert!(
            matches!(&out[..], [Err(PrometheusError::InvalidResponse { .. })]),
            "{out:?}"
        );
    }
}
