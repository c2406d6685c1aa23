//! Variable-bit-width integers used by histogram chunks (upstream `tsdb/chunkenc/varbit.go`).
//!
//! A unary prefix of up to eight one bits (terminated by a zero unless all eight are set) selects the
//! payload width: 0, 3, 6, 9, 12, 18, 25, 56 or 64 bits. Signed payloads use the asymmetric range
//! `-(2^(n-1) - 1) ..= 2^(n-1)` of [`fits_signed`]. This module knows nothing of chunk layouts.

use super::bits::{BitReader, BitWriter, EndOfData};

/// Payload width for each prefix length (number of leading one bits).
const WIDTHS: [u32; 9] = [0, 3, 6, 9, 12, 18, 25, 56, 64];

/// Whether `x` fits the `n`-bit signed payload: `-(2^(n-1) - 1) <= x <= 2^(n-1)` (upstream `bitRange`).
#[inline(always)]
pub(crate) fn fits_signed(x: i64, n: u32) -> bool {
    let half = 1i64 << (n - 1);
    -(half - 1) <= x && x <= half
}

/// Reinterprets an `n`-bit payload as signed: values above `2^(n-1)` are negative.
#[inline(always)]
pub(crate) fn sign_extend(bits: u64, n: u32) -> i64 {
    if n < 64 && bits > (1u64 << (n - 1)) {
        (bits as i64).wrapping_sub(1i64 << n)
    } else {
        bits as i64
    }
}

/// Writes the prefix for width index `i` (i ones, then a zero unless `i == 8`).
fn write_prefix(w: &mut BitWriter, i: u32) {
    if i == 8 {
        w.write_bits(0xff, 8);
    } else {
        // i ones followed by a zero.
        w.write_bits(((1u64 << i) - 1) << 1, i + 1);
    }
}

/// Appends a signed varbit integer.
pub(crate) fn put_varbit_int(w: &mut BitWriter, value: i64) {
    let i = if value == 0 {
        0
    } else {
        (1..8).find(|&i| fits_signed(value, WIDTHS[i])).unwrap_or(8)
    };
    write_prefix(w, i as u32);
    w.write_bits(value as u64, WIDTHS[i]);
}

/// Appends an unsigned varbit integer.
pub(crate) fn put_varbit_uint(w: &mut BitWriter, value: u64) {
    let i = if value == 0 {
        0
    } else {
        (1..8)
            .find(|&i| value.leading_zeros() >= 64 - WIDTHS[i])
            .unwrap_or(8)
    };
    write_prefix(w, i as u32);
    w.write_bits(value, WIDTHS[i]);
}

/// Reads a signed varbit integer.
#[inline]
pub(crate) fn read_varbit_int(r: &mut BitReader<'_>) -> Result<i64, EndOfData> {
    let width = WIDTHS[r.read_prefix(8)? as usize];
    let bits = r.read_bits(width)?;
    Ok(if width == 0 {
        0
    } else {
        sign_extend(bits, width)
    })
}

/// Reads an unsigned varbit integer.
#[inline]
pub(crate) fn read_varbit_uint(r: &mut BitReader<'_>) -> Result<u64, EndOfData> {
    let width = WIDTHS[r.read_prefix(8)? as usize];
    r.read_bits(width)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn encode_int(v: i64) -> (Vec<u8>, usize) {
        let mut w = BitWriter::with_header(0);
        put_varbit_int(&mut w, v);
        (w.to_bytes().to_vec(), w.len_bytes())
    }

    #[test]
    fn known_encodings() {
        // 0 -> "0"
        assert_eq!(encode_int(0).0, vec![0b0000_0000]);
        // 4 -> "10" + "100"
        assert_eq!(encode_int(4).0, vec![0b1010_0000]);
        // -3 -> "10" + "101" (two's complement low 3 bits)
        assert_eq!(encode_int(-3).0, vec![0b1010_1000]);
        // 5 no longer fits 3 bits -> "110" + "000101"
        assert_eq!(encode_int(5).0, vec![0b1100_0010, 0b1000_0000]);
        // -4 does not fit 3 bits either (range is -3..=4).
        assert_eq!(encode_int(-4).0, vec![0b1101_1110, 0]);
        // i64::MIN needs the 64-bit form: 8 ones + 64 bits = 9 bytes.
        assert_eq!(encode_int(i64::MIN).1, 9);
    }

    #[test]
    fn boundaries_round_trip() {
        let mut values = vec![0i64, i64::MIN, i64::MAX];
        for n in [3u32, 6, 9, 12, 18, 25, 56] {
            let half = 1i64 << (n - 1);
            values.extend([half, half + 1, -(half - 1), -half]);
        }
        for v in values {
            let (bytes, _) = encode_int(v);
            assert_eq!(
                read_varbit_int(&mut BitReader::new(&bytes)),
                Ok(v),
                "value {v}"
            );
        }
    }

    proptest! {
        #[test]
        fn ints_round_trip(values in proptest::collection::vec(any::<i64>(), 0..50)) {
            let mut w = BitWriter::with_header(0);
            for &v in &values { put_varbit_int(&mut w, v); }
            let bytes = w.to_bytes();
            let mut r = BitReader::new(&bytes);
            for &v in &values { prop_assert_eq!(read_varbit_int(&mut r), Ok(v)); }
        }

        #[test]
        fn uints_round_trip(values in proptest::collection::vec(any::<u64>().prop_map(|v| v >> (v % 64)), 0..50)) {
            let mut w = BitWriter::with_header(0);
            for &v in &values { put_varbit_uint(&mut w, v); }
            let bytes = w.to_bytes();
            let mut r = BitReader::new(&bytes);
            for &v in &values { prop_assert_eq!(read_varbit_uint(&mut r), Ok(v)); }
        }
    }
}
