//! Sample iterators over a series' encoded chunks: the bridge from the StoreAPI's chunks to the
//! deduplication iterators ([`super::dedup`]) and, later, the PromQL engine.
//!
//! A [`ChunkSeriesIterator`] walks a group of raw chunks that do not overlap in time (one group of
//! [`super::dedup::overlap_split`]), decoding one chunk at a time, so memory stays at one chunk's
//! decoder whatever the series' length. As Thanos does (`pkg/query/iter.go`, THANOS.md §1.5),
//! samples outside `[min_ms, max_ms]` are skipped, and when moving to the next chunk, samples at or
//! before the last returned timestamp are skipped. Only the `raw` field is read: Chorus asks for
//! raw data and does not serve downsampled aggregates.

use shared::histogram::{FloatHistogram, Histogram};
use shared::series::TimeRange;

use super::dedup::{SampleIterator, Value};
use crate::chunkenc::{self, ChunkError, SampleIter, SampleValue};
use crate::storeapi::AggrChunk;

/// A native-histogram sample value, as decoded from a histogram or float-histogram chunk.
#[derive(Debug, Clone, PartialEq)]
pub enum NativeHistogram {
    /// Integer counts.
    Integer(Box<Histogram>),
    /// Float counts.
    Float(Box<FloatHistogram>),
}

/// Decodes a group of time-ordered raw chunks as one sample iterator.
#[derive(Debug)]
pub struct ChunkSeriesIterator<'a> {
    chunks: &'a [AggrChunk],
    next_chunk: usize,
    decoder: Option<SampleIter<'a>>,
    range: TimeRange,
    current: Option<(i64, Value<NativeHistogram>)>,
    exhausted: bool,
}

impl<'a> ChunkSeriesIterator<'a> {
    /// An iterator over the samples of `chunks` inside `range`. `chunks` must be sorted by time
    /// and not overlap (as each group of `overlap_split` is); chunks without raw data are skipped.
    pub fn new(chunks: &'a [AggrChunk], range: TimeRange) -> Self {
        Self {
            chunks,
            next_chunk: 0,
            decoder: None,
            range,
            current: None,
            exhausted: false,
        }
    }

    /// Opens the next chunk that can hold samples inside the range and after `after_ms`.
    fn open_next_chunk(&mut self, after_ms: i64) -> Result<bool, ChunkError> {
        while let Some(chunk) = self.chunks.get(self.next_chunk) {
            self.next_chunk += 1;
            let Some(raw) = &chunk.raw else { continue };
            if chunk.max_time_ms < self.range.min_ms() || chunk.max_time_ms <= after_ms {
                continue;
            }
            if chunk.min_time_ms > self.range.max_ms() {
                break;
            }
            self.decoder = Some(chunkenc::decode(raw.encoding, &raw.data)?);
            return Ok(true);
        }
        self.decoder = None;
        Ok(false)
    }

    /// Moves to the first sample with `t >= target_ms` and `t > last`, inside the range.
    fn advance(&mut self, target_ms: i64, seeking: bool) -> Result<Option<i64>, ChunkError> {
        if self.exhausted {
            return Ok(None);
        }
        let last = self.current.as_ref().map(|(t, _)| *t);
        let target = match last {
            Some(t) => target_ms.max(t.saturating_add(1)),
            None => target_ms.max(self.range.min_ms()),
        };
        loop {
            if self.decoder.is_none() && !self.open_next_chunk(last.unwrap_or(i64::MIN))? {
                return Ok(self.finish());
            }
            let Some(decoder) = self.decoder.as_mut() else {
                return Ok(self.finish());
            };
            let step = if seeking || last.is_none() {
                decoder.seek(target)
            } else {
                decoder.next()
            };
            match step {
                None => self.decoder = None,
                Some(Err(error)) => {
                    self.finish();
                    return Err(error);
                }
                Some(Ok((t, _))) if t < target => {}
                Some(Ok((t, value))) => {
                    if t > self.range.max_ms() {
                        return Ok(self.finish());
                    }
                    let value = match value {
                        SampleValue::Float(v) => Value::Float(v),
                        SampleValue::Histogram(h) => Value::Histogram(NativeHistogram::Integer(h)),
                        SampleValue::FloatHistogram(h) => {
                            Value::Histogram(NativeHistogram::Float(h))
                        }
                    };
                    self.current = Some((t, value));
                    return Ok(Some(t));
                }
            }
        }
    }

    fn finish(&mut self) -> Option<i64> {
        self.exhausted = true;
        self.decoder = None;
        self.current = None;
        None
    }
}

impl SampleIterator for ChunkSeriesIterator<'_> {
    type Histogram = NativeHistogram;
    type Error = ChunkError;

    fn next(&mut self) -> Result<Option<i64>, ChunkError> {
        self.advance(i64::MIN, false)
    }

    fn seek(&mut self, t_ms: i64) -> Result<Option<i64>, ChunkError> {
        match &self.current {
            Some((t, _)) if *t >= t_ms => Ok(Some(*t)),
            _ => self.advance(t_ms, true),
        }
    }

    fn at(&self) -> Option<(i64, Value<&NativeHistogram>)> {
        self.current.as_ref().map(|(t, v)| (*t, v.as_ref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunkenc::XorAppender;
    use crate::query::dedup::{
        DedupAlgorithm, ValueKind, collect_samples, deduplicate, overlap_split,
    };
    use crate::storeapi::{Chunk, ChunkEncoding};

    fn xor_chunk(samples: &[(i64, f64)]) -> AggrChunk {
        let mut appender = XorAppender::new();
        for &(t, v) in samples {
            appender.append(t, v).unwrap();
        }
        let data = appender.to_bytes();
        let chunk = Chunk {
            encoding: ChunkEncoding::Xor,
            data,
            hash: 0,
        };
        AggrChunk::raw(samples[0].0, samples[samples.len() - 1].0, chunk)
    }

    fn floats(it: &mut ChunkSeriesIterator<'_>) -> Vec<(i64, f64)> {
        collect_samples(it)
            .unwrap()
            .into_iter()
            .map(|(t, v)| (t, v.as_float().unwrap()))
            .collect()
    }

    #[test]
    fn walks_chunks_in_order_within_the_range() {
        let chunks = [
            xor_chunk(&[(10, 1.0), (20, 2.0), (30, 3.0)]),
            xor_chunk(&[(40, 4.0), (50, 5.0)]),
        ];
        let mut all = ChunkSeriesIterator::new(&chunks, TimeRange::ALL);
        assert_eq!(
            floats(&mut all),
            [(10, 1.0), (20, 2.0), (30, 3.0), (40, 4.0), (50, 5.0)]
        );
        let mut bounded = ChunkSeriesIterator::new(&chunks, TimeRange::new(20, 40).unwrap());
        assert_eq!(floats(&mut bounded), [(20, 2.0), (30, 3.0), (40, 4.0)]);
    }

    #[test]
    fn samples_repeated_by_the_next_chunk_are_skipped() {
        let chunks = [
            xor_chunk(&[(10, 1.0), (20, 2.0)]),
            xor_chunk(&[(20, 9.0), (30, 3.0)]),
        ];
        let mut it = ChunkSeriesIterator::new(&chunks, TimeRange::ALL);
        assert_eq!(floats(&mut it), [(10, 1.0), (20, 2.0), (30, 3.0)]);
    }

    #[test]
    fn seek_moves_forward_only_and_across_chunks() {
        let chunks = [
            xor_chunk(&[(10, 1.0), (20, 2.0)]),
            xor_chunk(&[(40, 4.0), (50, 5.0)]),
        ];
        let mut it = ChunkSeriesIterator::new(&chunks, TimeRange::ALL);
        assert_eq!(it.seek(25).unwrap(), Some(40));
        assert_eq!(it.seek(5).unwrap(), Some(40));
        assert_eq!(it.next().unwrap(), Some(50));
        assert_eq!(it.seek(51).unwrap(), None);
        assert_eq!(it.next().unwrap(), None);
    }

    #[test]
    fn corrupt_chunks_are_errors() {
        let chunk = Chunk {
            encoding: ChunkEncoding::Xor,
            data: bytes::Bytes::from_static(&[0, 5, 1]),
            hash: 0,
        };
        let chunks = [AggrChunk::raw(0, 100, chunk)];
        let mut it = ChunkSeriesIterator::new(&chunks, TimeRange::ALL);
        assert!(it.next().is_err());
        assert_eq!(it.next().unwrap(), None);
    }

    #[test]
    fn two_replicas_from_chunks_deduplicate_without_gaps() {
        // Replica a misses 100..=160 s, replica b scrapes 5 s later throughout.
        let a: Vec<(i64, f64)> = (0..30)
            .map(|i| i * 10_000)
            .filter(|t| !(100_000..=160_000).contains(t))
            .map(|t| (t, 1.0))
            .collect();
        let b: Vec<(i64, f64)> = (0..30)
            .map(|i| i * 10_000 + 5_000)
            .map(|t| (t, 2.0))
            .collect();
        let (ca, cb) = ([xor_chunk(&a[..10]), xor_chunk(&a[10..])], [xor_chunk(&b)]);
        let groups_a = overlap_split(ca.to_vec());
        assert_eq!(groups_a.len(), 1);
        let replicas = vec![
            ChunkSeriesIterator::new(&groups_a[0], TimeRange::ALL),
            ChunkSeriesIterator::new(&cb, TimeRange::ALL),
        ];
        let mut merged = deduplicate(replicas, DedupAlgorithm::Penalty, ValueKind::Gauge);
        let out: Vec<i64> = collect_samples(&mut merged)
            .unwrap()
            .into_iter()
            .map(|(t, _)| t)
            .collect();
        // b fills a's hole: no step longer than the switch penalty allows (2 intervals after the
        // last sample of a, plus b's offset), where a alone has a 80 s hole.
        assert!(out.windows(2).all(|w| w[1] - w[0] <= 30_000), "{out:?}");
        assert!(
            out.iter().any(|t| (100_000..=160_000).contains(t)),
            "{out:?}"
        );
    }
}
