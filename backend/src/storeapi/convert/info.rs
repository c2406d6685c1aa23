//! What a store announces: [`StoreInfo`] to and from `thanos.info.InfoResponse` and the legacy
//! `thanos.InfoResponse` (THANOS.md §1.1, §1.2).

use proto::thanos as pb;
use proto::thanos::info as infopb;
use shared::series::TimeRange;

use super::{labels_from_proto, labels_to_proto};
use crate::storeapi::{ComponentType, StoreInfo};

/// A store time range from the wire. An inverted range (a store with no data yet) cannot serve
/// any query, which the domain says with `None`, as for an endpoint without Series.
fn store_time_range(min_ms: i64, max_ms: i64) -> Option<TimeRange> {
    TimeRange::new(min_ms, max_ms)
}

/// `thanos.info.InfoResponse` (THANOS.md §1.2): `store` present means Series is served,
/// `metric_metadata` present means the metadata API is.
impl From<infopb::InfoResponse> for StoreInfo {
    fn from(response: infopb::InfoResponse) -> Self {
        let store = response.store;
        Self {
            component: ComponentType::parse(&response.component_type),
            label_sets: response
                .label_sets
                .into_iter()
                .map(|set| labels_from_proto(set.labels))
                .collect(),
            time_range: store
                .as_ref()
                .and_then(|s| store_time_range(s.min_time, s.max_time)),
            supports_without_replica_labels: store
                .is_some_and(|s| s.supports_without_replica_labels),
            serves_metadata: response.metric_metadata.is_some(),
        }
    }
}

/// The `store` sub-message is present exactly when `time_range` is set, so
/// `supports_without_replica_labels` is only announced together with a time range.
impl From<StoreInfo> for infopb::InfoResponse {
    fn from(info: StoreInfo) -> Self {
        infopb::InfoResponse {
            label_sets: info
                .label_sets
                .into_iter()
                .map(|set| pb::ZLabelSet {
                    labels: labels_to_proto(set),
                })
                .collect(),
            component_type: info.component.as_str().to_owned(),
            store: info.time_range.map(|range| infopb::StoreInfo {
                min_time: range.min_ms(),
                max_time: range.max_ms(),
                supports_without_replica_labels: info.supports_without_replica_labels,
                ..infopb::StoreInfo::default()
            }),
            metric_metadata: info
                .serves_metadata
                .then_some(infopb::MetricMetadataInfo {}),
            ..infopb::InfoResponse::default()
        }
    }
}

fn store_type_from_proto(value: i32) -> ComponentType {
    match pb::StoreType::try_from(value) {
        Ok(pb::StoreType::Query) => ComponentType::Query,
        Ok(pb::StoreType::Rule) => ComponentType::Rule,
        Ok(pb::StoreType::Sidecar) => ComponentType::Sidecar,
        Ok(pb::StoreType::Store) => ComponentType::Store,
        Ok(pb::StoreType::Receive) => ComponentType::Receive,
        Ok(pb::StoreType::Debug) => ComponentType::Debug,
        Ok(pb::StoreType::Unknown) | Err(_) => ComponentType::Unknown,
    }
}

fn store_type_to_proto(component: ComponentType) -> i32 {
    let store_type = match component {
        ComponentType::Query => pb::StoreType::Query,
        ComponentType::Rule => pb::StoreType::Rule,
        ComponentType::Sidecar => pb::StoreType::Sidecar,
        ComponentType::Store => pb::StoreType::Store,
        ComponentType::Receive => pb::StoreType::Receive,
        ComponentType::Debug => pb::StoreType::Debug,
        ComponentType::ParquetGateway | ComponentType::Unknown => pb::StoreType::Unknown,
    };
    store_type as i32
}

/// The legacy `thanos.InfoResponse` (THANOS.md §1.1). It always describes a Series server; it
/// cannot say anything about replica-label stripping or metadata, so both are `false`. Old
/// senders set only the flat `labels`; they count as one label set.
impl From<pb::InfoResponse> for StoreInfo {
    fn from(response: pb::InfoResponse) -> Self {
        let label_sets = if !response.label_sets.is_empty() {
            response
                .label_sets
                .into_iter()
                .map(|set| labels_from_proto(set.labels))
                .collect()
        } else if !response.labels.is_empty() {
            vec![labels_from_proto(response.labels)]
        } else {
            Vec::new()
        };
        Self {
            component: store_type_from_proto(response.store_type),
            label_sets,
            time_range: store_time_range(response.min_time, response.max_time),
            supports_without_replica_labels: false,
            serves_metadata: false,
        }
    }
}

/// The legacy form: `labels` carries the label set when there is exactly one (as Thanos's
/// sidecar did); a store without a time range announces the inverted range `[MaxInt64,
/// MinInt64]`, which overlaps no query.
impl From<StoreInfo> for pb::InfoResponse {
    fn from(info: StoreInfo) -> Self {
        let labels = match info.label_sets.as_slice() {
            [only] => labels_to_proto(only.clone()),
            _ => Vec::new(),
        };
        let (min_time, max_time) = info
            .time_range
            .map_or((i64::MAX, i64::MIN), |r| (r.min_ms(), r.max_ms()));
        pb::InfoResponse {
            labels,
            min_time,
            max_time,
            store_type: store_type_to_proto(info.component),
            label_sets: info
                .label_sets
                .into_iter()
                .map(|set| pb::LabelSet {
                    labels: labels_to_proto(set),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::labels::Labels;

    fn store_info(time_range: Option<TimeRange>) -> StoreInfo {
        StoreInfo {
            component: ComponentType::Sidecar,
            label_sets: vec![Labels::from_pairs([("cluster", "eu")])],
            time_range,
            supports_without_replica_labels: time_range.is_some(),
            serves_metadata: true,
        }
    }

    #[test]
    fn info_sub_messages_announce_served_apis() {
        let served = infopb::InfoResponse::from(store_info(TimeRange::new(1, 2)));
        assert_eq!(served.component_type, "sidecar");
        assert!(served.metric_metadata.is_some());
        assert_eq!(
            served.store.as_ref().map(|s| (s.min_time, s.max_time)),
            Some((1, 2))
        );
        assert_eq!(StoreInfo::from(served), store_info(TimeRange::new(1, 2)));

        let no_series = infopb::InfoResponse::from(store_info(None));
        assert!(no_series.store.is_none());
        assert_eq!(StoreInfo::from(no_series), store_info(None));

        let odd = infopb::InfoResponse {
            component_type: "something-new".into(),
            store: Some(infopb::StoreInfo {
                min_time: 5,
                max_time: 1,
                ..Default::default()
            }),
            ..Default::default()
        };
        let odd = StoreInfo::from(odd);
        assert_eq!(
            (odd.component, odd.time_range),
            (ComponentType::Unknown, None)
        );
    }

    #[test]
    fn legacy_info_round_trips_what_it_can_say() {
        let legacy = pb::InfoResponse::from(store_info(TimeRange::new(1, 2)));
        assert_eq!(legacy.store_type, pb::StoreType::Sidecar as i32);
        assert_eq!(
            legacy.labels,
            vec![pb::Label {
                name: "cluster".into(),
                value: "eu".into()
            }]
        );
        let back = StoreInfo::from(legacy);
        assert_eq!(back.label_sets, store_info(None).label_sets);
        assert_eq!(back.time_range, TimeRange::new(1, 2));
        assert!(!back.serves_metadata && !back.supports_without_replica_labels);

        assert_eq!(
            StoreInfo::from(pb::InfoResponse::from(store_info(None))).time_range,
            None
        );

        let flat_only = pb::InfoResponse {
            labels: vec![
                pb::Label {
                    name: "b".into(),
                    value: "2".into(),
                },
                pb::Label {
                    name: "a".into(),
                    value: "1".into(),
                },
            ],
            store_type: 42,
            ..Default::default()
        };
        let flat_only = StoreInfo::from(flat_only);
        assert_eq!(
            flat_only.label_sets,
            vec![Labels::from_pairs([("a", "1"), ("b", "2")])]
        );
        assert_eq!(flat_only.component, ComponentType::Unknown);
    }
}
