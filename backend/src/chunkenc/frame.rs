//! The frame of a histogram chunk, shared by `histogram` and `float_histogram`: the 3-byte header
//! (sample count, then the counter-reset bits; upstream `tsdb/chunkenc/histogram.go` and
//! `float_histogram.go`) as an appender keeps it current and an iterator reads it, and the checks
//! every append makes that do not look at the sample's values: strictly increasing timestamps, a
//! full chunk, and a first sample's hint choosing the header.
//!
//! It knows nothing about counts, buckets or bucket layouts; whether a sample's values force a new
//! chunk is each appender's `cut_reason`.

use bytes::Bytes;
use shared::histogram::CounterResetHint;

use super::ChunkError;
use super::bits::BitWriter;
use super::layout::{CounterResetHeader, HISTOGRAM_HEADER_LEN};

/// The bit stream of a histogram chunk being built, with its header kept current.
#[derive(Debug, Clone)]
pub(crate) struct FrameWriter {
    /// The chunk body; sample encoders write here.
    pub(crate) w: BitWriter,
    header: CounterResetHeader,
    num: u16,
    last_t_ms: i64,
}

impl FrameWriter {
    /// An empty chunk with `header`.
    pub(crate) fn new(header: CounterResetHeader) -> Self {
        let mut frame = Self {
            w: BitWriter::with_header(HISTOGRAM_HEADER_LEN),
            header,
            num: 0,
            last_t_ms: 0,
        };
        frame.set_header(header);
        frame
    }

    /// The chunk's counter-reset header.
    #[inline]
    pub(crate) fn header(&self) -> CounterResetHeader {
        self.header
    }

    /// Samples appended so far.
    #[inline]
    pub(crate) fn num_samples(&self) -> u16 {
        self.num
    }

    /// The timestamp of the last sample appended (0 before the first).
    #[inline]
    pub(crate) fn last_t_ms(&self) -> i64 {
        self.last_t_ms
    }

    /// Encoded size so far, in bytes.
    pub(crate) fn len_bytes(&self) -> usize {
        self.w.len_bytes()
    }

    /// The chunk bytes as they stand.
    pub(crate) fn to_bytes(&self) -> Bytes {
        self.w.to_bytes()
    }

    fn set_header(&mut self, header: CounterResetHeader) {
        self.header = header;
        self.w.header_mut()[2] = header.bits();
    }

    /// Errors unless `t_ms` comes after the last sample's timestamp.
    pub(crate) fn check_increasing(&self, t_ms: i64) -> Result<(), ChunkError> {
        if t_ms <= self.last_t_ms {
            return Err(ChunkError::NonIncreasingTimestamp {
                prev_ms: self.last_t_ms,
                t_ms,
            });
        }
        Ok(())
    }

    /// When the chunk holds `u16::MAX` samples: the header of the chunk that continues it.
    pub(crate) fn full_cut(&self) -> Option<CounterResetHeader> {
        (self.num == u16::MAX).then_some(if self.header == CounterResetHeader::Gauge {
            CounterResetHeader::Gauge
        } else {
            CounterResetHeader::NotCounterReset
        })
    }

    /// Before the first sample: a `Gauge` or `CounterReset` hint overrides the header, as
    /// upstream does; other hints leave it.
    pub(crate) fn adopt_first_hint(&mut self, hint: CounterResetHint) {
        match hint {
            CounterResetHint::Gauge => self.set_header(CounterResetHeader::Gauge),
            CounterResetHint::CounterReset => self.set_header(CounterResetHeader::CounterReset),
            _ => {}
        }
    }

    /// Records that the sample at `t_ms` has been written to [`Self::w`].
    #[inline]
    pub(crate) fn count_sample(&mut self, t_ms: i64) {
        self.last_t_ms = t_ms;
        self.num += 1;
        self.w.header_mut()[..2].copy_from_slice(&self.num.to_be_bytes());
    }
}

/// Splits a whole histogram chunk into its counter-reset header, the sample count it announces,
/// and the body.
pub(crate) fn read_frame(data: &[u8]) -> Result<(CounterResetHeader, u16, &[u8]), ChunkError> {
    let Some((header, body)) = data.split_first_chunk::<HISTOGRAM_HEADER_LEN>() else {
        return Err(ChunkError::TooShort {
            len: data.len(),
            header: HISTOGRAM_HEADER_LEN,
        });
    };
    Ok((
        CounterResetHeader::from_flags(header[2]),
        u16::from_be_bytes([header[0], header[1]]),
        body,
    ))
}
