//! Histogram chunks with integer counts (upstream `tsdb/chunkenc/histogram.go`).
//!
//! After the 3-byte header and the bucket layout (see `layout`), sample 0 is: timestamp (varbit int),
//! count and zero count (varbit uint), sum (64 raw bits), each bucket's delta-encoded count (varbit
//! int). Sample 1 stores first differences of timestamp, count and zero count, the sum XOR-encoded,
//! and each bucket's change. Later samples store second differences (delta of delta) instead.
//! A stale sample drops everything but its sum (its count differences are written as 0 and no
//! buckets follow). When to cut a new chunk, and how we differ from upstream there, is in `mod.rs`.

use bytes::Bytes;
use shared::histogram::{CounterResetHint, Histogram};

use super::bits::{BitReader, BitWriter, EndOfData};
use super::frame::{FrameWriter, read_frame};
use super::layout::{Appended, CounterResetHeader, Layout, buckets_decreased, validate};
use super::varbit::{put_varbit_int, put_varbit_uint, read_varbit_int, read_varbit_uint};
use super::xor::XorState;
use super::{ChunkError, sample_hint};

/// Builds one histogram chunk (upstream `HistogramAppender`).
#[derive(Debug, Clone)]
pub struct HistogramAppender {
    frame: FrameWriter,
    layout: Layout,
    t_delta: i64,
    count: u64,
    count_delta: i64,
    zero_count: u64,
    zero_count_delta: i64,
    sum: XorState,
    positive: Vec<i64>,
    positive_delta: Vec<i64>,
    negative: Vec<i64>,
    negative_delta: Vec<i64>,
}

impl Default for HistogramAppender {
    fn default() -> Self {
        Self::new()
    }
}

impl HistogramAppender {
    /// An empty chunk with the `Unknown` counter-reset header.
    pub fn new() -> Self {
        Self::with_header(CounterResetHeader::Unknown)
    }

    /// An empty chunk with the given header (as returned in [`Appended::NeedsNewChunk`]). A first
    /// sample hinted `Gauge` or `CounterReset` overrides it, as upstream does.
    pub fn with_header(header: CounterResetHeader) -> Self {
        Self {
            frame: FrameWriter::new(header),
            layout: Layout::default(),
            t_delta: 0,
            count: 0,
            count_delta: 0,
            zero_count: 0,
            zero_count_delta: 0,
            sum: XorState::new(0.0),
            positive: Vec::new(),
            positive_delta: Vec::new(),
            negative: Vec::new(),
            negative_delta: Vec::new(),
        }
    }

    /// The chunk's counter-reset header.
    pub fn header(&self) -> CounterResetHeader {
        self.frame.header()
    }

    /// Samples appended so far.
    pub fn num_samples(&self) -> u16 {
        self.frame.num_samples()
    }

    /// Encoded size so far, in bytes.
    pub fn len_bytes(&self) -> usize {
        self.frame.len_bytes()
    }

    /// The chunk bytes as they stand.
    pub fn to_bytes(&self) -> Bytes {
        self.frame.to_bytes()
    }

    /// Appends `h` at `t_ms`, or reports that it belongs in a new chunk (see the module docs in
    /// `mod.rs`). Errors on a non-increasing timestamp or an inconsistent histogram.
    pub fn append(&mut self, t_ms: i64, h: &Histogram) -> Result<Appended, ChunkError> {
        let stale = h.is_stale();
        if !stale {
            validate(
                h.schema,
                &h.custom_values,
                [
                    ("positive", &h.positive_spans, h.positive_buckets.len()),
                    ("negative", &h.negative_spans, h.negative_buckets.len()),
                ],
            )?;
        }
        if self.frame.num_samples() > 0 {
            self.frame.check_increasing(t_ms)?;
            if let Some(header) = self.cut_reason(h).or_else(|| self.frame.full_cut()) {
                return Ok(Appended::NeedsNewChunk(header));
            }
        } else {
            self.frame.adopt_first_hint(h.counter_reset_hint);
        }
        let stale_only = stale.then(|| Histogram {
            sum: h.sum,
            ..Histogram::default()
        });
        self.write_sample(t_ms, stale_only.as_ref().unwrap_or(h));
        Ok(Appended::Yes)
    }

    /// Upstream `appendable`/`appendableGauge`, with "recode" replaced by "cut".
    fn cut_reason(&self, h: &Histogram) -> Option<CounterResetHeader> {
        use CounterResetHeader as H;
        let prev_stale = shared::series::is_stale_nan(f64::from_bits(self.sum.bits));
        let custom_ok = self.layout.same_custom_values(&h.custom_values)
            || h.schema != shared::histogram::CUSTOM_BUCKETS_SCHEMA;
        if h.counter_reset_hint == CounterResetHint::Gauge {
            return if self.frame.header() != H::Gauge {
                Some(H::Gauge)
            } else if h.is_stale() {
                None
            } else if prev_stale
                || !self.layout.same_resolution(h.schema, h.zero_threshold)
                || !custom_ok
                || !self.layout.same_spans(&h.positive_spans, &h.negative_spans)
            {
                Some(H::Gauge)
            } else {
                None
            };
        }
        if self.frame.header() == H::Gauge {
            return Some(H::NotCounterReset);
        }
        if h.counter_reset_hint == CounterResetHint::CounterReset {
            return Some(H::CounterReset);
        }
        if h.is_stale() {
            return None;
        }
        if prev_stale {
            return Some(H::Unknown);
        }
        if h.count < self.count {
            return Some(H::CounterReset);
        }
        if !self.layout.same_resolution(h.schema, h.zero_threshold) {
            return Some(H::Unknown);
        }
        if !custom_ok || h.zero_count < self.zero_count {
            return Some(H::CounterReset);
        }
        let (old_pos, new_pos) = (absolute(&self.positive), absolute(&h.positive_buckets));
        let (old_neg, new_neg) = (absolute(&self.negative), absolute(&h.negative_buckets));
        if buckets_decreased(
            &self.layout.positive_spans,
            &old_pos,
            &h.positive_spans,
            &new_pos,
        ) || buckets_decreased(
            &self.layout.negative_spans,
            &old_neg,
            &h.negative_spans,
            &new_neg,
        ) {
            return Some(H::CounterReset);
        }
        if !self.layout.same_spans(&h.positive_spans, &h.negative_spans) {
            return Some(H::NotCounterReset);
        }
        None
    }

    /// Upstream `appendHistogram`; `h` is already reduced to its sum when stale.
    fn write_sample(&mut self, t_ms: i64, h: &Histogram) {
        let (first, last_t_ms) = (self.frame.num_samples() == 0, self.frame.last_t_ms());
        let w = &mut self.frame.w;
        let (mut t_delta, mut count_delta, mut zero_count_delta) = (0, 0, 0);
        if first {
            self.layout = Layout {
                schema: h.schema,
                zero_threshold: h.zero_threshold,
                positive_spans: h.positive_spans.clone(),
                negative_spans: h.negative_spans.clone(),
                custom_values: h.custom_values.clone(),
            };
            self.layout.write(w);
            put_varbit_int(w, t_ms);
            put_varbit_uint(w, h.count);
            put_varbit_uint(w, h.zero_count);
            w.write_bits(h.sum.to_bits(), 64);
            self.sum = XorState::new(h.sum);
            for &b in h.positive_buckets.iter().chain(&h.negative_buckets) {
                put_varbit_int(w, b);
            }
            self.positive = h.positive_buckets.clone();
            self.positive_delta = vec![0; h.positive_buckets.len()];
            self.negative = h.negative_buckets.clone();
            self.negative_delta = vec![0; h.negative_buckets.len()];
        } else {
            t_delta = t_ms.wrapping_sub(last_t_ms);
            count_delta = (h.count as i64).wrapping_sub(self.count as i64);
            zero_count_delta = (h.zero_count as i64).wrapping_sub(self.zero_count as i64);
            put_varbit_int(w, t_delta.wrapping_sub(self.t_delta));
            if h.is_stale() {
                put_varbit_int(w, 0);
                put_varbit_int(w, 0);
            } else {
                put_varbit_int(w, count_delta.wrapping_sub(self.count_delta));
                put_varbit_int(w, zero_count_delta.wrapping_sub(self.zero_count_delta));
            }
            self.sum.write(w, h.sum);
            write_bucket_dods(
                w,
                &h.positive_buckets,
                &mut self.positive,
                &mut self.positive_delta,
            );
            write_bucket_dods(
                w,
                &h.negative_buckets,
                &mut self.negative,
                &mut self.negative_delta,
            );
        }
        self.t_delta = t_delta;
        self.count = h.count;
        self.count_delta = count_delta;
        self.zero_count = h.zero_count;
        self.zero_count_delta = zero_count_delta;
        self.frame.count_sample(t_ms);
    }
}

fn write_bucket_dods(w: &mut BitWriter, buckets: &[i64], prev: &mut [i64], prev_delta: &mut [i64]) {
    for ((&b, p), pd) in buckets.iter().zip(prev).zip(prev_delta) {
        let delta = b.wrapping_sub(*p);
        put_varbit_int(w, delta.wrapping_sub(*pd));
        *pd = delta;
        *p = b;
    }
}

fn absolute(deltas: &[i64]) -> Vec<i64> {
    deltas
        .iter()
        .scan(0i64, |acc, d| {
            *acc = acc.wrapping_add(*d);
            Some(*acc)
        })
        .collect()
}

/// Encodes a series of histograms into as many chunks as needed (cutting as described in `mod.rs`).
/// Timestamps must strictly increase across the whole series.
pub fn encode_histograms<'h>(
    samples: impl IntoIterator<Item = (i64, &'h Histogram)>,
) -> Result<Vec<Bytes>, ChunkError> {
    let mut chunks = Vec::new();
    let mut app = HistogramAppender::new();
    for (t_ms, h) in samples {
        if let Appended::NeedsNewChunk(header) = app.append(t_ms, h)? {
            chunks.push(app.to_bytes());
            app = HistogramAppender::with_header(header);
            let first = app.append(t_ms, h)?;
            debug_assert_eq!(first, Appended::Yes, "an empty chunk takes any sample");
        }
    }
    if app.num_samples() > 0 {
        chunks.push(app.to_bytes());
    }
    Ok(chunks)
}

/// Decodes a histogram chunk lazily; never panics on malformed input (upstream `histogramIterator`).
#[derive(Debug, Clone)]
pub struct HistogramIter<'a> {
    r: BitReader<'a>,
    header: CounterResetHeader,
    total: u16,
    read: u16,
    failed: bool,
    layout: Layout,
    t_ms: i64,
    t_delta: i64,
    count: u64,
    count_delta: i64,
    zero_count: u64,
    zero_count_delta: i64,
    sum: XorState,
    positive: Vec<i64>,
    positive_delta: Vec<i64>,
    negative: Vec<i64>,
    negative_delta: Vec<i64>,
}

impl<'a> HistogramIter<'a> {
    /// A decoder over a whole chunk (header included).
    pub fn new(data: &'a [u8]) -> Result<Self, ChunkError> {
        let (header, total, body) = read_frame(data)?;
        Ok(Self {
            r: BitReader::new(body),
            header,
            total,
            read: 0,
            failed: false,
            layout: Layout::default(),
            t_ms: 0,
            t_delta: 0,
            count: 0,
            count_delta: 0,
            zero_count: 0,
            zero_count_delta: 0,
            sum: XorState {
                bits: 0,
                leading: 0,
                trailing: 0,
            },
            positive: Vec::new(),
            positive_delta: Vec::new(),
            negative: Vec::new(),
            negative_delta: Vec::new(),
        })
    }

    /// The chunk's counter-reset header.
    pub fn header(&self) -> CounterResetHeader {
        self.header
    }

    /// Number of samples the header announces.
    pub fn num_samples(&self) -> u16 {
        self.total
    }

    /// The first sample with `t_ms >= target_ms`, counting the last sample returned.
    pub fn seek(&mut self, target_ms: i64) -> Option<Result<(i64, Histogram), ChunkError>> {
        if self.read > 0 && !self.failed && self.t_ms >= target_ms {
            return Some(Ok((self.t_ms, self.current())));
        }
        loop {
            match self.next()? {
                Ok((t, _)) if t < target_ms => continue,
                other => return Some(other),
            }
        }
    }

    fn current(&self) -> Histogram {
        let sum = f64::from_bits(self.sum.bits);
        if shared::series::is_stale_nan(sum) {
            return Histogram {
                sum,
                ..Histogram::default()
            };
        }
        Histogram {
            counter_reset_hint: sample_hint(self.header, self.read - 1),
            schema: self.layout.schema,
            zero_threshold: self.layout.zero_threshold,
            zero_count: self.zero_count,
            count: self.count,
            sum,
            positive_spans: self.layout.positive_spans.clone(),
            negative_spans: self.layout.negative_spans.clone(),
            positive_buckets: self.positive.clone(),
            negative_buckets: self.negative.clone(),
            custom_values: self.layout.custom_values.clone(),
        }
    }

    fn read_next(&mut self) -> Result<(), ChunkError> {
        let sample = self.read;
        let end = |_: EndOfData| ChunkError::Truncated { sample };
        let r = &mut self.r;
        if sample == 0 {
            self.layout = Layout::read(r)?;
            self.t_ms = read_varbit_int(r).map_err(end)?;
            self.count = read_varbit_uint(r).map_err(end)?;
            self.zero_count = read_varbit_uint(r).map_err(end)?;
            self.sum.bits = r.read_bits(64).map_err(end)?;
            let n_pos = shared::histogram::bucket_count(&self.layout.positive_spans) as usize;
            let n_neg = shared::histogram::bucket_count(&self.layout.negative_spans) as usize;
            self.positive = (0..n_pos)
                .map(|_| read_varbit_int(r))
                .collect::<Result<_, _>>()
                .map_err(end)?;
            self.negative = (0..n_neg)
                .map(|_| read_varbit_int(r))
                .collect::<Result<_, _>>()
                .map_err(end)?;
            self.positive_delta = vec![0; n_pos];
            self.negative_delta = vec![0; n_neg];
            return Ok(());
        }
        self.t_delta = self.t_delta.wrapping_add(read_varbit_int(r).map_err(end)?);
        self.t_ms = self.t_ms.wrapping_add(self.t_delta);
        self.count_delta = self
            .count_delta
            .wrapping_add(read_varbit_int(r).map_err(end)?);
        self.count = self.count.wrapping_add(self.count_delta as u64);
        self.zero_count_delta = self
            .zero_count_delta
            .wrapping_add(read_varbit_int(r).map_err(end)?);
        self.zero_count = self.zero_count.wrapping_add(self.zero_count_delta as u64);
        self.sum.read(r).map_err(|e| e.at(sample))?;
        if shared::series::is_stale_nan(f64::from_bits(self.sum.bits)) {
            return Ok(());
        }
        for (b, d) in self.positive.iter_mut().zip(&mut self.positive_delta) {
            *d = d.wrapping_add(read_varbit_int(r).map_err(end)?);
            *b = b.wrapping_add(*d);
        }
        for (b, d) in self.negative.iter_mut().zip(&mut self.negative_delta) {
            *d = d.wrapping_add(read_varbit_int(r).map_err(end)?);
            *b = b.wrapping_add(*d);
        }
        Ok(())
    }
}

impl Iterator for HistogramIter<'_> {
    type Item = Result<(i64, Histogram), ChunkError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.read == self.total {
            return None;
        }
        if let Err(e) = self.read_next() {
            self.failed = true;
            return Some(Err(e));
        }
        self.read += 1;
        Some(Ok((self.t_ms, self.current())))
    }
}

#[cfg(test)]
#[path = "histogram_tests.rs"]
pub(crate) mod tests;
