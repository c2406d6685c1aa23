//! Bit streams, most significant bit first, as upstream `tsdb/chunkenc/bstream.go` lays them out.
//!
//! [`BitWriter`] appends bits after a fixed-size header; [`BitReader`] reads through a `u64` buffer that
//! is refilled eight bytes at a time, so the hot path never loops per bit. Neither knows any chunk
//! format; running out of data is [`EndOfData`], which callers turn into a [`super::ChunkError`].

use bytes::Bytes;

/// The reader ran out of bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EndOfData;

/// Appends bits to a byte vector that starts with a header the caller fills in.
#[derive(Debug, Clone)]
pub(crate) struct BitWriter {
    bytes: Vec<u8>,
    header_len: usize,
    /// Pending bits, right-aligned: the low `pending_bits` bits are not yet in `bytes`.
    pending: u64,
    pending_bits: u32,
}

impl BitWriter {
    /// A writer whose first `header_len` bytes are zeroed header space.
    pub(crate) fn with_header(header_len: usize) -> Self {
        let mut bytes = Vec::with_capacity(128);
        bytes.resize(header_len, 0);
        Self {
            bytes,
            header_len,
            pending: 0,
            pending_bits: 0,
        }
    }

    /// The header bytes, for the caller to update (sample count, flags).
    pub(crate) fn header_mut(&mut self) -> &mut [u8] {
        &mut self.bytes[..self.header_len]
    }

    /// Appends one bit.
    pub(crate) fn write_bit(&mut self, bit: bool) {
        self.write_small(u64::from(bit), 1);
    }

    /// Appends one byte (not necessarily byte-aligned).
    pub(crate) fn write_byte(&mut self, byte: u8) {
        self.write_small(u64::from(byte), 8);
    }

    /// Appends the low `n` bits of `value` (`n <= 64`), most significant first.
    pub(crate) fn write_bits(&mut self, value: u64, n: u32) {
        debug_assert!(n <= 64, "at most 64 bits at a time");
        if n > 32 {
            self.write_small(value >> 32, n - 32);
            self.write_small(value & 0xffff_ffff, 32);
        } else {
            self.write_small(value, n);
        }
    }

    fn write_small(&mut self, value: u64, n: u32) {
        if n == 0 {
            return;
        }
        let masked = value & (u64::MAX >> (64 - n));
        // pending_bits < 8 on entry and n <= 32, so the shift keeps every pending bit.
        self.pending = (self.pending << n) | masked;
        self.pending_bits += n;
        while self.pending_bits >= 8 {
            self.pending_bits -= 8;
            self.bytes.push((self.pending >> self.pending_bits) as u8);
        }
    }

    /// The stream so far, the last partial byte padded with zero bits.
    pub(crate) fn to_bytes(&self) -> Bytes {
        let mut out = Vec::with_capacity(self.bytes.len() + 1);
        out.extend_from_slice(&self.bytes);
        if self.pending_bits > 0 {
            out.push((self.pending << (8 - self.pending_bits)) as u8);
        }
        Bytes::from(out)
    }

    /// Bytes the stream would take now, header and padding included.
    pub(crate) fn len_bytes(&self) -> usize {
        self.bytes.len() + usize::from(self.pending_bits > 0)
    }
}

/// Reads bits from a byte slice, most significant bit first.
#[derive(Debug, Clone)]
pub(crate) struct BitReader<'a> {
    data: &'a [u8],
    /// Index of the first byte not yet loaded into `buf`.
    next: usize,
    /// Loaded bits, left-aligned: the top `avail` bits are the next bits of the stream. Bits below
    /// them are either zero or the true stream bits that follow (so refilling may OR them again).
    buf: u64,
    avail: u32,
}

impl<'a> BitReader<'a> {
    /// A reader at the first bit of `data`.
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Self {
            data,
            next: 0,
            buf: 0,
            avail: 0,
        }
    }

    /// Bits not yet read.
    pub(crate) fn remaining_bits(&self) -> u64 {
        u64::from(self.avail) + 8 * (self.data.len() - self.next) as u64
    }

    /// Loads more bytes so that at least 56 bits are available, or all remaining ones. While eight
    /// bytes remain this is branch-free and leaves `avail` in `56..=63`, so it may be called whether or
    /// not bits are needed.
    #[inline(always)]
    fn refill(&mut self) {
        if let Some(word) = self.data.get(self.next..self.next + 8) {
            let word = u64::from_be_bytes(word.try_into().expect("slice of 8 bytes"));
            // The fast path never leaves 64 bits, so the shift is in range.
            self.buf |= word >> self.avail;
            // Whole bytes that fit below the `avail` bits; adding them sets bits 3..6 of `avail`
            // (`avail < 64`), which keeps this update off the critical path.
            self.next += ((63 - self.avail) / 8) as usize;
            self.avail |= 56;
        } else {
            while self.avail <= 56 {
                let Some(&byte) = self.data.get(self.next) else {
                    break;
                };
                self.buf |= u64::from(byte) << (56 - self.avail);
                self.next += 1;
                self.avail += 8;
            }
        }
    }

    /// Reads `n <= 56` bits as the low bits of the result.
    #[inline(always)]
    pub(crate) fn read_bits_short(&mut self, n: u32) -> Result<u64, EndOfData> {
        debug_assert!(n <= 56);
        if n == 0 {
            return Ok(0);
        }
        if self.avail < n {
            self.refill();
            if self.avail < n {
                return Err(EndOfData);
            }
        }
        let value = self.buf >> (64 - n);
        self.buf <<= n;
        self.avail -= n;
        Ok(value)
    }

    /// Reads `n <= 64` bits as the low bits of the result.
    #[inline(always)]
    pub(crate) fn read_bits(&mut self, n: u32) -> Result<u64, EndOfData> {
        if n != 0 && n < 64 {
            if n > self.avail {
                self.refill();
            }
            if n <= self.avail {
                let value = self.buf >> (64 - n);
                self.buf <<= n;
                self.avail -= n;
                return Ok(value);
            }
        }
        self.read_bits_slow(n)
    }

    #[inline(always)]
    fn read_bits_slow(&mut self, n: u32) -> Result<u64, EndOfData> {
        if n > 56 {
            let high = self.read_bits_short(n - 32)?;
            let low = self.read_bits_short(32)?;
            Ok((high << 32) | low)
        } else {
            self.read_bits_short(n)
        }
    }

    /// Makes at least 56 bits available for [`Self::peek`], unless the data ends sooner.
    #[inline(always)]
    pub(crate) fn fill(&mut self) {
        self.refill();
    }

    /// The next bits, left-aligned. Only the first [`Self::fill`]-guaranteed bits are meaningful;
    /// a caller must [`Self::consume`] what it used, which fails if the data had fewer bits.
    #[inline(always)]
    pub(crate) fn peek(&self) -> u64 {
        self.buf
    }

    /// How many of the bits [`Self::peek`] shows are real.
    #[inline(always)]
    pub(crate) fn available(&self) -> u32 {
        self.avail
    }

    /// Drops `n <= 64` bits that were looked at through [`Self::peek`].
    #[inline(always)]
    pub(crate) fn consume(&mut self, n: u32) -> Result<(), EndOfData> {
        if n > self.avail {
            return Err(EndOfData);
        }
        self.buf = self.buf.checked_shl(n).unwrap_or(0);
        self.avail -= n;
        Ok(())
    }

    /// Reads eight bits. Always inlined: one out-of-line call taking the reader by reference (the
    /// XOR timestamp varints use this) keeps the whole reader in memory instead of registers.
    #[inline(always)]
    pub(crate) fn read_byte(&mut self) -> Result<u8, EndOfData> {
        Ok(self.read_bits_short(8)? as u8)
    }

    /// Reads a unary prefix of up to `max <= 8` one bits: returns how many ones came before the
    /// terminating zero (which is consumed), or `max` when `max` ones were read (no terminator).
    #[inline(always)]
    pub(crate) fn read_prefix(&mut self, max: u32) -> Result<u32, EndOfData> {
        debug_assert!(max <= 8);
        if self.avail < max + 1 {
            self.refill();
        }
        let ones = (!self.buf).leading_zeros().min(max);
        let consumed = if ones < max { ones + 1 } else { max };
        if consumed > self.avail {
            return Err(EndOfData);
        }
        self.buf <<= consumed;
        self.avail -= consumed;
        Ok(ones)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_msb_first_across_byte_boundaries() {
        let mut w = BitWriter::with_header(1);
        w.header_mut()[0] = 0xAB;
        w.write_bit(true);
        w.write_bits(0b01, 2);
        w.write_byte(0xFF);
        w.write_bits(u64::MAX, 64);
        let bytes = w.to_bytes();
        // 0xAB | 101 11111 | 111 + 64 ones = 72 ones after "101"
        assert_eq!(bytes[0], 0xAB);
        assert_eq!(bytes[1], 0b1011_1111);
        assert!(bytes[2..10].iter().all(|b| *b == 0xFF));
        assert_eq!(bytes[10], 0b1110_0000);
        assert_eq!(w.len_bytes(), 11);
    }

    #[test]
    fn reads_back_what_was_written() {
        let fields: Vec<(u64, u32)> = (0..200u64)
            .map(|i| (i.wrapping_mul(0x9E37_79B9_7F4A_7C15), (i % 64 + 1) as u32))
            .collect();
        let mut w = BitWriter::with_header(0);
        for &(v, n) in &fields {
            w.write_bits(v, n);
        }
        let bytes = w.to_bytes();
        let mut r = BitReader::new(&bytes);
        for &(v, n) in &fields {
            let mask = if n == 64 { u64::MAX } else { (1 << n) - 1 };
            assert_eq!(r.read_bits(n), Ok(v & mask), "field of {n} bits");
        }
        assert!(r.remaining_bits() < 8);
    }

    #[test]
    fn prefix_counts_ones_and_stops_at_end() {
        let bytes = [0b1101_1110u8, 0b1111_1111];
        let mut r = BitReader::new(&bytes);
        assert_eq!(r.read_prefix(4), Ok(2));
        assert_eq!(r.read_prefix(4), Ok(4));
        assert_eq!(r.read_prefix(8), Ok(0));
        assert_eq!(r.read_prefix(8), Ok(8));
        assert_eq!(r.read_prefix(1), Err(EndOfData));
    }

    #[test]
    fn short_input_is_end_of_data() {
        let mut r = BitReader::new(&[0xFF]);
        assert_eq!(r.read_bits(9), Err(EndOfData));
        let mut r = BitReader::new(&[]);
        assert_eq!(r.read_bits(1), Err(EndOfData));
    }
}
