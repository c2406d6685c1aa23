//! Gorilla XOR float chunks (upstream `tsdb/chunkenc/xor.go`), encoder and decoder.
//!
//! Layout: a 2-byte big-endian sample count, then a bit stream. Sample 0 is its timestamp as a
//! zig-zag varint and its value as 64 raw bits. Sample 1 is the timestamp delta as an unsigned varint
//! and the value XOR-encoded against sample 0. Every later sample is the delta-of-delta of its
//! timestamp (`0`, or prefix `10`/`110`/`1110` + 14/17/20 bits, or `1111` + 64 bits) and the XOR value.
//! Timestamp arithmetic wraps like Go's, so any strictly increasing `i64` sequence round-trips.
//! The XOR value helpers here are also used by the histogram chunk formats.

use bytes::Bytes;
use shared::series::Sample;

use super::ChunkError;
use super::bits::{BitReader, BitWriter, EndOfData};
use super::varbit::{fits_signed, sign_extend};

/// Size of the sample count header of every chunk format.
pub(crate) const COUNT_HEADER_LEN: usize = 2;

/// State of one XOR-encoded float stream: the previous value's bits and the significant-bits window.
/// `leading == 0xff` means "no window yet" (upstream's sentinel).
#[derive(Debug, Clone, Copy)]
pub(crate) struct XorState {
    pub(crate) bits: u64,
    pub(crate) leading: u8,
    pub(crate) trailing: u8,
}

impl XorState {
    /// A stream whose previous value is `value`, with no window yet.
    pub(crate) fn new(value: f64) -> Self {
        Self {
            bits: value.to_bits(),
            leading: 0xff,
            trailing: 0,
        }
    }

    /// Appends `value` XOR-encoded against the previous one (upstream `xorWrite`).
    pub(crate) fn write(&mut self, w: &mut BitWriter, value: f64) {
        let new_bits = value.to_bits();
        let delta = new_bits ^ self.bits;
        self.bits = new_bits;
        if delta == 0 {
            w.write_bit(false);
            return;
        }
        // Five bits hold the leading-zero count, so it is capped at 31.
        let leading = (delta.leading_zeros() as u8).min(31);
        let trailing = delta.trailing_zeros() as u8;
        if self.leading != 0xff && leading >= self.leading && trailing >= self.trailing {
            let sig = 64 - u32::from(self.leading) - u32::from(self.trailing);
            w.write_bits(0b10, 2);
            w.write_bits(delta >> self.trailing, sig);
            return;
        }
        self.leading = leading;
        self.trailing = trailing;
        let sig = 64 - u32::from(leading) - u32::from(trailing);
        w.write_bits(0b11, 2);
        w.write_bits(u64::from(leading), 5);
        // 64 significant bits are written as 0 in the 6-bit field.
        w.write_bits(u64::from(sig), 6);
        w.write_bits(delta >> trailing, sig);
    }

    /// Reads the next XOR-encoded value into `self.bits` (upstream `xorRead`).
    #[inline(always)]
    pub(crate) fn read(&mut self, r: &mut BitReader<'_>) -> Result<(), XorReadError> {
        match r.read_prefix(2)? {
            0 => return Ok(()),
            1 => {}
            _ => {
                let leading = r.read_bits_short(5)? as u32;
                let sig = match r.read_bits_short(6)? as u32 {
                    0 => 64,
                    n => n,
                };
                if leading + sig > 64 {
                    return Err(XorReadError::BadWindow { leading, sig });
                }
                self.leading = leading as u8;
                self.trailing = (64 - leading - sig) as u8;
            }
        }
        // Readers start with leading = trailing = 0 (a 64-bit window), as upstream does.
        let leading = if self.leading == 0xff {
            0
        } else {
            u32::from(self.leading)
        };
        let trailing = u32::from(self.trailing);
        let sig = 64 - leading - trailing;
        let bits = r.read_bits(sig)?;
        self.bits ^= bits << trailing;
        Ok(())
    }
}

/// Why an XOR value could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum XorReadError {
    /// The stream ended.
    End,
    /// The window header claims more than 64 bits.
    BadWindow { leading: u32, sig: u32 },
}

impl From<EndOfData> for XorReadError {
    fn from(_: EndOfData) -> Self {
        Self::End
    }
}

impl XorReadError {
    pub(crate) fn at(self, sample: u16) -> ChunkError {
        match self {
            Self::End => ChunkError::Truncated { sample },
            Self::BadWindow { leading, sig } => ChunkError::BadXorWindow {
                sample,
                leading,
                sig,
            },
        }
    }
}

/// Builds one XOR chunk, sample by sample (upstream `xorAppender`).
#[derive(Debug, Clone)]
pub struct XorAppender {
    w: BitWriter,
    num: u16,
    t_ms: i64,
    t_delta: u64,
    value: XorState,
}

impl Default for XorAppender {
    fn default() -> Self {
        Self::new()
    }
}

impl XorAppender {
    /// An empty chunk.
    pub fn new() -> Self {
        Self {
            w: BitWriter::with_header(COUNT_HEADER_LEN),
            num: 0,
            t_ms: 0,
            t_delta: 0,
            value: XorState::new(0.0),
        }
    }

    /// Samples appended so far.
    pub fn num_samples(&self) -> u16 {
        self.num
    }

    /// Encoded size so far, in bytes.
    pub fn len_bytes(&self) -> usize {
        self.w.len_bytes()
    }

    /// Appends a sample. Timestamps must strictly increase; a chunk holds at most `u16::MAX` samples.
    pub fn append(&mut self, t_ms: i64, v: f64) -> Result<(), ChunkError> {
        if self.num == u16::MAX {
            return Err(ChunkError::ChunkFull);
        }
        if self.num > 0 && t_ms <= self.t_ms {
            return Err(ChunkError::NonIncreasingTimestamp {
                prev_ms: self.t_ms,
                t_ms,
            });
        }
        let mut t_delta = 0;
        match self.num {
            0 => {
                write_varint(&mut self.w, t_ms);
                self.w.write_bits(v.to_bits(), 64);
                self.value = XorState::new(v);
            }
            1 => {
                t_delta = t_ms.wrapping_sub(self.t_ms) as u64;
                write_uvarint(&mut self.w, t_delta);
                self.value.write(&mut self.w, v);
            }
            _ => {
                t_delta = t_ms.wrapping_sub(self.t_ms) as u64;
                let dod = t_delta.wrapping_sub(self.t_delta) as i64;
                write_dod(&mut self.w, dod);
                self.value.write(&mut self.w, v);
            }
        }
        self.t_ms = t_ms;
        self.t_delta = t_delta;
        self.num += 1;
        self.w.header_mut().copy_from_slice(&self.num.to_be_bytes());
        Ok(())
    }

    /// The chunk bytes as they stand (the appender can keep going).
    pub fn to_bytes(&self) -> Bytes {
        self.w.to_bytes()
    }
}

fn write_dod(w: &mut BitWriter, dod: i64) {
    if dod == 0 {
        w.write_bit(false);
    } else if fits_signed(dod, 14) {
        w.write_bits((0b10 << 14) | (dod as u64 & 0x3fff), 16);
    } else if fits_signed(dod, 17) {
        w.write_bits((0b110 << 17) | (dod as u64 & 0x1_ffff), 20);
    } else if fits_signed(dod, 20) {
        w.write_bits((0b1110 << 20) | (dod as u64 & 0xf_ffff), 24);
    } else {
        w.write_bits(0b1111, 4);
        w.write_bits(dod as u64, 64);
    }
}

/// Go `binary.PutUvarint`: 7 bits per byte, low groups first, high bit = more follows.
fn write_uvarint(w: &mut BitWriter, mut x: u64) {
    while x >= 0x80 {
        w.write_byte(x as u8 | 0x80);
        x >>= 7;
    }
    w.write_byte(x as u8);
}

/// Go `binary.PutVarint`: zig-zag, then uvarint.
fn write_varint(w: &mut BitWriter, x: i64) {
    write_uvarint(w, ((x << 1) ^ (x >> 63)) as u64);
}

/// Go `binary.ReadUvarint`, including its overflow rule (at most 10 bytes, the 10th at most 1).
#[inline(always)]
fn read_uvarint(r: &mut BitReader<'_>, sample: u16) -> Result<u64, ChunkError> {
    let mut x = 0u64;
    for i in 0..10 {
        let byte = r
            .read_byte()
            .map_err(|_| ChunkError::Truncated { sample })?;
        if byte < 0x80 {
            if i == 9 && byte > 1 {
                return Err(ChunkError::VarintOverflow { sample });
            }
            return Ok(x | (u64::from(byte) << (7 * i)));
        }
        x |= u64::from(byte & 0x7f) << (7 * i);
    }
    Err(ChunkError::VarintOverflow { sample })
}

/// Decodes an XOR chunk lazily; never panics on malformed input (upstream `xorIterator`).
#[derive(Debug, Clone)]
pub struct XorIter<'a> {
    r: BitReader<'a>,
    total: u16,
    /// Where iteration stops: `total`, or the failed sample's index after an error.
    end: u16,
    read: u16,
    t_ms: i64,
    t_delta: u64,
    value: XorState,
    failed: bool,
}

impl<'a> XorIter<'a> {
    /// A decoder over a whole chunk (header included).
    pub fn new(data: &'a [u8]) -> Result<Self, ChunkError> {
        let Some((header, body)) = data.split_first_chunk::<COUNT_HEADER_LEN>() else {
            return Err(ChunkError::TooShort {
                len: data.len(),
                header: COUNT_HEADER_LEN,
            });
        };
        let total = u16::from_be_bytes(*header);
        Ok(Self {
            r: BitReader::new(body),
            total,
            end: total,
            read: 0,
            t_ms: 0,
            t_delta: 0,
            value: XorState {
                bits: 0,
                leading: 0,
                trailing: 0,
            },
            failed: false,
        })
    }

    /// Number of samples the header announces.
    pub fn num_samples(&self) -> u16 {
        self.total
    }

    /// The first sample with `t_ms >= target_ms`, considering the last sample returned and those after
    /// it (like upstream `Seek` followed by `At`). `None` when there is none.
    pub fn seek(&mut self, target_ms: i64) -> Option<Result<Sample, ChunkError>> {
        if self.read > 0 && !self.failed && self.t_ms >= target_ms {
            return Some(Ok(self.current()));
        }
        loop {
            match self.next()? {
                Ok(s) if s.t_ms < target_ms => continue,
                other => return Some(other),
            }
        }
    }

    fn current(&self) -> Sample {
        Sample {
            t_ms: self.t_ms,
            v: f64::from_bits(self.value.bits),
        }
    }

    #[inline(always)]
    fn read_next(&mut self) -> Result<(), ChunkError> {
        let sample = self.read;
        if sample >= 2 {
            return self.read_later(sample);
        }
        self.read_first(sample)
    }

    /// Samples 0 and 1, which carry varints.
    #[inline(always)]
    fn read_first(&mut self, sample: u16) -> Result<(), ChunkError> {
        let end = |_: EndOfData| ChunkError::Truncated { sample };
        match self.read {
            0 => {
                let zigzag = read_uvarint(&mut self.r, sample)?;
                self.t_ms = ((zigzag >> 1) as i64) ^ -((zigzag & 1) as i64);
                self.value.bits = self.r.read_bits(64).map_err(end)?;
                return Ok(());
            }
            _ => self.t_delta = read_uvarint(&mut self.r, sample)?,
        }
        self.t_ms = self.t_ms.wrapping_add(self.t_delta as i64);
        self.value.read(&mut self.r).map_err(|e| e.at(sample))
    }

    /// Samples 2 and later, the hot path: one refill, then the timestamp's delta of delta and the
    /// value's control bits are decoded from a single peeked word (at most 24 + 13 bits).
    #[inline(always)]
    fn read_later(&mut self, sample: u16) -> Result<(), ChunkError> {
        let end = |_: EndOfData| ChunkError::Truncated { sample };
        self.r.fill();
        let word = self.r.peek();
        // The prefix is decided on the top bits with compares, most common first (`0`, then `10`).
        let (dod, mut used) = if word >> 63 == 0 {
            (0, 1)
        } else if word >> 62 == 0b10 {
            (sign_extend((word << 2) >> 50, 14), 16)
        } else if word >> 61 == 0b110 {
            (sign_extend((word << 3) >> 47, 17), 20)
        } else if word >> 60 == 0b1110 {
            (sign_extend((word << 4) >> 44, 20), 24)
        } else {
            self.r.consume(4).map_err(end)?;
            let dod = self.r.read_bits(64).map_err(end)?;
            self.t_delta = self.t_delta.wrapping_add(dod);
            self.t_ms = self.t_ms.wrapping_add(self.t_delta as i64);
            return self.value.read(&mut self.r).map_err(|e| e.at(sample));
        };
        self.t_delta = self.t_delta.wrapping_add(dod as u64);
        self.t_ms = self.t_ms.wrapping_add(self.t_delta as i64);
        let control = word << used;
        if control >> 63 == 0 {
            return self.r.consume(used + 1).map_err(end);
        }
        // `11`: a new window follows; `10`: reuse the current one. This stays a branch: a
        // branch-free select (`std::hint::select_unpredictable`) made counters ~8% faster but gauges
        // ~9% slower, as the shifts below then wait for the control bits instead of running ahead
        // on the predicted (mostly reused) window.
        let new_window = (control >> 62) & 1 == 1;
        let new_leading = ((control >> 57) & 0x1f) as u32;
        // A 0 in the 6-bit field means 64.
        let new_sig = ((((control >> 51) as u32).wrapping_sub(1)) & 0x3f) + 1;
        let old_leading = u32::from(self.value.leading);
        let old_sig = 64 - old_leading - u32::from(self.value.trailing);
        let (leading, sig, header) = if new_window {
            (new_leading, new_sig, 13)
        } else {
            (old_leading, old_sig, 2)
        };
        used += header;
        if leading + sig > 64 {
            // A header cut short reads zero padding; upstream reports the end of the stream.
            if used > self.r.available() {
                return Err(ChunkError::Truncated { sample });
            }
            return Err(ChunkError::BadXorWindow {
                sample,
                leading,
                sig,
            });
        }
        let trailing = 64 - leading - sig;
        self.value.leading = leading as u8;
        self.value.trailing = trailing as u8;
        // Short values (counters) are in the peeked word too: one consume for the whole sample.
        // Longer ones (gauges) take a second branch-free refill rather than a bit-reading loop.
        let bits = if used + sig <= self.r.available() {
            self.r.consume(used + sig).map_err(end)?;
            (word << used) >> (64 - sig)
        } else {
            self.r.consume(used).map_err(end)?;
            self.r.fill();
            if sig <= 56 && sig <= self.r.available() {
                let bits = self.r.peek() >> (64 - sig);
                self.r.consume(sig).map_err(end)?;
                bits
            } else {
                self.r.read_bits(sig).map_err(end)?
            }
        };
        self.value.bits ^= bits << trailing;
        Ok(())
    }
}

impl Iterator for XorIter<'_> {
    type Item = Result<Sample, ChunkError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.read == self.end {
            return None;
        }
        if let Err(e) = self.read_next() {
            self.failed = true;
            self.end = self.read;
            return Some(Err(e));
        }
        self.read += 1;
        Some(Ok(self.current()))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(usize::from(self.end - self.read)))
    }
}

#[cfg(test)]
#[path = "xor_tests.rs"]
mod tests;
