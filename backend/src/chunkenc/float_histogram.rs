//! Float-histogram chunks (upstream `tsdb/chunkenc/float_histogram.go`).
//!
//! After the 3-byte header and the bucket layout (see `layout`), sample 0 is: timestamp (varbit int),
//! then count, zero count, sum and every bucket as 64 raw bits. Sample 1 stores the timestamp delta
//! (varbit int), later samples its delta of delta; count, zero count, sum and each bucket are
//! XOR-encoded, each with its own window. A stale sample is written with zero counts and no buckets.
//! When to cut a new chunk, and how we differ from upstream there, is in `mod.rs`.

use bytes::Bytes;
use shared::histogram::{CUSTOM_BUCKETS_SCHEMA, CounterResetHint, FloatHistogram, bucket_count};
use shared::series::is_stale_nan;

use super::bits::{BitReader, EndOfData};
use super::frame::{FrameWriter, read_frame};
use super::layout::{Appended, CounterResetHeader, Layout, buckets_decreased, validate};
use super::varbit::{put_varbit_int, read_varbit_int};
use super::xor::XorState;
use super::{ChunkError, sample_hint};

/// Builds one float-histogram chunk (upstream `FloatHistogramAppender`).
#[derive(Debug, Clone)]
pub struct FloatHistogramAppender {
    frame: FrameWriter,
    layout: Layout,
    t_delta: i64,
    count: XorState,
    zero_count: XorState,
    sum: XorState,
    positive: Vec<XorState>,
    negative: Vec<XorState>,
}

impl Default for FloatHistogramAppender {
    fn default() -> Self {
        Self::new()
    }
}

impl FloatHistogramAppender {
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
            count: XorState::new(0.0),
            zero_count: XorState::new(0.0),
            sum: XorState::new(0.0),
            positive: Vec::new(),
            negative: Vec::new(),
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
    pub fn append(&mut self, t_ms: i64, h: &FloatHistogram) -> Result<Appended, ChunkError> {
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
        let stale_only = stale.then(|| FloatHistogram {
            sum: h.sum,
            ..FloatHistogram::default()
        });
        self.write_sample(t_ms, stale_only.as_ref().unwrap_or(h));
        Ok(Appended::Yes)
    }

    /// Upstream `appendable`/`appendableGauge` for float histograms, with "recode" replaced by "cut".
    fn cut_reason(&self, h: &FloatHistogram) -> Option<CounterResetHeader> {
        use CounterResetHeader as H;
        let prev_stale = is_stale_nan(f64::from_bits(self.sum.bits));
        let custom_ok =
            h.schema != CUSTOM_BUCKETS_SCHEMA || self.layout.same_custom_values(&h.custom_values);
        if h.counter_reset_hint == CounterResetHint::Gauge {
            let cut = self.frame.header() != H::Gauge
                || (!h.is_stale()
                    && (prev_stale
                        || !self.layout.same_resolution(h.schema, h.zero_threshold)
                        || !custom_ok
                        || !self.layout.same_spans(&h.positive_spans, &h.negative_spans)));
            return cut.then_some(H::Gauge);
        }
        // Upstream starts float chunks cut for a non-reset reason with the Unknown header.
        if self.frame.header() == H::Gauge {
            return Some(H::Unknown);
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
        if h.count < f64::from_bits(self.count.bits) {
            return Some(H::CounterReset);
        }
        if !self.layout.same_resolution(h.schema, h.zero_threshold) {
            return Some(H::Unknown);
        }
        if !custom_ok || h.zero_count < f64::from_bits(self.zero_count.bits) {
            return Some(H::CounterReset);
        }
        let values = |states: &[XorState]| {
            states
                .iter()
                .map(|s| f64::from_bits(s.bits))
                .collect::<Vec<_>>()
        };
        if buckets_decreased(
            &self.layout.positive_spans,
            &values(&self.positive),
            &h.positive_spans,
            &h.positive_buckets,
        ) || buckets_decreased(
            &self.layout.negative_spans,
            &values(&self.negative),
            &h.negative_spans,
            &h.negative_buckets,
        ) {
            return Some(H::CounterReset);
        }
        if !self.layout.same_spans(&h.positive_spans, &h.negative_spans) {
            return Some(H::NotCounterReset);
        }
        None
    }

    /// Upstream `appendFloatHistogram`; `h` is already reduced to its sum when stale.
    fn write_sample(&mut self, t_ms: i64, h: &FloatHistogram) {
        let (first, last_t_ms) = (self.frame.num_samples() == 0, self.frame.last_t_ms());
        let w = &mut self.frame.w;
        let mut t_delta = 0;
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
            for v in [h.count, h.zero_count, h.sum]
                .iter()
                .chain(&h.positive_buckets)
                .chain(&h.negative_buckets)
            {
                w.write_bits(v.to_bits(), 64);
            }
            self.count = XorState::new(h.count);
            self.zero_count = XorState::new(h.zero_count);
            self.sum = XorState::new(h.sum);
            self.positive = h
                .positive_buckets
                .iter()
                .map(|&v| XorState::new(v))
                .collect();
            self.negative = h
                .negative_buckets
                .iter()
                .map(|&v| XorState::new(v))
                .collect();
        } else {
            t_delta = t_ms.wrapping_sub(last_t_ms);
            put_varbit_int(w, t_delta.wrapping_sub(self.t_delta));
            self.count.write(w, h.count);
            self.zero_count.write(w, h.zero_count);
            self.sum.write(w, h.sum);
            for (state, &v) in self.positive.iter_mut().zip(&h.positive_buckets) {
                state.write(w, v);
            }
            for (state, &v) in self.negative.iter_mut().zip(&h.negative_buckets) {
                state.write(w, v);
            }
        }
        self.t_delta = t_delta;
        self.frame.count_sample(t_ms);
    }
}

/// Encodes a series of float histograms into as many chunks as needed (cutting as described in
/// `mod.rs`). Timestamps must strictly increase across the whole series.
pub fn encode_float_histograms<'h>(
    samples: impl IntoIterator<Item = (i64, &'h FloatHistogram)>,
) -> Result<Vec<Bytes>, ChunkError> {
    let mut chunks = Vec::new();
    let mut app = FloatHistogramAppender::new();
    for (t_ms, h) in samples {
        if let Appended::NeedsNewChunk(header) = app.append(t_ms, h)? {
            chunks.push(app.to_bytes());
            app = FloatHistogramAppender::with_header(header);
            let first = app.append(t_ms, h)?;
            debug_assert_eq!(first, Appended::Yes, "an empty chunk takes any sample");
        }
    }
    if app.num_samples() > 0 {
        chunks.push(app.to_bytes());
    }
    Ok(chunks)
}

/// Decodes a float-histogram chunk lazily; never panics on malformed input (upstream
/// `floatHistogramIterator`).
#[derive(Debug, Clone)]
pub struct FloatHistogramIter<'a> {
    r: BitReader<'a>,
    header: CounterResetHeader,
    total: u16,
    read: u16,
    failed: bool,
    layout: Layout,
    t_ms: i64,
    t_delta: i64,
    count: XorState,
    zero_count: XorState,
    sum: XorState,
    positive: Vec<XorState>,
    negative: Vec<XorState>,
}

impl<'a> FloatHistogramIter<'a> {
    /// A decoder over a whole chunk (header included).
    pub fn new(data: &'a [u8]) -> Result<Self, ChunkError> {
        let (header, total, body) = read_frame(data)?;
        let zero = XorState {
            bits: 0,
            leading: 0,
            trailing: 0,
        };
        Ok(Self {
            r: BitReader::new(body),
            header,
            total,
            read: 0,
            failed: false,
            layout: Layout::default(),
            t_ms: 0,
            t_delta: 0,
            count: zero,
            zero_count: zero,
            sum: zero,
            positive: Vec::new(),
            negative: Vec::new(),
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
    pub fn seek(&mut self, target_ms: i64) -> Option<Result<(i64, FloatHistogram), ChunkError>> {
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

    fn current(&self) -> FloatHistogram {
        let sum = f64::from_bits(self.sum.bits);
        if is_stale_nan(sum) {
            return FloatHistogram {
                sum,
                ..FloatHistogram::default()
            };
        }
        let values = |states: &[XorState]| states.iter().map(|s| f64::from_bits(s.bits)).collect();
        FloatHistogram {
            counter_reset_hint: sample_hint(self.header, self.read - 1),
            schema: self.layout.schema,
            zero_threshold: self.layout.zero_threshold,
            zero_count: f64::from_bits(self.zero_count.bits),
            count: f64::from_bits(self.count.bits),
            sum,
            positive_spans: self.layout.positive_spans.clone(),
            negative_spans: self.layout.negative_spans.clone(),
            positive_buckets: values(&self.positive),
            negative_buckets: values(&self.negative),
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
            let mut raw = || {
                r.read_bits(64)
                    .map(|bits| XorState {
                        bits,
                        leading: 0,
                        trailing: 0,
                    })
                    .map_err(end)
            };
            self.count = raw()?;
            self.zero_count = raw()?;
            self.sum = raw()?;
            let n_pos = bucket_count(&self.layout.positive_spans) as usize;
            let n_neg = bucket_count(&self.layout.negative_spans) as usize;
            self.positive = (0..n_pos).map(|_| raw()).collect::<Result<_, _>>()?;
            self.negative = (0..n_neg).map(|_| raw()).collect::<Result<_, _>>()?;
            return Ok(());
        }
        self.t_delta = self.t_delta.wrapping_add(read_varbit_int(r).map_err(end)?);
        self.t_ms = self.t_ms.wrapping_add(self.t_delta);
        for state in [&mut self.count, &mut self.zero_count, &mut self.sum] {
            state.read(r).map_err(|e| e.at(sample))?;
        }
        if is_stale_nan(f64::from_bits(self.sum.bits)) {
            return Ok(());
        }
        for state in self.positive.iter_mut().chain(&mut self.negative) {
            state.read(r).map_err(|e| e.at(sample))?;
        }
        Ok(())
    }
}

impl Iterator for FloatHistogramIter<'_> {
    type Item = Result<(i64, FloatHistogram), ChunkError>;

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
#[path = "float_histogram_tests.rs"]
mod tests;
