//! Vector matching between two instant vectors: one-to-one, `group_left`/`group_right`,
//! `on`/`ignoring`, fill values, and the set operators `and`/`or`/`unless`.
//!
//! Mirrors Prometheus 3 promql/engine.go (`VectorBinop`, `VectorAnd`/`Or`/`Unless`,
//! `resultMetric`, `signatureFunc`) and its error wording. A [`Join`] works out each operand
//! series' matching signature once, and each pair's result labels the first time the pair
//! meets; each step then joins the samples present at that step, with upstream's uniqueness
//! checks (raised at the first step that breaks them). The step-wise evaluation runs one step
//! over two instant vectors, the range evaluation one per step. Knows nothing of storage.

use std::collections::{HashMap, HashSet};

use shared::labels::{Label, Labels};

use super::{Member, drops_name, sample_op};
use crate::promql::EngineError;
use crate::promql::annotations::Note;
use crate::promql::parser::{BinaryExpr, BinaryOp, Cardinality, VectorMatching};
use crate::promql::storage::SampleValue;
use crate::promql::value::NAME_LABELS;

/// Which operand a sample comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Side {
    /// The left-hand one.
    Left,
    /// The right-hand one.
    Right,
}

/// One end of a matched pair: an operand series, or the fill value standing in for a missing
/// one with the signature's labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum End {
    /// The operand series at this position (of its side).
    Series(usize),
    /// A fill value, for the signature with this number.
    Fill(usize),
}

/// What a matched pair yields, worked out once per pair.
#[derive(Debug, Clone, Copy)]
struct Paired {
    /// The number of the pair's result labels before the name is dropped (what upstream's
    /// uniqueness check compares).
    matched: usize,
    /// The number of the output series.
    output: usize,
}

/// The matching of one binary operation between vectors, with what it has worked out so far.
pub(super) struct Join<'e> {
    b: &'e BinaryExpr,
    m: &'e VectorMatching,
    /// The signatures' labels, by number.
    signatures: Vec<Vec<Label>>,
    /// Each operand series' signature number, per side.
    left: Vec<usize>,
    right: Vec<usize>,
    /// Result labels before name removal, numbered (for the uniqueness checks).
    matched_ids: HashMap<Labels, usize>,
    /// Output series (labels and name flag), in order of first output, and their numbers.
    outputs: Vec<(Labels, bool)>,
    /// Per output series, where its samples come in a step's output: the smallest position
    /// of the pairs that make it (joined "many" series first, then filled-in "one" series).
    ranks: Vec<(u8, usize)>,
    output_ids: HashMap<(Labels, bool), usize>,
    /// Each (many, one) pair met so far.
    pairs: HashMap<(End, End), Paired>,
    /// Per "many" series, the last pair it made: steps mostly join the same series, so the
    /// map above is asked only when the partner changes.
    recent: Vec<Option<(End, Paired)>>,
    /// The current step's number (from 1), and per signature the step it was last seen at on
    /// the "one" side with that sample, or last matched at.
    step: usize,
    one_at: Vec<(usize, usize)>,
    matched_at: Vec<usize>,
    /// Group matching: per result labels, the step and signature it was last matched at.
    /// Result labels determine the signature (both keep the matching labels' values), so this
    /// finds every duplicate; `group_matched` keeps the (signature, result labels) pairs of
    /// the current step exactly should two signatures ever meet.
    matched_stamps: Vec<(usize, usize)>,
    group_matched: HashSet<(usize, usize)>,
}

impl<'e> Join<'e> {
    /// The matching of `b` (`m` its matching clause) between operand series with the labels
    /// `left` and `right` yield, in operand order.
    pub(super) fn new<'l>(
        b: &'e BinaryExpr,
        m: &'e VectorMatching,
        left: impl Iterator<Item = &'l Labels>,
        right: impl Iterator<Item = &'l Labels>,
    ) -> Self {
        let mut ids: HashMap<Vec<Label>, usize> = HashMap::new();
        let mut signatures = Vec::new();
        let mut number = |labels: &Labels| {
            let sig = signature(labels, m);
            *ids.entry(sig).or_insert_with_key(|sig| {
                signatures.push(sig.clone());
                signatures.len() - 1
            })
        };
        let left = left.map(&mut number).collect();
        let right = right.map(&mut number).collect();
        let count = signatures.len();
        Join {
            b,
            m,
            signatures,
            left,
            right,
            matched_ids: HashMap::new(),
            outputs: Vec::new(),
            ranks: Vec::new(),
            output_ids: HashMap::new(),
            pairs: HashMap::new(),
            recent: Vec::new(),
            matched_stamps: Vec::new(),
            step: 0,
            one_at: vec![(0, 0); count],
            matched_at: vec![0; count],
            group_matched: HashSet::new(),
        }
    }

    /// The labels and name flag of output series `output`.
    pub(super) fn output(&self, output: usize) -> &(Labels, bool) {
        &self.outputs[output]
    }

    /// Where output series `output` comes in the output of a step, relative to the others:
    /// ordering a range's output series by it keeps each step's samples in the order the
    /// step gives them (as long as each output series comes from one operand series).
    pub(super) fn rank(&self, output: usize) -> (u8, usize) {
        self.ranks[output]
    }

    fn signature_of(&self, side: Side, series: usize) -> usize {
        match side {
            Side::Left => self.left[series],
            Side::Right => self.right[series],
        }
    }

    /// One step of `and`, `or` or `unless`: the members kept, by side, in upstream's order
    /// (the left ones, then for `or` the right ones whose signature the left lacks).
    pub(super) fn set_step<'a>(
        &mut self,
        left: &[Member<'a>],
        right: &[Member<'a>],
        emit: &mut impl FnMut(Side, &Member<'a>),
    ) {
        self.step += 1;
        let step = self.step;
        let (marked, other) = match self.b.op {
            BinaryOp::Or => ((Side::Left, left), (Side::Right, right)),
            _ => ((Side::Right, right), (Side::Left, left)),
        };
        for m in marked.1 {
            let sig = self.signature_of(marked.0, m.series);
            self.matched_at[sig] = step;
        }
        if self.b.op == BinaryOp::Or {
            left.iter().for_each(|m| emit(Side::Left, m));
        }
        for m in other.1 {
            let seen = self.matched_at[self.signature_of(other.0, m.series)] == step;
            if seen == (self.b.op == BinaryOp::And) {
                emit(other.0, m);
            }
        }
    }

    /// One step of an arithmetic or comparison operator: each output sample, as the number
    /// of its output series and its value. What upstream would annotate goes to `note`.
    pub(super) fn step(
        &mut self,
        left: &[Member<'_>],
        right: &[Member<'_>],
        note: &mut Option<Note>,
        emit: &mut impl FnMut(usize, SampleValue),
    ) -> Result<(), EngineError> {
        self.step += 1;
        self.group_matched.clear();
        let m = self.m;
        let fills = m.fill.lhs.is_some() || m.fill.rhs.is_some();
        if (left.is_empty() || right.is_empty()) && !(fills && (left.len() + right.len() > 0)) {
            return Ok(());
        }
        let one_to_many = m.card == Cardinality::OneToMany;
        // The "many" side drives the loop; the "one" side is indexed.
        let ((many_side, many), (one_side, one)) = if one_to_many {
            ((Side::Right, right), (Side::Left, left))
        } else {
            ((Side::Left, left), (Side::Right, right))
        };
        for (i, e) in one.iter().enumerate() {
            let sig = self.signature_of(one_side, e.series);
            let (seen_at, previous) = self.one_at[sig];
            if seen_at == self.step {
                let previous = &one[previous];
                return Err(EngineError::Matching(format!(
                    "found duplicate series for the match group {} on the {} hand-side of the operation: [{}, {}];many-to-many matching not allowed: matching labels must be unique on one side",
                    Labels::from_unsorted(self.signatures[sig].clone()),
                    if one_to_many { "left" } else { "right" },
                    previous.labels,
                    e.labels
                )));
            }
            self.one_at[sig] = (self.step, i);
        }
        // `fill_right` stands in for a missing "one" side, `fill_left` for a missing "many"
        // side, whichever side group_right makes them (upstream `VectorBinop` fills after its
        // swap).
        let fill_one = m.fill.rhs.map(SampleValue::Float);
        let fill_many = m.fill.lhs.map(SampleValue::Float);
        for e in many {
            let sig = self.signature_of(many_side, e.series);
            let (seen_at, i) = self.one_at[sig];
            if seen_at == self.step {
                let o = &one[i];
                let ends = (End::Series(e.series), End::Series(o.series));
                let sides = ((e.labels, e.drop_name), (o.labels, o.drop_name));
                self.pair(sig, ends, sides, (e.value, o.value), note, emit)?;
            } else if let Some(fill) = &fill_one {
                let stand_in = Labels::from_unsorted(self.signatures[sig].clone());
                let ends = (End::Series(e.series), End::Fill(sig));
                let sides = ((e.labels, e.drop_name), (&stand_in, false));
                self.pair(sig, ends, sides, (e.value, fill), note, emit)?;
            }
        }
        if let Some(fill) = &fill_many {
            for e in one {
                let sig = self.signature_of(one_side, e.series);
                if self.matched_at[sig] == self.step {
                    continue;
                }
                // The stand-in "many" sample carries only the matching labels, so no name.
                let stand_in = Labels::from_unsorted(self.signatures[sig].clone());
                let ends = (End::Fill(sig), End::Series(e.series));
                let sides = ((&stand_in, true), (e.labels, e.drop_name));
                self.pair(sig, ends, sides, (fill, e.value), note, emit)?;
            }
        }
        Ok(())
    }

    /// Joins a "many"-side sample with a "one"-side one (either may be a fill value's
    /// stand-in), checking the matching's uniqueness rules first (upstream `doBinOp`).
    fn pair(
        &mut self,
        sig: usize,
        ends: (End, End),
        ((many, many_drop_name), (one, one_drop_name)): ((&Labels, bool), (&Labels, bool)),
        (many_value, one_value): (&SampleValue, &SampleValue),
        note: &mut Option<Note>,
        emit: &mut impl FnMut(usize, SampleValue),
    ) -> Result<(), EngineError> {
        let recent = match ends.0 {
            End::Series(i) => {
                if self.recent.len() <= i {
                    self.recent.resize(i + 1, None);
                }
                Some(i)
            }
            End::Fill(_) => None,
        };
        let cached = recent
            .and_then(|i| self.recent[i])
            .filter(|(one_end, _)| *one_end == ends.1)
            .map(|(_, paired)| paired);
        let paired = match cached.or_else(|| self.pairs.get(&ends).copied()) {
            Some(paired) => paired,
            None => {
                // Steps join the "many" series in order, then fill in for "one" series.
                let rank = match ends {
                    (End::Series(i), _) => (0, i),
                    (End::Fill(_), End::Series(i) | End::Fill(i)) => (1, i),
                };
                let paired = self.paired(many, many_drop_name, one, one_drop_name, rank);
                self.pairs.insert(ends, paired);
                paired
            }
        };
        if let Some(i) = recent {
            self.recent[i] = Some((ends.1, paired));
        }
        if self.m.card == Cardinality::OneToOne {
            if self.matched_at[sig] == self.step {
                return Err(EngineError::Matching(
                    "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)"
                        .into(),
                ));
            }
        } else if self.matched_again(sig, paired.matched) {
            return Err(EngineError::Matching(
                "multiple matches for labels: grouping labels must ensure unique matches".into(),
            ));
        }
        self.matched_at[sig] = self.step;
        // Operands in the written order: the "many" side is the right one for group_right.
        let (l, r) = if self.m.card == Cardinality::OneToMany {
            (one_value, many_value)
        } else {
            (many_value, one_value)
        };
        if let Some(value) = sample_op(self.b, l, r, false, note)? {
            emit(paired.output, value);
        }
        Ok(())
    }

    /// Records that a pair with signature `sig` made the result labels `matched` at this
    /// step; whether one already had.
    fn matched_again(&mut self, sig: usize, matched: usize) -> bool {
        if self.matched_stamps.len() <= matched {
            self.matched_stamps.resize(matched + 1, (0, 0));
        }
        let stamp = &mut self.matched_stamps[matched];
        if stamp.0 != self.step {
            *stamp = (self.step, sig);
            return false;
        }
        if stamp.1 == sig {
            return true;
        }
        let earlier = (stamp.1, matched);
        self.group_matched.insert(earlier);
        !self.group_matched.insert((sig, matched))
    }

    /// The result labels of a pair met for the first time, numbered.
    fn paired(
        &mut self,
        many: &Labels,
        many_drop_name: bool,
        one: &Labels,
        one_drop_name: bool,
        rank: (u8, usize),
    ) -> Paired {
        let mut labels = result_labels(many, one, self.m);
        let next = self.matched_ids.len();
        let matched = *self.matched_ids.entry(labels.clone()).or_insert(next);
        let drop_name = if includes_name(self.m) {
            // The name is the "one" side's, as it is at this point (upstream `resultMetric`
            // drops the name first, then copies the included labels).
            if one_drop_name {
                labels.remove_names(&NAME_LABELS);
            }
            false
        } else {
            many_drop_name || drops_name(self.b)
        };
        let key = (labels, drop_name);
        let output = match self.output_ids.get(&key) {
            Some(&output) => {
                self.ranks[output] = self.ranks[output].min(rank);
                output
            }
            None => {
                self.outputs.push(key.clone());
                self.ranks.push(rank);
                self.output_ids.insert(key, self.outputs.len() - 1);
                self.outputs.len() - 1
            }
        };
        Paired { matched, output }
    }
}

/// The labels series are matched on (upstream `signatureFunc`): the `on` labels, or all but
/// the `ignoring` labels and `__name__`.
fn signature(labels: &Labels, m: &VectorMatching) -> Vec<Label> {
    labels
        .iter()
        .filter(|l| {
            if m.on {
                m.labels.contains(&l.name)
            } else {
                l.name != "__name__" && !m.labels.contains(&l.name)
            }
        })
        .cloned()
        .collect()
}

/// Whether `group_left(__name__)`/`group_right(__name__)` copies the name from the "one" side.
fn includes_name(m: &VectorMatching) -> bool {
    m.card != Cardinality::OneToOne && m.include.iter().any(|l| l == "__name__")
}

/// The labels of a matched pair's result (upstream `resultMetric`, name removal left to the
/// `drop_name` flag).
fn result_labels(many: &Labels, one: &Labels, m: &VectorMatching) -> Labels {
    if m.card == Cardinality::OneToOne {
        let kept = many.iter().filter(|l| {
            if m.on {
                m.labels.contains(&l.name)
            } else {
                !m.labels.contains(&l.name)
            }
        });
        return Labels::from_unsorted(kept.cloned().collect());
    }
    let mut labels: Vec<Label> = many
        .iter()
        .filter(|l| !m.include.contains(&l.name))
        .cloned()
        .collect();
    labels.extend(
        m.include
            .iter()
            .filter_map(|name| one.get(name).map(|v| Label::new(name.clone(), v))),
    );
    Labels::from_unsorted(labels)
}
