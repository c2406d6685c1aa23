//! Conversions between the StoreAPI wire types (`proto::thanos`, `proto::thanos::info`) and the
//! domain types of [`crate::storeapi`].
//!
//! Requests arriving from the network go through `TryFrom` and are validated here, once:
//! unknown enum values, bad regexes, inverted time ranges and negative limits become a
//! [`ConvertError`]. Responses from remote stores are converted tolerantly where Thanos is
//! tolerant (unsorted labels, unknown component types) and strictly where data would otherwise be
//! misread (unknown chunk encodings). Field numbers and enum values follow THANOS.md §1.2–§1.3.
//!
//! Submodules: `request` (Series/LabelNames/LabelValues requests), `series` (response frames,
//! chunks, label responses), `info` (what a store announces), `metadata` (metric metadata
//! requests and responses). The conversions are trait impls
//! (`TryFrom`/`From`) between the two type families, so they are used without naming the
//! submodules. This module knows the wire types and the domain types, nothing about transport:
//! no tonic, no I/O.

mod info;
mod metadata;
mod request;
mod series;

use proto::thanos as pb;
use shared::labels::{Label, Labels, MatchOp, Matcher, MatcherError};

pub use metadata::{metadata_from_proto, metadata_response_frames};
pub use series::series_frames_from_proto;

/// A wire message cannot be turned into a domain value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    /// An enum field holds a number the protocol does not define.
    #[error("unknown {field} value {value}")]
    UnknownEnum {
        /// The proto enum, e.g. `LabelMatcher.Type`.
        field: &'static str,
        /// The number received.
        value: i32,
    },
    /// A regex matcher does not compile.
    #[error(transparent)]
    InvalidMatcher(#[from] MatcherError),
    /// The request's start lies after its end.
    #[error("invalid time range: min time {min_ms} is after max time {max_ms}")]
    InvalidTimeRange {
        /// Requested start, ms.
        min_ms: i64,
        /// Requested end, ms.
        max_ms: i64,
    },
    /// A limit below zero (zero means "no limit").
    #[error("invalid limit {0}: must not be negative")]
    NegativeLimit(i64),
    /// A LabelValues request names no label.
    #[error("label name parameter cannot be empty")]
    EmptyLabelName,
}

// ---- labels and matchers ----

/// Wire labels to a sorted label set; unsorted or duplicated input is tolerated
/// ([`Labels::from_unsorted`]).
pub fn labels_from_proto(labels: Vec<pb::Label>) -> Labels {
    Labels::from_unsorted(
        labels
            .into_iter()
            .map(|l| Label::new(l.name, l.value))
            .collect(),
    )
}

/// A label set to wire labels, in sorted order.
pub fn labels_to_proto(labels: Labels) -> Vec<pb::Label> {
    labels
        .into_vec()
        .into_iter()
        .map(|l| pb::Label {
            name: l.name,
            value: l.value,
        })
        .collect()
}

/// A wire matcher to a compiled [`Matcher`] (`LabelMatcher.Type`: EQ=0, NEQ=1, RE=2, NRE=3).
pub fn matcher_from_proto(matcher: pb::LabelMatcher) -> Result<Matcher, ConvertError> {
    use pb::label_matcher::Type;
    let op = match Type::try_from(matcher.r#type) {
        Ok(Type::Eq) => MatchOp::Equal,
        Ok(Type::Neq) => MatchOp::NotEqual,
        Ok(Type::Re) => MatchOp::Regex,
        Ok(Type::Nre) => MatchOp::NotRegex,
        Err(_) => {
            return Err(ConvertError::UnknownEnum {
                field: "LabelMatcher.Type",
                value: matcher.r#type,
            });
        }
    };
    Ok(Matcher::new(op, matcher.name, matcher.value)?)
}

/// A matcher to its wire form.
pub fn matcher_to_proto(matcher: &Matcher) -> pb::LabelMatcher {
    use pb::label_matcher::Type;
    let kind = match matcher.op() {
        MatchOp::Equal => Type::Eq,
        MatchOp::NotEqual => Type::Neq,
        MatchOp::Regex => Type::Re,
        MatchOp::NotRegex => Type::Nre,
    };
    pb::LabelMatcher {
        r#type: kind as i32,
        name: matcher.name().to_owned(),
        value: matcher.value().to_owned(),
    }
}

fn matchers_from_proto(matchers: Vec<pb::LabelMatcher>) -> Result<Vec<Matcher>, ConvertError> {
    matchers.into_iter().map(matcher_from_proto).collect()
}

fn matchers_to_proto(matchers: &[Matcher]) -> Vec<pb::LabelMatcher> {
    matchers.iter().map(matcher_to_proto).collect()
}
