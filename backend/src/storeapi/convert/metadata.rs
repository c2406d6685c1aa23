//! Metric metadata requests and responses (`thanos.Metadata/MetricMetadata`, upstream
//! pkg/metadata/metadatapb/rpc.proto): validated from the wire, encoded for it.

use std::collections::BTreeMap;

use proto::thanos as pb;

use super::ConvertError;
use super::request::{partial_response_from_proto, partial_response_to_proto};
use crate::storeapi::{MetadataResponse, MetricMetadata, MetricMetadataRequest};

/// The wire limit: negative is "no limit", anything else a count (0: no metrics).
impl TryFrom<pb::MetricMetadataRequest> for MetricMetadataRequest {
    type Error = ConvertError;

    fn try_from(request: pb::MetricMetadataRequest) -> Result<Self, ConvertError> {
        Ok(Self {
            metric: (!request.metric.is_empty()).then_some(request.metric),
            limit: usize::try_from(request.limit).ok(),
            partial_response: partial_response_from_proto(
                request.partial_response_strategy,
                false,
            )?,
        })
    }
}

/// `None` is -1; limits past `i32::MAX` saturate (no store holds that many metrics).
impl From<MetricMetadataRequest> for pb::MetricMetadataRequest {
    fn from(request: MetricMetadataRequest) -> Self {
        Self {
            metric: request.metric.unwrap_or_default(),
            limit: request
                .limit
                .map_or(-1, |n| i32::try_from(n).unwrap_or(i32::MAX)),
            partial_response_strategy: partial_response_to_proto(request.partial_response),
        }
    }
}

/// One `metadata` frame's map, sorted by metric; duplicate descriptions of a metric are dropped.
pub fn metadata_from_proto(metadata: pb::MetricMetadata) -> MetadataResponse {
    let mut response = MetadataResponse::default();
    for (metric, entry) in metadata.metadata {
        let metas = entry
            .metas
            .into_iter()
            .map(|m| MetricMetadata {
                kind: m.r#type,
                help: m.help,
                unit: m.unit,
            })
            .collect();
        response.merge(MetadataResponse {
            metadata: BTreeMap::from([(metric, metas)]),
            warnings: Vec::new(),
        });
    }
    response
}

/// The frames a server sends for `response`: one `metadata` frame (sent even when empty, as the
/// Thanos sidecar does), then one `warning` frame per warning.
pub fn metadata_response_frames(response: MetadataResponse) -> Vec<pb::MetricMetadataResponse> {
    use pb::metric_metadata_response::Result as Frame;
    let metadata = response
        .metadata
        .into_iter()
        .map(|(metric, metas)| {
            let metas = metas
                .into_iter()
                .map(|m| pb::Meta {
                    r#type: m.kind,
                    help: m.help,
                    unit: m.unit,
                })
                .collect();
            (metric, pb::MetricMetadataEntry { metas })
        })
        .collect();
    std::iter::once(Frame::Metadata(pb::MetricMetadata { metadata }))
        .chain(response.warnings.into_iter().map(Frame::Warning))
        .map(|frame| pb::MetricMetadataResponse {
            result: Some(frame),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storeapi::PartialResponse;

    #[test]
    fn requests_round_trip_with_thanos_limit_conventions() {
        for limit in [None, Some(0), Some(7)] {
            let request = MetricMetadataRequest {
                metric: Some("up".into()),
                limit,
                partial_response: PartialResponse::Abort,
            };
            let wire = pb::MetricMetadataRequest::from(request.clone());
            assert_eq!(wire.limit, limit.map_or(-1, |n| n as i32));
            assert_eq!(MetricMetadataRequest::try_from(wire), Ok(request));
        }
        let all = MetricMetadataRequest::try_from(pb::MetricMetadataRequest {
            metric: String::new(),
            limit: -5,
            partial_response_strategy: 0,
        })
        .expect("valid request");
        assert_eq!((all.metric, all.limit), (None, None));
        let bad = pb::MetricMetadataRequest {
            partial_response_strategy: 9,
            ..Default::default()
        };
        assert!(MetricMetadataRequest::try_from(bad).is_err());
    }

    /// Field numbers and encodings as Thanos's metadatapb, byte for byte.
    #[test]
    fn wire_bytes_match_thanos_field_numbers() {
        use prost::Message as _;
        let request = pb::MetricMetadataRequest::from(MetricMetadataRequest {
            metric: Some("up".into()),
            limit: None,
            partial_response: PartialResponse::Abort,
        });
        let mut expected = vec![0x0A, 2, b'u', b'p', 0x10];
        expected.extend([0xFF; 9]);
        expected.extend([0x01, 0x18, 0x01]);
        assert_eq!(
            request.encode_to_vec(),
            expected,
            "metric=1, limit=2 (-1), strategy=3"
        );

        let frames = metadata_response_frames(MetadataResponse {
            metadata: BTreeMap::from([(
                "m".to_string(),
                vec![MetricMetadata {
                    kind: "gauge".into(),
                    help: "h".into(),
                    unit: "u".into(),
                }],
            )]),
            warnings: vec!["w".into()],
        });
        let meta = [&[0x0A, 5][..], b"gauge", &[0x12, 1, b'h', 0x1A, 1, b'u']].concat();
        let entry = [&[0x12, meta.len() as u8][..], &meta].concat();
        let map_entry = [&[0x0A, 1, b'm', 0x12, entry.len() as u8][..], &entry].concat();
        let metadata = [&[0x0A, map_entry.len() as u8][..], &map_entry].concat();
        let frame = [&[0x0A, metadata.len() as u8][..], &metadata].concat();
        assert_eq!(
            frames[0].encode_to_vec(),
            frame,
            "metadata=1 holding map<metric, entry with metas=2>"
        );
        assert_eq!(frames[1].encode_to_vec(), [0x12, 1, b'w'], "warning=2");
    }

    #[test]
    fn responses_round_trip_through_frames() {
        let up = MetricMetadata {
            kind: "gauge".into(),
            help: "Up.".into(),
            unit: String::new(),
        };
        let response = MetadataResponse {
            metadata: BTreeMap::from([("up".to_string(), vec![up])]),
            warnings: vec!["store x failed".into()],
        };
        let frames = metadata_response_frames(response.clone());
        assert_eq!(frames.len(), 2);
        let mut back = MetadataResponse::default();
        for frame in frames {
            match frame.result {
                Some(pb::metric_metadata_response::Result::Metadata(m)) => {
                    back.merge(metadata_from_proto(m));
                }
                Some(pb::metric_metadata_response::Result::Warning(w)) => back.warnings.push(w),
                None => panic!("empty frame"),
            }
        }
        assert_eq!(back, response);
    }
}
