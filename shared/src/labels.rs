//! Label sets and label matchers, as Prometheus defines them.
//!
//! [`Labels`] is always sorted by name with unique names, so equal label sets compare equal and
//! merges can compare them directly. [`Matcher`] compiles its regex once, fully anchored and with
//! `.` matching newlines (Prometheus 3 semantics).

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// The label that holds a series' metric name.
pub const METRIC_NAME: &str = "__name__";

/// One label: a name and a value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Label {
    /// Label name.
    pub name: String,
    /// Label value.
    pub value: String,
}

impl Label {
    /// A label from anything string-like.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// A set of labels, sorted by name, names unique.
///
/// Shared and immutable: cloning is a reference-count increment (the PromQL engine clones a
/// series' labels into every step's result); the changing methods build a new set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Labels(Arc<[Label]>);

impl Labels {
    /// The empty label set.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Builds a label set from labels in any order. When a name repeats, the last value wins.
    /// Labels with an empty value are dropped, as in Prometheus (an empty value means "absent").
    pub fn from_unsorted(mut labels: Vec<Label>) -> Self {
        labels.retain(|l| !l.value.is_empty());
        // Stable sort keeps the input order among equal names, so "last wins" below is defined.
        labels.sort_by(|a, b| a.name.cmp(&b.name));
        let mut out: Vec<Label> = Vec::with_capacity(labels.len());
        for label in labels {
            match out.last_mut() {
                Some(last) if last.name == label.name => *last = label,
                _ => out.push(label),
            }
        }
        Self(out.into())
    }

    /// Builds a label set from pairs, in any order.
    pub fn from_pairs<N: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (N, V)>,
    ) -> Self {
        Self::from_unsorted(pairs.into_iter().map(|(n, v)| Label::new(n, v)).collect())
    }

    /// Wraps labels that are already sorted with unique names; `None` if they are not.
    pub fn from_sorted(labels: Vec<Label>) -> Option<Self> {
        let sorted = labels.windows(2).all(|w| w[0].name < w[1].name);
        sorted.then(|| Self(labels.into()))
    }

    /// The value of the label called `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|l| l.name.as_str().cmp(name))
            .ok()
            .map(|i| self.0[i].value.as_str())
    }

    /// Whether the set has a label called `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The labels, sorted by name.
    pub fn iter(&self) -> std::slice::Iter<'_, Label> {
        self.0.iter()
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the set has no labels.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The labels as a slice, sorted by name.
    pub fn as_slice(&self) -> &[Label] {
        &self.0
    }

    /// The labels, sorted by name.
    pub fn into_vec(self) -> Vec<Label> {
        self.0.to_vec()
    }

    /// Removes every label whose name is in `names`; returns whether any was removed.
    pub fn remove_names<S: AsRef<str>>(&mut self, names: &[S]) -> bool {
        let removed = |l: &Label| names.iter().any(|n| n.as_ref() == l.name);
        if !self.0.iter().any(removed) {
            return false;
        }
        self.0 = self.0.iter().filter(|l| !removed(l)).cloned().collect();
        true
    }

    /// Adds or replaces labels from `other` (its values win), keeping the set sorted.
    pub fn merge_from(&mut self, other: &Labels) {
        if other.is_empty() {
            return;
        }
        let mut merged = Vec::with_capacity(self.0.len() + other.0.len());
        let (mut a, mut b) = (self.0.iter().peekable(), other.0.iter().peekable());
        loop {
            match (a.peek(), b.peek()) {
                (Some(x), Some(y)) => match x.name.cmp(&y.name) {
                    Ordering::Less => merged.extend(a.next().cloned()),
                    Ordering::Greater => merged.extend(b.next().cloned()),
                    Ordering::Equal => {
                        a.next();
                        merged.extend(b.next().cloned());
                    }
                },
                (Some(_), None) => merged.extend(a.by_ref().cloned()),
                (None, Some(_)) => merged.extend(b.by_ref().cloned()),
                (None, None) => break,
            }
        }
        self.0 = merged.into();
    }
}

impl PartialOrd for Labels {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Orders label sets as Prometheus's `labels.Compare`: label by label, name then value; a set
/// that is a prefix of another sorts first.
impl Ord for Labels {
    fn cmp(&self, other: &Self) -> Ordering {
        for (a, b) in self.0.iter().zip(other.0.iter()) {
            let ord = a.name.cmp(&b.name).then_with(|| a.value.cmp(&b.value));
            if ord != Ordering::Equal {
                return ord;
            }
        }
        self.0.len().cmp(&other.0.len())
    }
}

impl<'a> IntoIterator for &'a Labels {
    type Item = &'a Label;
    type IntoIter = std::slice::Iter<'a, Label>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for Labels {
    /// Prometheus's notation: `{a="1", b="2"}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, l) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}={:?}", l.name, l.value)?;
        }
        f.write_str("}")
    }
}

impl Serialize for Labels {
    /// As a JSON object `{"name": "value", ...}`, the Prometheus API's form.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for l in self.0.iter() {
            map.serialize_entry(&l.name, &l.value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Labels {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = std::collections::BTreeMap::<String, String>::deserialize(deserializer)?;
        Ok(Self(
            map.into_iter()
                .map(|(name, value)| Label { name, value })
                .collect(),
        ))
    }
}

/// How a matcher compares a label value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MatchOp {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~`
    Regex,
    /// `!~`
    NotRegex,
}

impl MatchOp {
    /// The operator as written in PromQL.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        }
    }
}

/// A matcher could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatcherError {
    /// The regex does not compile.
    #[error("invalid regular expression {pattern:?} for label {name:?}: {reason}")]
    InvalidRegex {
        /// Label name.
        name: String,
        /// The pattern as given.
        pattern: String,
        /// The regex engine's message.
        reason: String,
    },
}

/// A label matcher: `name op "value"`. Regexes are compiled once, fully anchored.
#[derive(Debug, Clone)]
pub struct Matcher {
    name: String,
    op: MatchOp,
    value: String,
    regex: Option<regex::Regex>,
}

impl Matcher {
    /// Builds a matcher, compiling the regex for `=~` and `!~`.
    pub fn new(
        op: MatchOp,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, MatcherError> {
        let (name, value) = (name.into(), value.into());
        let regex = match op {
            MatchOp::Regex | MatchOp::NotRegex => {
                Some(regex::Regex::new(&format!("^(?s:{value})$")).map_err(|e| {
                    MatcherError::InvalidRegex {
                        name: name.clone(),
                        pattern: value.clone(),
                        reason: e.to_string(),
                    }
                })?)
            }
            MatchOp::Equal | MatchOp::NotEqual => None,
        };
        Ok(Self {
            name,
            op,
            value,
            regex,
        })
    }

    /// An `=` matcher; never fails.
    pub fn equal(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            op: MatchOp::Equal,
            value: value.into(),
            regex: None,
        }
    }

    /// The label name this matcher looks at.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The operator.
    pub fn op(&self) -> MatchOp {
        self.op
    }

    /// The value or pattern as given.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Whether a label value matches. An absent label is matched as the empty string.
    pub fn matches(&self, value: &str) -> bool {
        match (self.op, &self.regex) {
            (MatchOp::Equal, _) => self.value == value,
            (MatchOp::NotEqual, _) => self.value != value,
            (MatchOp::Regex, Some(re)) => re.is_match(value),
            (MatchOp::NotRegex, Some(re)) => !re.is_match(value),
            // The constructor compiles a regex for both regex operators.
            (MatchOp::Regex | MatchOp::NotRegex, None) => false,
        }
    }

    /// Whether the label set satisfies this matcher (absent labels match as "").
    pub fn matches_labels(&self, labels: &Labels) -> bool {
        self.matches(labels.get(&self.name).unwrap_or(""))
    }

    /// Whether the matcher accepts the empty string (and so series without the label).
    pub fn matches_empty(&self) -> bool {
        self.matches("")
    }
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.op == other.op && self.value == other.value
    }
}

impl Eq for Matcher {}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{:?}", self.name, self.op.as_str(), self.value)
    }
}

/// Whether every matcher accepts the label set.
pub fn matches_all(matchers: &[Matcher], labels: &Labels) -> bool {
    matchers.iter().all(|m| m.matches_labels(labels))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn from_unsorted_sorts_dedups_and_drops_empty_values() {
        let l = Labels::from_pairs([("b", "2"), ("a", "1"), ("b", "3"), ("c", "")]);
        assert_eq!(l.as_slice(), &[Label::new("a", "1"), Label::new("b", "3")]);
        assert_eq!(l.to_string(), r#"{a="1", b="3"}"#);
    }

    #[test]
    fn regex_is_anchored_and_dot_matches_newline() {
        let m = Matcher::new(MatchOp::Regex, "job", "api.*").unwrap();
        assert!(m.matches("api-server"));
        assert!(!m.matches("my-api"));
        assert!(
            Matcher::new(MatchOp::Regex, "x", "a.b")
                .unwrap()
                .matches("a\nb")
        );
        assert!(
            Matcher::new(MatchOp::NotRegex, "x", "a|b")
                .unwrap()
                .matches("ab")
        );
    }

    #[test]
    fn invalid_regex_is_an_error() {
        let err = Matcher::new(MatchOp::Regex, "job", "(").unwrap_err();
        assert!(
            err.to_string().contains("invalid regular expression"),
            "{err}"
        );
    }

    #[test]
    fn absent_label_matches_as_empty() {
        let l = Labels::from_pairs([("a", "1")]);
        assert!(Matcher::equal("b", "").matches_labels(&l));
        assert!(!Matcher::equal("b", "x").matches_labels(&l));
    }

    #[test]
    fn merge_from_overrides_and_keeps_order() {
        let mut l = Labels::from_pairs([("a", "1"), ("c", "3")]);
        l.merge_from(&Labels::from_pairs([("b", "x"), ("c", "y")]));
        assert_eq!(l, Labels::from_pairs([("a", "1"), ("b", "x"), ("c", "y")]));
    }

    proptest! {
        #[test]
        fn from_unsorted_is_always_sorted(pairs in proptest::collection::vec(("[a-d]{1,2}", "[x-z]{0,2}"), 0..12)) {
            let l = Labels::from_pairs(pairs);
            prop_assert!(Labels::from_sorted(l.clone().into_vec()).is_some());
            prop_assert!(l.iter().all(|x| !x.value.is_empty()));
        }

        #[test]
        fn ord_agrees_with_equality(a in proptest::collection::vec(("[a-c]", "[x-y]"), 0..4),
                                    b in proptest::collection::vec(("[a-c]", "[x-y]"), 0..4)) {
            let (a, b) = (Labels::from_pairs(a), Labels::from_pairs(b));
            prop_assert_eq!(a.cmp(&b) == Ordering::Equal, a == b);
            prop_assert_eq!(a.cmp(&b), b.cmp(&a).reverse());
        }
    }
}
