//! Series response frames, chunks and label responses, both ways (THANOS.md §1.2, §1.3, §1.5).

use proto::thanos as pb;

use super::{ConvertError, labels_from_proto, labels_to_proto};
use crate::storeapi::{AggrChunk, Chunk, ChunkEncoding, LabelsResponse, Series, SeriesFrame};

/// `Chunk.Encoding` (THANOS.md §1.3): XOR=0, HISTOGRAM=1, FLOAT_HISTOGRAM=2 — not the prompb
/// numbering.
fn encoding_from_proto(value: i32) -> Result<ChunkEncoding, ConvertError> {
    use pb::chunk::Encoding;
    match Encoding::try_from(value) {
        Ok(Encoding::Xor) => Ok(ChunkEncoding::Xor),
        Ok(Encoding::Histogram) => Ok(ChunkEncoding::Histogram),
        Ok(Encoding::FloatHistogram) => Ok(ChunkEncoding::FloatHistogram),
        Err(_) => Err(ConvertError::UnknownEnum {
            field: "Chunk.Encoding",
            value,
        }),
    }
}

fn encoding_to_proto(encoding: ChunkEncoding) -> i32 {
    use pb::chunk::Encoding;
    let encoding = match encoding {
        ChunkEncoding::Xor => Encoding::Xor,
        ChunkEncoding::Histogram => Encoding::Histogram,
        ChunkEncoding::FloatHistogram => Encoding::FloatHistogram,
    };
    encoding as i32
}

impl TryFrom<pb::Chunk> for Chunk {
    type Error = ConvertError;

    fn try_from(chunk: pb::Chunk) -> Result<Self, Self::Error> {
        Ok(Self {
            encoding: encoding_from_proto(chunk.r#type)?,
            data: chunk.data,
            hash: chunk.hash,
        })
    }
}

impl From<Chunk> for pb::Chunk {
    fn from(chunk: Chunk) -> Self {
        pb::Chunk {
            r#type: encoding_to_proto(chunk.encoding),
            data: chunk.data,
            hash: chunk.hash,
        }
    }
}

fn optional_chunk(chunk: Option<pb::Chunk>) -> Result<Option<Chunk>, ConvertError> {
    chunk.map(Chunk::try_from).transpose()
}

impl TryFrom<pb::AggrChunk> for AggrChunk {
    type Error = ConvertError;

    fn try_from(chunk: pb::AggrChunk) -> Result<Self, Self::Error> {
        Ok(Self {
            min_time_ms: chunk.min_time,
            max_time_ms: chunk.max_time,
            raw: optional_chunk(chunk.raw)?,
            count: optional_chunk(chunk.count)?,
            sum: optional_chunk(chunk.sum)?,
            min: optional_chunk(chunk.min)?,
            max: optional_chunk(chunk.max)?,
            counter: optional_chunk(chunk.counter)?,
        })
    }
}

impl From<AggrChunk> for pb::AggrChunk {
    fn from(chunk: AggrChunk) -> Self {
        pb::AggrChunk {
            min_time: chunk.min_time_ms,
            max_time: chunk.max_time_ms,
            raw: chunk.raw.map(Into::into),
            count: chunk.count.map(Into::into),
            sum: chunk.sum.map(Into::into),
            min: chunk.min.map(Into::into),
            max: chunk.max.map(Into::into),
            counter: chunk.counter.map(Into::into),
        }
    }
}

/// A series from the wire; its labels are sorted here if the sender did not.
impl TryFrom<pb::Series> for Series {
    type Error = ConvertError;

    fn try_from(series: pb::Series) -> Result<Self, Self::Error> {
        Ok(Self {
            labels: labels_from_proto(series.labels),
            chunks: series
                .chunks
                .into_iter()
                .map(AggrChunk::try_from)
                .collect::<Result<_, _>>()?,
        })
    }
}

impl From<Series> for pb::Series {
    fn from(series: Series) -> Self {
        pb::Series {
            labels: labels_to_proto(series.labels),
            chunks: series.chunks.into_iter().map(Into::into).collect(),
        }
    }
}

/// The frames one wire `SeriesResponse` carries: one for `series` or `warning`, one per series
/// for `batch`, none for `hints` (the querier ignores response hints, THANOS.md §1.2) or for a
/// response with no result set.
pub fn series_frames_from_proto(
    response: pb::SeriesResponse,
) -> Result<Vec<SeriesFrame>, ConvertError> {
    use pb::series_response::Result as Frame;
    match response.result {
        Some(Frame::Series(series)) => Ok(vec![SeriesFrame::Series(series.try_into()?)]),
        Some(Frame::Warning(warning)) => Ok(vec![SeriesFrame::Warning(warning)]),
        Some(Frame::Batch(batch)) => batch
            .series
            .into_iter()
            .map(|s| Ok(SeriesFrame::Series(s.try_into()?)))
            .collect(),
        Some(Frame::Hints(_)) | None => Ok(Vec::new()),
    }
}

impl From<SeriesFrame> for pb::SeriesResponse {
    fn from(frame: SeriesFrame) -> Self {
        use pb::series_response::Result as Frame;
        let result = match frame {
            SeriesFrame::Series(series) => Frame::Series(series.into()),
            SeriesFrame::Warning(warning) => Frame::Warning(warning),
        };
        pb::SeriesResponse {
            result: Some(result),
        }
    }
}

// ---- label responses ----

impl From<pb::LabelNamesResponse> for LabelsResponse {
    fn from(response: pb::LabelNamesResponse) -> Self {
        Self {
            values: response.names,
            warnings: response.warnings,
        }
    }
}

impl From<LabelsResponse> for pb::LabelNamesResponse {
    fn from(response: LabelsResponse) -> Self {
        pb::LabelNamesResponse {
            names: response.values,
            warnings: response.warnings,
            hints: None,
        }
    }
}

impl From<pb::LabelValuesResponse> for LabelsResponse {
    fn from(response: pb::LabelValuesResponse) -> Self {
        Self {
            values: response.values,
            warnings: response.warnings,
        }
    }
}

impl From<LabelsResponse> for pb::LabelValuesResponse {
    fn from(response: LabelsResponse) -> Self {
        pb::LabelValuesResponse {
            values: response.values,
            warnings: response.warnings,
            hints: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::labels::Labels;

    fn wire_series(labels: &[(&str, &str)], encoding: i32) -> pb::Series {
        pb::Series {
            labels: labels
                .iter()
                .map(|(n, v)| pb::Label {
                    name: (*n).into(),
                    value: (*v).into(),
                })
                .collect(),
            chunks: vec![pb::AggrChunk {
                min_time: 1,
                max_time: 2,
                raw: Some(pb::Chunk {
                    r#type: encoding,
                    data: vec![0, 1].into(),
                    hash: 9,
                }),
                ..Default::default()
            }],
        }
    }

    #[test]
    fn response_frames_expand_batches_and_skip_hints() {
        use pb::series_response::Result as Frame;
        let batch = pb::SeriesBatch {
            series: vec![
                wire_series(&[("b", "2"), ("a", "1")], 1),
                wire_series(&[], 2),
            ],
        };
        let frames = series_frames_from_proto(pb::SeriesResponse {
            result: Some(Frame::Batch(batch)),
        })
        .expect("valid");
        let [SeriesFrame::Series(first), SeriesFrame::Series(second)] = frames.as_slice() else {
            panic!("expected two series, got {frames:?}");
        };
        assert_eq!(
            first.labels,
            Labels::from_pairs([("a", "1"), ("b", "2")]),
            "unsorted labels are sorted"
        );
        assert_eq!(
            first.chunks[0].raw.as_ref().map(|c| c.encoding),
            Some(ChunkEncoding::Histogram)
        );
        assert_eq!(
            second.chunks[0].raw.as_ref().map(|c| c.encoding),
            Some(ChunkEncoding::FloatHistogram)
        );

        let hints = pb::SeriesResponse {
            result: Some(Frame::Hints(prost_types::Any::default())),
        };
        assert!(series_frames_from_proto(hints).expect("valid").is_empty());
        let warning = pb::SeriesResponse {
            result: Some(Frame::Warning("careful".into())),
        };
        assert_eq!(
            series_frames_from_proto(warning).expect("valid"),
            vec![SeriesFrame::Warning("careful".into())]
        );
        let unknown = pb::SeriesResponse {
            result: Some(Frame::Series(wire_series(&[("a", "1")], 3))),
        };
        assert_eq!(
            series_frames_from_proto(unknown).expect_err("must be rejected"),
            ConvertError::UnknownEnum {
                field: "Chunk.Encoding",
                value: 3
            }
        );
    }
}
