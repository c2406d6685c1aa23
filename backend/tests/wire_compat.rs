//! Wire compatibility of the StoreAPI messages with Thanos.
//!
//! Each expected byte vector is written by hand from the field numbers in THANOS.md §1.2 (tag =
//! field << 3 | wire type; wire type 0 = varint, 2 = length-delimited), so a wrong field number or
//! enum value in the `.proto` files or in `storeapi::convert` fails here. The property tests check
//! that domain → proto → bytes → proto → domain gives back what went in.

use bytes::Bytes;
use chorus::storeapi::convert::series_frames_from_proto;
use chorus::storeapi::{
    AggrChunk, Aggregate, Chunk, ChunkEncoding, ComponentType, LabelValuesRequest, PartialResponse,
    QueryHints, Series, SeriesFrame, SeriesRequest, StoreInfo,
};
use proptest::prelude::*;
use prost::Message;
use proto::thanos as pb;
use proto::thanos::info as infopb;
use shared::labels::{Labels, MatchOp, Matcher};
use shared::series::TimeRange;

fn range(min_ms: i64, max_ms: i64) -> TimeRange {
    TimeRange::new(min_ms, max_ms).expect("test ranges are ordered")
}

#[test]
fn series_request_bytes() {
    let mut request = SeriesRequest::new(
        range(1000, 2000),
        vec![Matcher::new(MatchOp::Regex, "job", "api").expect("valid regex")],
    );
    request.max_resolution_window_ms = 300_000;
    request.aggregates = vec![Aggregate::Count, Aggregate::Sum];
    request.partial_response = PartialResponse::Abort;
    request.skip_chunks = true;
    request.query_hints = Some(QueryHints {
        step_ms: 60_000,
        func: Some("rate".into()),
        grouping: None,
        range_ms: 300_000,
    });
    request.without_replica_labels = vec!["replica".into()];
    request.limit = Some(100);

    #[rustfmt::skip]
    let expected: Vec<u8> = vec![
        0x08, 0xE8, 0x07,             // 1 min_time varint: 1000
        0x10, 0xD0, 0x0F,             // 2 max_time varint: 2000
        0x1A, 0x0C,                   // 3 matchers, 12 bytes:
        0x08, 0x02,                   //   1 type varint: RE=2
        0x12, 0x03, b'j', b'o', b'b', //   2 name "job"
        0x1A, 0x03, b'a', b'p', b'i', //   3 value "api"
        0x20, 0xE0, 0xA7, 0x12,       // 4 max_resolution_window varint: 300000
        0x2A, 0x02, 0x01, 0x02,       // 5 aggregates, packed: COUNT=1, SUM=2
        0x38, 0x01,                   // 7 partial_response_strategy: ABORT=1
        0x40, 0x01,                   // 8 skip_chunks: true
        0x62, 0x12,                   // 12 query_hints, 18 bytes:
        0x08, 0xE0, 0xD4, 0x03,       //   1 step_millis: 60000
        0x12, 0x06,                   //   2 func, 6 bytes:
        0x0A, 0x04, b'r', b'a', b't', b'e', // 1 name "rate"
        0x2A, 0x04,                   //   5 range, 4 bytes:
        0x08, 0xE0, 0xA7, 0x12,       //     1 millis: 300000
        0x72, 0x07, b'r', b'e', b'p', b'l', b'i', b'c', b'a', // 14 without_replica_labels "replica"
        0x78, 0x64,                   // 15 limit: 100
    ];
    assert_eq!(
        pb::SeriesRequest::from(request.clone()).encode_to_vec(),
        expected
    );

    let decoded = pb::SeriesRequest::decode(expected.as_slice()).expect("valid message");
    let decoded = SeriesRequest::try_from(decoded).expect("valid request");
    assert_eq!(decoded.range, request.range);
    assert_eq!(decoded.matchers, request.matchers);
    assert_eq!(decoded.aggregates, request.aggregates);
    assert_eq!(decoded.query_hints, request.query_hints);
    assert_eq!((decoded.limit, decoded.skip_chunks), (Some(100), true));
}

#[test]
fn series_response_bytes() {
    let series = Series {
        labels: Labels::from_pairs([("job", "api")]),
        chunks: vec![AggrChunk::raw(
            1000,
            2000,
            Chunk {
                encoding: ChunkEncoding::Xor,
                data: Bytes::from_static(&[0x00, 0x01, 0x80]),
                hash: 258,
            },
        )],
    };

    #[rustfmt::skip]
    let expected: Vec<u8> = vec![
        0x0A, 0x1E,                   // 1 series, 30 bytes:
        0x0A, 0x0A,                   //   1 labels, 10 bytes:
        0x0A, 0x03, b'j', b'o', b'b', //     1 name "job"
        0x12, 0x03, b'a', b'p', b'i', //     2 value "api"
        0x12, 0x10,                   //   2 chunks, 16 bytes:
        0x08, 0xE8, 0x07,             //     1 min_time: 1000
        0x10, 0xD0, 0x0F,             //     2 max_time: 2000
        0x1A, 0x08,                   //     3 raw, 8 bytes (type XOR=0 is the default, not sent):
        0x12, 0x03, 0x00, 0x01, 0x80, //       2 data
        0x18, 0x82, 0x02,             //       3 hash: 258
    ];
    let frame = SeriesFrame::Series(series);
    assert_eq!(
        pb::SeriesResponse::from(frame.clone()).encode_to_vec(),
        expected
    );
    let decoded = pb::SeriesResponse::decode(expected.as_slice()).expect("valid message");
    assert_eq!(
        series_frames_from_proto(decoded).expect("valid frames"),
        vec![frame]
    );
}

#[test]
fn series_response_warning_and_batch_bytes() {
    #[rustfmt::skip]
    let warning: Vec<u8> = vec![
        0x12, 0x02, b'h', b'i',       // 2 warning "hi"
    ];
    let frames =
        series_frames_from_proto(pb::SeriesResponse::decode(warning.as_slice()).expect("valid"));
    assert_eq!(
        frames.expect("valid frames"),
        vec![SeriesFrame::Warning("hi".into())]
    );

    #[rustfmt::skip]
    let batch: Vec<u8> = vec![
        0x22, 0x18,                   // 4 batch, 24 bytes:
        0x0A, 0x0A,                   //   1 series, 10 bytes:
        0x0A, 0x06,                   //     1 labels, 6 bytes:
        0x0A, 0x01, b'a',             //       1 name "a"
        0x12, 0x01, b'1',             //       2 value "1"
        0x12, 0x00,                   //     2 chunks, empty AggrChunk
        0x0A, 0x0A,                   //   1 series, 10 bytes:
        0x0A, 0x06,                   //     1 labels, 6 bytes:
        0x0A, 0x01, b'a',             //       1 name "a"
        0x12, 0x01, b'2',             //       2 value "2"
        0x12, 0x00,                   //     2 chunks, empty AggrChunk
    ];
    let frames =
        series_frames_from_proto(pb::SeriesResponse::decode(batch.as_slice()).expect("valid"));
    let labels: Vec<Labels> = frames
        .expect("valid frames")
        .into_iter()
        .map(|frame| match frame {
            SeriesFrame::Series(series) => series.labels,
            SeriesFrame::Warning(w) => panic!("unexpected warning {w}"),
        })
        .collect();
    assert_eq!(
        labels,
        vec![
            Labels::from_pairs([("a", "1")]),
            Labels::from_pairs([("a", "2")])
        ]
    );
}

#[test]
fn chunk_encoding_numbers() {
    let chunk = |encoding| {
        pb::Chunk::from(Chunk {
            encoding,
            data: Bytes::new(),
            hash: 0,
        })
        .encode_to_vec()
    };
    assert_eq!(chunk(ChunkEncoding::Xor), Vec::<u8>::new()); // XOR=0: every field is the default
    assert_eq!(chunk(ChunkEncoding::Histogram), vec![0x08, 0x01]); // 1 type: HISTOGRAM=1
    assert_eq!(chunk(ChunkEncoding::FloatHistogram), vec![0x08, 0x02]); // 1 type: FLOAT_HISTOGRAM=2
}

#[test]
fn label_values_request_bytes() {
    let request = LabelValuesRequest {
        label: "job".into(),
        range: range(1000, 2000),
        matchers: vec![Matcher::new(MatchOp::NotEqual, "env", "dev").expect("not a regex")],
        without_replica_labels: vec!["replica".into()],
        partial_response: PartialResponse::Abort,
        limit: Some(10),
    };

    #[rustfmt::skip]
    let expected: Vec<u8> = vec![
        0x0A, 0x03, b'j', b'o', b'b', // 1 label "job"
        0x18, 0x01,                   // 3 partial_response_strategy: ABORT=1
        0x20, 0xE8, 0x07,             // 4 start: 1000
        0x28, 0xD0, 0x0F,             // 5 end: 2000
        0x3A, 0x0C,                   // 7 matchers, 12 bytes:
        0x08, 0x01,                   //   1 type: NEQ=1
        0x12, 0x03, b'e', b'n', b'v', //   2 name "env"
        0x1A, 0x03, b'd', b'e', b'v', //   3 value "dev"
        0x42, 0x07, b'r', b'e', b'p', b'l', b'i', b'c', b'a', // 8 without_replica_labels "replica"
        0x48, 0x0A,                   // 9 limit: 10
    ];
    assert_eq!(
        pb::LabelValuesRequest::from(request).encode_to_vec(),
        expected
    );
    let decoded = pb::LabelValuesRequest::decode(expected.as_slice()).expect("valid message");
    let decoded = LabelValuesRequest::try_from(decoded).expect("valid request");
    assert_eq!(
        (decoded.label.as_str(), decoded.range, decoded.limit),
        ("job", range(1000, 2000), Some(10))
    );
}

fn sidecar_info() -> StoreInfo {
    StoreInfo {
        component: ComponentType::Sidecar,
        label_sets: vec![Labels::from_pairs([("cluster", "eu")])],
        time_range: Some(range(1000, 2000)),
        supports_without_replica_labels: true,
        serves_metadata: true,
    }
}

#[test]
fn info_response_bytes() {
    #[rustfmt::skip]
    let expected: Vec<u8> = vec![
        0x0A, 0x0F,                   // 1 label_sets, 15 bytes:
        0x0A, 0x0D,                   //   1 labels, 13 bytes:
        0x0A, 0x07, b'c', b'l', b'u', b's', b't', b'e', b'r', // 1 name "cluster"
        0x12, 0x02, b'e', b'u',       //     2 value "eu"
        0x12, 0x07, b's', b'i', b'd', b'e', b'c', b'a', b'r', // 2 ComponentType "sidecar"
        0x1A, 0x08,                   // 3 store, 8 bytes:
        0x08, 0xE8, 0x07,             //   1 min_time: 1000
        0x10, 0xD0, 0x0F,             //   2 max_time: 2000
        0x28, 0x01,                   //   5 supports_without_replica_labels: true
        0x2A, 0x00,                   // 5 metric_metadata: present, empty
    ];
    assert_eq!(
        infopb::InfoResponse::from(sidecar_info()).encode_to_vec(),
        expected
    );
    let decoded = infopb::InfoResponse::decode(expected.as_slice()).expect("valid message");
    assert_eq!(StoreInfo::from(decoded), sidecar_info());
}

#[test]
fn legacy_info_response_bytes() {
    #[rustfmt::skip]
    let expected: Vec<u8> = vec![
        0x0A, 0x0D,                   // 1 labels, 13 bytes:
        0x0A, 0x07, b'c', b'l', b'u', b's', b't', b'e', b'r', // 1 name "cluster"
        0x12, 0x02, b'e', b'u',       //   2 value "eu"
        0x10, 0xE8, 0x07,             // 2 min_time: 1000
        0x18, 0xD0, 0x0F,             // 3 max_time: 2000
        0x20, 0x03,                   // 4 storeType: SIDECAR=3
        0x2A, 0x0F,                   // 5 label_sets, 15 bytes:
        0x0A, 0x0D,                   //   1 labels, 13 bytes:
        0x0A, 0x07, b'c', b'l', b'u', b's', b't', b'e', b'r', // 1 name "cluster"
        0x12, 0x02, b'e', b'u',       //     2 value "eu"
    ];
    assert_eq!(
        pb::InfoResponse::from(sidecar_info()).encode_to_vec(),
        expected
    );
    let decoded =
        StoreInfo::from(pb::InfoResponse::decode(expected.as_slice()).expect("valid message"));
    assert_eq!(
        (decoded.component, decoded.time_range),
        (ComponentType::Sidecar, Some(range(1000, 2000)))
    );
    assert_eq!(decoded.label_sets, sidecar_info().label_sets);
}

// ---- round trips ----

fn time_range() -> impl Strategy<Value = TimeRange> {
    (any::<i64>(), any::<i64>()).prop_map(|(a, b)| range(a.min(b), a.max(b)))
}

fn labels() -> impl Strategy<Value = Labels> {
    proptest::collection::vec(("[a-z_]{1,6}", "[ -~]{1,6}"), 0..5).prop_map(Labels::from_pairs)
}

fn matcher() -> impl Strategy<Value = Matcher> {
    let op = prop_oneof![
        Just(MatchOp::Equal),
        Just(MatchOp::NotEqual),
        Just(MatchOp::Regex),
        Just(MatchOp::NotRegex)
    ];
    (op, "[a-z_]{1,6}", "[a-z0-9]{0,6}(\\|[a-z]{1,3})?").prop_map(|(op, name, value)| {
        Matcher::new(op, name, value).expect("alphanumeric alternations compile")
    })
}

fn aggregate() -> impl Strategy<Value = Aggregate> {
    prop_oneof![
        Just(Aggregate::Raw),
        Just(Aggregate::Count),
        Just(Aggregate::Sum),
        Just(Aggregate::Min),
        Just(Aggregate::Max),
        Just(Aggregate::Counter),
    ]
}

fn query_hints() -> impl Strategy<Value = QueryHints> {
    (
        any::<i64>(),
        proptest::option::of("[a-z_]{0,8}"),
        proptest::option::of((any::<bool>(), proptest::collection::vec("[a-z]{1,4}", 0..3))),
        any::<i64>(),
    )
        .prop_map(|(step_ms, func, grouping, range_ms)| QueryHints {
            step_ms,
            func,
            grouping,
            range_ms,
        })
}

prop_compose! {
    fn series_request()(
        range in time_range(),
        matchers in proptest::collection::vec(matcher(), 0..4),
        skip_chunks in any::<bool>(),
        without_replica_labels in proptest::collection::vec("[a-z]{1,6}", 0..3),
        abort in any::<bool>(),
        aggregates in proptest::collection::vec(aggregate(), 0..4),
        max_resolution_window_ms in any::<i64>(),
        limit in proptest::option::of(1..=i64::MAX as u64),
        query_hints in proptest::option::of(query_hints()),
    ) -> SeriesRequest {
        SeriesRequest {
            range,
            matchers,
            skip_chunks,
            without_replica_labels,
            partial_response: if abort { PartialResponse::Abort } else { PartialResponse::Warn },
            aggregates,
            max_resolution_window_ms,
            limit,
            query_hints,
        }
    }
}

fn chunk() -> impl Strategy<Value = Chunk> {
    let encoding = prop_oneof![
        Just(ChunkEncoding::Xor),
        Just(ChunkEncoding::Histogram),
        Just(ChunkEncoding::FloatHistogram)
    ];
    (
        encoding,
        proptest::collection::vec(any::<u8>(), 0..32),
        any::<u64>(),
    )
        .prop_map(|(encoding, data, hash)| Chunk {
            encoding,
            data: data.into(),
            hash,
        })
}

fn aggr_chunk() -> impl Strategy<Value = AggrChunk> {
    let c = || proptest::option::of(chunk());
    (any::<i64>(), any::<i64>(), c(), c(), c(), c(), c(), c()).prop_map(
        |(min_time_ms, max_time_ms, raw, count, sum, min, max, counter)| AggrChunk {
            min_time_ms,
            max_time_ms,
            raw,
            count,
            sum,
            min,
            max,
            counter,
        },
    )
}

fn series() -> impl Strategy<Value = Series> {
    (labels(), proptest::collection::vec(aggr_chunk(), 0..4))
        .prop_map(|(labels, chunks)| Series { labels, chunks })
}

fn component() -> impl Strategy<Value = ComponentType> {
    prop_oneof![
        Just(ComponentType::Query),
        Just(ComponentType::Rule),
        Just(ComponentType::Sidecar),
        Just(ComponentType::Store),
        Just(ComponentType::Receive),
        Just(ComponentType::Debug),
        Just(ComponentType::ParquetGateway),
        Just(ComponentType::Unknown),
    ]
}

fn store_info() -> impl Strategy<Value = StoreInfo> {
    (
        component(),
        proptest::collection::vec(labels(), 0..3),
        proptest::option::of((time_range(), any::<bool>())),
        any::<bool>(),
    )
        .prop_map(
            |(component, label_sets, store, serves_metadata)| StoreInfo {
                component,
                label_sets,
                time_range: store.map(|(range, _)| range),
                // The wire carries this flag inside `store`: it exists only with a time range.
                supports_without_replica_labels: store.is_some_and(|(_, supports)| supports),
                serves_metadata,
            },
        )
}

/// Encodes to bytes and decodes again, as a message crossing the network does.
fn over_the_wire<M: Message + Default>(message: M) -> M {
    M::decode(message.encode_to_vec().as_slice()).expect("prost decodes what it encoded")
}

proptest! {
    #[test]
    fn series_request_round_trips(request in series_request()) {
        let back = SeriesRequest::try_from(over_the_wire(pb::SeriesRequest::from(request.clone())));
        let back = back.expect("a domain request is always valid on the wire");
        prop_assert_eq!(back.range, request.range);
        prop_assert_eq!(&back.matchers, &request.matchers);
        prop_assert_eq!(back.skip_chunks, request.skip_chunks);
        prop_assert_eq!(&back.without_replica_labels, &request.without_replica_labels);
        prop_assert_eq!(back.partial_response, request.partial_response);
        prop_assert_eq!(&back.aggregates, &request.aggregates);
        prop_assert_eq!(back.max_resolution_window_ms, request.max_resolution_window_ms);
        prop_assert_eq!(back.limit, request.limit);
        prop_assert_eq!(&back.query_hints, &request.query_hints);
    }

    #[test]
    fn series_round_trips(series in series()) {
        let back = Series::try_from(over_the_wire(pb::Series::from(series.clone())));
        prop_assert_eq!(back.expect("a domain series is always valid on the wire"), series);
    }

    #[test]
    fn store_info_round_trips(info in store_info()) {
        let back = StoreInfo::from(over_the_wire(infopb::InfoResponse::from(info.clone())));
        prop_assert_eq!(back, info);
    }
}
