//! A query's answer as Prometheus's JSON, written straight from the engine's [`Value`] and
//! sent as a streamed body.
//!
//! A range query's matrix can hold millions of points. Instead of building a JSON tree of it
//! and then a whole body (two copies of the answer in memory), [`QueryResult`] serializes the
//! value itself, element by element, and [`streamed`] runs that serialization on the blocking
//! pool into 64 KiB chunks that the HTTP body sends while the rest is written. The shapes are
//! upstream's (web/api/v1/api.go `QueryData` and its JSON codec): `[time, "value"]` pairs,
//! `values` before `histograms` in a series, floats formatted by [`format_float`].
//!
//! Knows nothing of evaluation or routing.

use std::io;

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use shared::api::Success;
use shared::labels::Labels;
use tokio::sync::mpsc;

use super::histogram_json::HistogramJson;
use super::query::format_float;
use crate::promql::storage::{Point, SampleValue};
use crate::promql::value::Value;

/// Chunks are sent once they reach this size.
const CHUNK_BYTES: usize = 64 * 1024;

/// Chunks written but not yet sent (the writer waits beyond that).
const CHUNKS_AHEAD: usize = 4;

/// A query's result (`data.result`) with the time an instant value was evaluated at.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    value: Value,
    t_ms: i64,
}

impl QueryResult {
    /// `value`, evaluated at `t_ms` if it is an instant value (matrices carry their times).
    pub fn new(value: Value, t_ms: i64) -> Self {
        Self { value, t_ms }
    }

    /// `data.resultType`: `scalar`, `string`, `vector` or `matrix`.
    pub fn result_type(&self) -> &'static str {
        self.value.type_name()
    }
}

impl Serialize for QueryResult {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t_ms = self.t_ms;
        match &self.value {
            Value::Scalar(v) => (Timestamp(t_ms), Float(*v)).serialize(s),
            Value::String(text) => (Timestamp(t_ms), text).serialize(s),
            Value::Vector(v) => s.collect_seq(v.iter().map(|e| Element {
                labels: &e.labels,
                value: &e.value,
                t_ms,
            })),
            Value::Matrix(m) => s.collect_seq(m.iter().map(|series| Series {
                labels: &series.labels,
                points: &series.points,
            })),
        }
    }
}

/// Unix seconds as Prometheus writes them: whole seconds as an integer, else with the ms.
struct Timestamp(i64);

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0 % 1000 == 0 {
            s.serialize_i64(self.0 / 1000)
        } else {
            // Exact for any realistic time: |t_ms| < 2^53.
            s.serialize_f64(self.0 as f64 / 1000.0)
        }
    }
}

/// A sample value as a string (see [`format_float`]).
struct Float(f64);

impl Serialize for Float {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_float(self.0))
    }
}

/// A label set as a JSON object.
struct LabelsJson<'a>(&'a Labels);

impl Serialize for LabelsJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|l| (&l.name, &l.value)))
    }
}

/// One element of an instant vector: `{"metric":…,"value":[t,"v"]}` or `"histogram"`.
struct Element<'a> {
    labels: &'a Labels,
    value: &'a SampleValue,
    t_ms: i64,
}

impl Serialize for Element<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("metric", &LabelsJson(self.labels))?;
        let t = Timestamp(self.t_ms);
        match self.value {
            SampleValue::Float(v) => map.serialize_entry("value", &(t, Float(*v)))?,
            SampleValue::Histogram(h) => {
                map.serialize_entry("histogram", &(t, HistogramJson::new(h)))?;
            }
        }
        map.end()
    }
}

/// One series of a matrix: its float points under `values`, its histograms under
/// `histograms`, each key only when there is something to list.
struct Series<'a> {
    labels: &'a Labels,
    points: &'a [Point],
}

impl Serialize for Series<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let is_float = |p: &&Point| matches!(p.value, SampleValue::Float(_));
        let floats = self.points.iter().filter(is_float).count();
        let histograms = self.points.len() - floats;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("metric", &LabelsJson(self.labels))?;
        if floats > 0 {
            map.serialize_entry("values", &Points(self.points, PointKind::Float))?;
        }
        if histograms > 0 {
            map.serialize_entry("histograms", &Points(self.points, PointKind::Histogram))?;
        }
        map.end()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum PointKind {
    Float,
    Histogram,
}

/// The points of one kind as `[t, value]` pairs.
struct Points<'a>(&'a [Point], PointKind);

impl Serialize for Points<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for p in self.0 {
            let t = Timestamp(p.t_ms);
            match (&p.value, self.1) {
                (SampleValue::Float(v), PointKind::Float) => {
                    seq.serialize_element(&(t, Float(*v)))?;
                }
                (SampleValue::Histogram(h), PointKind::Histogram) => {
                    seq.serialize_element(&(t, HistogramJson::new(h)))?;
                }
                _ => {}
            }
        }
        seq.end()
    }
}

/// `envelope` as an `application/json` response whose body is serialized on the blocking pool
/// and sent in chunks as it is written (`Cache-Control: no-store` when it carries warnings, as
/// for every answer). A client that goes away stops the serialization.
pub fn streamed<T: Serialize + Send + 'static>(envelope: Success<T>) -> Response {
    let partial = !envelope.warnings.is_empty();
    let (sender, receiver) = mpsc::channel::<Result<Bytes, io::Error>>(CHUNKS_AHEAD);
    tokio::task::spawn_blocking(move || {
        let mut writer = ChunkWriter {
            buffer: BytesMut::with_capacity(CHUNK_BYTES),
            sender,
        };
        let written = serde_json::to_writer(&mut writer, &envelope)
            .map_err(io::Error::other)
            .and_then(|()| writer.send());
        if let Err(error) = written {
            // The body ends with an error, so the client sees a broken response rather than a
            // truncated success; nothing to do if it is gone already.
            let _ = writer.sender.blocking_send(Err(error));
        }
    });
    // A stream that may be polled again after its end (the compression layer does).
    let chunks = tokio_stream::wrappers::ReceiverStream::new(receiver);
    let mut response = (
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(chunks),
    )
        .into_response();
    if partial {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Collects written bytes and sends them in chunks of [`CHUNK_BYTES`].
struct ChunkWriter {
    buffer: BytesMut,
    sender: mpsc::Sender<Result<Bytes, io::Error>>,
}

impl ChunkWriter {
    /// Sends what is buffered; fails when the body was dropped (the client went away).
    fn send(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = self.buffer.split().freeze();
        self.sender
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl io::Write for ChunkWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= CHUNK_BYTES {
            self.send()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::promql::value::{Element as VectorElement, RangeSeries};

    fn labels() -> Labels {
        Labels::from_pairs([("__name__", "up"), ("job", "a")])
    }

    fn json(result: &QueryResult) -> String {
        serde_json::to_string(result).expect("serializes")
    }

    #[test]
    fn instant_values_carry_the_evaluation_time() {
        assert_eq!(
            json(&QueryResult::new(Value::Scalar(1.5), 1_500)),
            r#"[1.5,"1.5"]"#
        );
        assert_eq!(
            json(&QueryResult::new(Value::String("x".into()), 2_000)),
            r#"[2,"x"]"#
        );
        let vector = Value::Vector(vec![VectorElement {
            labels: labels(),
            value: SampleValue::Float(f64::NAN),
            drop_name: false,
        }]);
        assert_eq!(
            json(&QueryResult::new(vector, 3_000)),
            r#"[{"metric":{"__name__":"up","job":"a"},"value":[3,"NaN"]}]"#
        );
    }

    #[test]
    fn series_list_floats_then_histograms_only_when_present() {
        let float = |t_ms, v| Point {
            t_ms,
            value: SampleValue::Float(v),
        };
        let matrix = Value::Matrix(vec![RangeSeries {
            labels: labels(),
            points: vec![float(1_000, 1.0), float(2_500, 1e21)],
            drop_name: false,
        }]);
        let result = QueryResult::new(matrix, 0);
        assert_eq!(result.result_type(), "matrix");
        assert_eq!(
            json(&result),
            r#"[{"metric":{"__name__":"up","job":"a"},"values":[[1,"1"],[2.5,"1e+21"]]}]"#
        );
    }

    #[tokio::test]
    async fn the_body_is_the_whole_envelope_in_chunks() {
        let many: Vec<Point> = (0..20_000)
            .map(|i| Point {
                t_ms: i * 15_000,
                value: SampleValue::Float(i as f64 / 7.0),
            })
            .collect();
        let value = Value::Matrix(vec![RangeSeries {
            labels: labels(),
            points: many,
            drop_name: false,
        }]);
        let expected = serde_json::to_vec(&Success::new(
            QueryResult::new(value.clone(), 0),
            vec!["w".into()],
        ))
        .expect("serializes");
        assert!(expected.len() > 2 * CHUNK_BYTES, "spans several chunks");
        let response = streamed(Success::new(QueryResult::new(value, 0), vec!["w".into()]));
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("the body completes");
        assert_eq!(body.as_ref(), expected.as_slice());
    }
}
