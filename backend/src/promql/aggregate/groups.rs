//! Which group each series of an aggregation's input falls into, worked out once per series
//! rather than once per element and step (upstream engine.go `aggregation` hashes the group
//! labels of every element at every step; the groups only depend on the labels).
//!
//! Knows the grouping clause and labels only: nothing of values, steps or storage.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use shared::labels::{Label, Labels};

use super::select::label_hash;
use crate::promql::parser::{AggregateExpr, AggregateOp, Grouping};

/// The groups of an aggregation's input series, numbered in order of first appearance.
pub(super) struct Plan {
    /// The group of each input series, by position.
    group_of: Vec<usize>,
    /// Each group's labels.
    groups: Vec<Labels>,
    /// For `limit_ratio` only: each input series' label hash as a fraction of `u64::MAX`.
    ratio_offsets: Vec<f64>,
}

impl Plan {
    /// The groups of the series whose labels `labels` yields, in input order. Series are
    /// matched to groups by a hash of the labels they keep, so each group's labels are built
    /// once.
    pub(super) fn new<'a>(a: &AggregateExpr, labels: impl Iterator<Item = &'a Labels>) -> Self {
        let grouping = &a.grouping;
        let mut plan = Plan {
            group_of: Vec::new(),
            groups: Vec::new(),
            ratio_offsets: Vec::new(),
        };
        let mut index: HashMap<u64, Vec<usize>> = HashMap::new();
        for series in labels {
            if a.op == AggregateOp::LimitRatio {
                plan.ratio_offsets
                    .push(label_hash(series) as f64 / u64::MAX as f64);
            }
            let kept = || {
                series
                    .iter()
                    .filter(|l| !l.value.is_empty() && keeps(grouping, &l.name))
            };
            let mut hasher = DefaultHasher::new();
            for l in kept() {
                l.hash(&mut hasher);
            }
            let candidates = index.entry(hasher.finish()).or_default();
            let found = candidates
                .iter()
                .copied()
                .find(|&g| plan.groups.get(g).is_some_and(|g| g.iter().eq(kept())));
            let group = match found {
                Some(g) => g,
                None => {
                    let g = plan.groups.len();
                    candidates.push(g);
                    plan.groups.push(group_labels(series, grouping));
                    g
                }
            };
            plan.group_of.push(group);
        }
        plan
    }

    /// How many groups there are.
    pub(super) fn group_count(&self) -> usize {
        self.groups.len()
    }

    /// The group of the input series at `series` (a position in the labels the plan was made
    /// from).
    pub(super) fn group_of(&self, series: usize) -> usize {
        self.group_of[series]
    }

    /// The labels of group `group` (a number [`Plan::group_of`] gave).
    pub(super) fn labels(&self, group: usize) -> &Labels {
        &self.groups[group]
    }

    /// The label hash of the input series at `series` as a fraction of `u64::MAX`
    /// (`limit_ratio` plans only; 0 otherwise).
    pub(super) fn ratio_offset(&self, series: usize) -> f64 {
        self.ratio_offsets.get(series).copied().unwrap_or_default()
    }
}

/// Whether the group labels of `grouping` include the label called `name`.
fn keeps(grouping: &Grouping, name: &str) -> bool {
    match grouping {
        Grouping::By(names) => names.iter().any(|n| n == name),
        Grouping::Without(names) => name != "__name__" && !names.iter().any(|n| n == name),
    }
}

/// The labels of the group a series with `labels` falls into.
fn group_labels(labels: &Labels, grouping: &Grouping) -> Labels {
    let kept: Vec<Label> = match grouping {
        Grouping::By(names) => labels
            .iter()
            .filter(|l| names.contains(&l.name))
            .cloned()
            .collect(),
        Grouping::Without(names) => labels
            .iter()
            .filter(|l| l.name != "__name__" && !names.contains(&l.name))
            .cloned()
            .collect(),
    };
    Labels::from_unsorted(kept)
}
