//! Incremental decoder of Prometheus's streamed remote-read framing.
//!
//! A `application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse` body is a sequence
//! of frames, each `uvarint(len) | crc32c(message) as 4 bytes big-endian | message` (upstream:
//! prometheus storage/remote/chunked.go, `ChunkedWriter.Write` / `ChunkedReader.Next`).
//! [`FrameDecoder`] accepts the body in whatever pieces the network delivers and hands back
//! whole, checksum-verified messages; it buffers at most one frame. It knows nothing of HTTP or
//! of the message type inside the frame.

use bytes::{Buf, Bytes, BytesMut};

/// Largest frame accepted by default, in bytes: Prometheus's `DefaultChunkedReadLimit` (50 MB).
pub const DEFAULT_MAX_FRAME_BYTES: usize = 50_000_000;

/// A uvarint longer than this many bytes cannot encode a u64.
const MAX_UVARINT_BYTES: usize = 10;

/// Bytes of the CRC32-Castagnoli checksum after the length.
const CHECKSUM_BYTES: usize = 4;

/// The framing of a streamed response is broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The length prefix is not a valid uvarint.
    #[error("invalid frame length prefix")]
    InvalidLength,
    /// The frame announces more bytes than allowed.
    #[error("frame of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Announced message size.
        size: u64,
        /// The decoder's limit.
        limit: usize,
    },
    /// The message's checksum does not match.
    #[error("frame checksum mismatch: expected {expected:#010x}, computed {computed:#010x}")]
    Checksum {
        /// Checksum sent by the server.
        expected: u32,
        /// Checksum of the received bytes.
        computed: u32,
    },
    /// The body ended inside a frame.
    #[error("response ended inside a frame ({buffered} bytes of an incomplete frame)")]
    Truncated {
        /// Bytes left over.
        buffered: usize,
    },
}

/// Splits a byte stream into checksum-verified frame messages.
#[derive(Debug)]
pub struct FrameDecoder {
    buffer: BytesMut,
    max_frame_bytes: usize,
}

impl FrameDecoder {
    /// A decoder rejecting frames whose message is larger than `max_frame_bytes`.
    pub fn new(max_frame_bytes: usize) -> Self {
        Self {
            buffer: BytesMut::new(),
            max_frame_bytes,
        }
    }

    /// Appends bytes received from the network.
    pub fn extend(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The next complete message, `None` when more bytes are needed.
    pub fn next_message(&mut self) -> Result<Option<Bytes>, FrameError> {
        let Some((size, prefix_len)) = read_uvarint(&self.buffer)? else {
            return Ok(None);
        };
        // Reject oversized frames before waiting for (and buffering) their bytes.
        let size = usize::try_from(size)
            .ok()
            .filter(|s| *s <= self.max_frame_bytes)
            .ok_or(FrameError::TooLarge {
                size,
                limit: self.max_frame_bytes,
            })?;
        let header_len = prefix_len + CHECKSUM_BYTES;
        let frame_len = header_len
            .checked_add(size)
            .ok_or(FrameError::InvalidLength)?;
        if self.buffer.len() < frame_len {
            self.buffer.reserve(frame_len - self.buffer.len());
            return Ok(None);
        }
        self.buffer.advance(prefix_len);
        let expected = self.buffer.get_u32();
        let message = self.buffer.split_to(size).freeze();
        let computed = crc32c::crc32c(&message);
        if computed != expected {
            return Err(FrameError::Checksum { expected, computed });
        }
        Ok(Some(message))
    }

    /// Checks that the body ended on a frame boundary.
    pub fn finish(&self) -> Result<(), FrameError> {
        if self.buffer.is_empty() {
            Ok(())
        } else {
            Err(FrameError::Truncated {
                buffered: self.buffer.len(),
            })
        }
    }
}

/// Reads a uvarint from the start of `bytes`: `(value, bytes used)`, or `None` if incomplete.
fn read_uvarint(bytes: &[u8]) -> Result<Option<(u64, usize)>, FrameError> {
    let mut value: u64 = 0;
    for (i, byte) in bytes.iter().take(MAX_UVARINT_BYTES).enumerate() {
        let low = u64::from(byte & 0x7f);
        // The tenth byte may only carry the top bit of a u64.
        if i == MAX_UVARINT_BYTES - 1 && *byte > 1 {
            return Err(FrameError::InvalidLength);
        }
        value |= low << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(Some((value, i + 1)));
        }
    }
    if bytes.len() >= MAX_UVARINT_BYTES {
        Err(FrameError::InvalidLength)
    } else {
        Ok(None)
    }
}

/// Encodes one frame, as Prometheus writes it (for tests of the decoder and its users).
#[cfg(test)]
pub(crate) fn encode_frame(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + MAX_UVARINT_BYTES + CHECKSUM_BYTES);
    let mut size = message.len() as u64;
    while size >= 0x80 {
        out.push((size as u8) | 0x80);
        size >>= 7;
    }
    out.push(size as u8);
    out.extend_from_slice(&crc32c::crc32c(message).to_be_bytes());
    out.extend_from_slice(message);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode_all(pieces: &[&[u8]], limit: usize) -> Result<Vec<Bytes>, FrameError> {
        let mut decoder = FrameDecoder::new(limit);
        let mut out = Vec::new();
        for piece in pieces {
            decoder.extend(piece);
            while let Some(m) = decoder.next_message()? {
                out.push(m);
            }
        }
        decoder.finish()?;
        Ok(out)
    }

    #[test]
    fn decodes_consecutive_frames() {
        let mut body = encode_frame(b"hello");
        body.extend(encode_frame(b""));
        body.extend(encode_frame(&[7u8; 300]));
        let messages = decode_all(&[&body], 1000).expect("frames decode");
        assert_eq!(messages.len(), 3);
        assert_eq!(&messages[0][..], b"hello");
        assert!(messages[1].is_empty());
        assert_eq!(messages[2].len(), 300);
    }

    #[test]
    fn bad_checksum_is_an_error() {
        let mut body = encode_frame(b"hello");
        let last = body.len() - 1;
        body[last] ^= 0xff;
        let err = decode_all(&[&body], 1000).expect_err("a flipped byte breaks the checksum");
        assert!(matches!(err, FrameError::Checksum { .. }), "{err}");
    }

    #[test]
    fn truncation_mid_frame_is_an_error() {
        let body = encode_frame(b"hello world");
        for cut in 1..body.len() {
            let err = decode_all(&[&body[..cut]], 1000).expect_err("a cut frame is truncated");
            assert_eq!(err, FrameError::Truncated { buffered: cut });
        }
    }

    #[test]
    fn buffer_stays_bounded_over_a_long_body() {
        let frame = encode_frame(&[3u8; 1000]);
        let mut decoder = FrameDecoder::new(2000);
        let mut messages = 0;
        let mut largest_capacity = 0;
        for _ in 0..5000 {
            for piece in frame.chunks(97) {
                decoder.extend(piece);
                while decoder.next_message().expect("frames decode").is_some() {
                    messages += 1;
                }
                largest_capacity = largest_capacity.max(decoder.buffer.capacity());
            }
        }
        assert_eq!(messages, 5000);
        assert!(
            largest_capacity < 4 * frame.len(),
            "buffer grew to {largest_capacity} bytes"
        );
    }

    #[test]
    fn oversized_frame_is_rejected_before_buffering() {
        let body = encode_frame(&[1u8; 200]);
        let mut decoder = FrameDecoder::new(100);
        decoder.extend(&body[..2]);
        assert_eq!(
            decoder.next_message(),
            Err(FrameError::TooLarge {
                size: 200,
                limit: 100
            })
        );
    }

    #[test]
    fn overlong_uvarint_is_rejected() {
        assert_eq!(read_uvarint(&[0xff; 11]), Err(FrameError::InvalidLength));
        assert_eq!(read_uvarint(&[0xff; 3]), Ok(None));
        assert_eq!(read_uvarint(&[0xac, 0x02]), Ok(Some((300, 2))));
    }

    proptest! {
        #[test]
        fn any_chunking_yields_the_same_messages(
            messages in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..400), 0..6),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
        ) {
            let body: Vec<u8> = messages.iter().flat_map(|m| encode_frame(m)).collect();
            let mut points: Vec<usize> = cuts.iter().map(|c| c.index(body.len() + 1)).collect();
            points.push(0);
            points.push(body.len());
            points.sort_unstable();
            let pieces: Vec<&[u8]> = points.windows(2).map(|w| &body[w[0]..w[1]]).collect();
            let decoded = decode_all(&pieces, 1000).expect("frames decode");
            let decoded: Vec<Vec<u8>> = decoded.iter().map(|b| b.to_vec()).collect();
            prop_assert_eq!(decoded, messages);
        }

        #[test]
        fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_all(&[&body], 64);
        }
    }
}
