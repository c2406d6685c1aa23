//! The sample iterator every dedup stage reads and produces: `next`, `seek(t_ms)`, `at`.
//!
//! It has the shape of Prometheus's `chunkenc.Iterator` (tsdb/chunkenc/chunk.go) so that chunk
//! decoders and the PromQL evaluator plug in on either side. Histogram payloads are opaque here
//! (an associated type), and so are iterator errors: this module must not know chunk encodings.

use std::convert::Infallible;

/// A sample value: a float, or a native histogram whose payload dedup never looks into.
///
/// Iterators store `Value<H>` and show their current sample as `Value<&H>`, so histograms are
/// lent, not cloned, while floats (which the counter adjuster rewrites) are copied.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<H> {
    /// A float sample (may be NaN or the stale marker).
    Float(f64),
    /// A native histogram sample.
    Histogram(H),
}

impl<H> Value<H> {
    /// Borrows the histogram payload, copying a float.
    pub fn as_ref(&self) -> Value<&H> {
        match self {
            Value::Float(v) => Value::Float(*v),
            Value::Histogram(h) => Value::Histogram(h),
        }
    }

    /// The float, if this is one.
    pub fn as_float(&self) -> Option<f64> {
        match self {
            Value::Float(v) => Some(*v),
            Value::Histogram(_) => None,
        }
    }
}

/// A sample held by value: `(t_ms, value)`.
pub type OwnedSample<H> = (i64, Value<H>);

/// A forward-only cursor over one series' samples, in strictly increasing timestamp order.
///
/// A fresh iterator is before its first sample: call [`next`](Self::next) or
/// [`seek`](Self::seek) first. Once either returns `Ok(None)` the iterator is exhausted and
/// stays so. After an `Err` the position is unspecified and the caller should stop.
pub trait SampleIterator {
    /// Native-histogram payload type (opaque to dedup).
    type Histogram;
    /// Error a decoder may hit mid-series (e.g. a corrupt chunk).
    type Error;

    /// Moves to the next sample; returns its timestamp (ms), or `None` when exhausted.
    fn next(&mut self) -> Result<Option<i64>, Self::Error>;

    /// Moves forward to the first sample with timestamp `>= t_ms` and returns its timestamp.
    ///
    /// Never moves backwards: if the current sample already satisfies `t_ms`, it stays. Returns
    /// `None` when no such sample exists (the iterator is then exhausted).
    fn seek(&mut self, t_ms: i64) -> Result<Option<i64>, Self::Error>;

    /// The current sample as `(t_ms, value)`; `None` before the first sample or once exhausted.
    fn at(&self) -> Option<(i64, Value<&Self::Histogram>)>;
}

impl<I: SampleIterator + ?Sized> SampleIterator for Box<I> {
    type Histogram = I::Histogram;
    type Error = I::Error;

    fn next(&mut self) -> Result<Option<i64>, Self::Error> {
        (**self).next()
    }

    fn seek(&mut self, t_ms: i64) -> Result<Option<i64>, Self::Error> {
        (**self).seek(t_ms)
    }

    fn at(&self) -> Option<(i64, Value<&Self::Histogram>)> {
        (**self).at()
    }
}

/// Where a [`VecIterator`] stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cursor {
    /// Before the first sample.
    Fresh,
    /// At `samples[i]`.
    At(usize),
    /// Past the last sample.
    Exhausted,
}

/// A [`SampleIterator`] over samples held in memory (tests, benchmarks, decoded data).
#[derive(Debug, Clone)]
pub struct VecIterator<H> {
    samples: Vec<OwnedSample<H>>,
    cursor: Cursor,
}

impl<H> VecIterator<H> {
    /// An iterator over `samples`, which must have strictly increasing timestamps; `None` if not.
    pub fn new(samples: Vec<OwnedSample<H>>) -> Option<Self> {
        let increasing = samples.windows(2).all(|w| w[0].0 < w[1].0);
        increasing.then_some(Self {
            samples,
            cursor: Cursor::Fresh,
        })
    }

    fn move_to(&mut self, index: usize) -> Option<i64> {
        match self.samples.get(index) {
            Some((t, _)) => {
                self.cursor = Cursor::At(index);
                Some(*t)
            }
            None => {
                self.cursor = Cursor::Exhausted;
                None
            }
        }
    }
}

impl VecIterator<Infallible> {
    /// An iterator over float samples given as `(t_ms, v)`; `None` unless strictly increasing.
    pub fn floats(samples: &[(i64, f64)]) -> Option<Self> {
        Self::new(samples.iter().map(|&(t, v)| (t, Value::Float(v))).collect())
    }
}

impl<H> SampleIterator for VecIterator<H> {
    type Histogram = H;
    type Error = Infallible;

    fn next(&mut self) -> Result<Option<i64>, Infallible> {
        Ok(match self.cursor {
            Cursor::Fresh => self.move_to(0),
            Cursor::At(i) => self.move_to(i + 1),
            Cursor::Exhausted => None,
        })
    }

    fn seek(&mut self, t_ms: i64) -> Result<Option<i64>, Infallible> {
        let from = match self.cursor {
            Cursor::Fresh => 0,
            Cursor::At(i) => i,
            Cursor::Exhausted => return Ok(None),
        };
        let offset = self.samples[from..].partition_point(|(t, _)| *t < t_ms);
        Ok(self.move_to(from + offset))
    }

    fn at(&self) -> Option<(i64, Value<&H>)> {
        match self.cursor {
            Cursor::At(i) => self.samples.get(i).map(|(t, v)| (*t, v.as_ref())),
            Cursor::Fresh | Cursor::Exhausted => None,
        }
    }
}

/// Drains `it` into `(t_ms, value)` pairs, histograms cloned (tests and small callers).
pub fn collect_samples<I>(it: &mut I) -> Result<Vec<OwnedSample<I::Histogram>>, I::Error>
where
    I: SampleIterator + ?Sized,
    I::Histogram: Clone,
{
    let mut out = Vec::new();
    while it.next()?.is_some() {
        if let Some((t, v)) = it.at() {
            out.push((
                t,
                match v {
                    Value::Float(f) => Value::Float(f),
                    Value::Histogram(h) => Value::Histogram(h.clone()),
                },
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn floats(samples: &[(i64, f64)]) -> VecIterator<Infallible> {
        VecIterator::floats(samples).expect("test samples are increasing")
    }

    #[test]
    fn rejects_unsorted_samples() {
        assert!(VecIterator::floats(&[(2, 0.0), (1, 0.0)]).is_none());
        assert!(VecIterator::floats(&[(1, 0.0), (1, 0.0)]).is_none());
    }

    #[test]
    fn next_walks_then_stays_exhausted() {
        let mut it = floats(&[(1, 10.0), (2, 20.0)]);
        assert_eq!(it.at(), None);
        assert_eq!(it.next(), Ok(Some(1)));
        assert_eq!(it.at(), Some((1, Value::Float(10.0))));
        assert_eq!(it.next(), Ok(Some(2)));
        assert_eq!(it.next(), Ok(None));
        assert_eq!(it.at(), None);
        assert_eq!(it.next(), Ok(None));
        assert_eq!(it.seek(0), Ok(None));
    }

    #[test]
    fn seek_never_moves_backwards() {
        let mut it = floats(&[(10, 1.0), (20, 2.0), (30, 3.0)]);
        assert_eq!(it.seek(15), Ok(Some(20)));
        assert_eq!(it.seek(5), Ok(Some(20)));
        assert_eq!(it.seek(20), Ok(Some(20)));
        assert_eq!(it.seek(21), Ok(Some(30)));
        assert_eq!(it.seek(31), Ok(None));
        assert_eq!(it.next(), Ok(None));
    }

    #[test]
    fn histograms_are_lent_not_cloned() {
        let mut it = VecIterator::new(vec![
            (1, Value::Histogram(String::from("h"))),
            (2, Value::Float(1.0)),
        ])
        .expect("increasing");
        assert_eq!(it.next(), Ok(Some(1)));
        assert_eq!(it.at(), Some((1, Value::Histogram(&String::from("h")))));
        assert_eq!(it.at().and_then(|(_, v)| v.as_float()), None);
        assert_eq!(collect_samples(&mut it), Ok(vec![(2, Value::Float(1.0))]));
    }
}
