//! Cross-checks the XOR codec against real Prometheus output: `promtool tsdb create-blocks-from
//! openmetrics` writes TSDB blocks, and we read their chunk segment files (format: upstream
//! `tsdb/docs/format/chunks.md`). Every chunk must decode to samples we wrote, and re-encoding those
//! samples with `XorAppender` must give Prometheus's bytes exactly (up to a trailing zero byte that
//! only Prometheus versions before the `bstream.writeByte` rewrite emit).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use chorus::chunkenc::{XorAppender, XorIter};

/// Magic number opening every chunk segment file.
const SEGMENT_MAGIC: u32 = 0x85BD_40DD;
/// Segment header: magic, version byte, 3 padding bytes.
const SEGMENT_HEADER_LEN: usize = 8;
/// Chunk encoding byte of XOR chunks.
const ENCODING_XOR: u8 = 1;

/// Deterministic xorshift generator for the test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Series name -> samples (ms, value). Values are written with Rust's shortest round-trip formatting,
/// which Go's ParseFloat reads back to the same bits.
fn series() -> BTreeMap<String, Vec<(i64, f64)>> {
    let mut rng = Rng(0x1234_5678_9ABC_DEF1);
    let mut out = BTreeMap::new();
    for (name, kind) in [("a", 0), ("b", 1), ("c", 2), ("d", 3)] {
        let mut t = 1_700_000_000_000i64;
        let mut v = 0.0f64;
        let samples = (0..400)
            .map(|i| {
                t += 15_000 + (rng.next() % 41) as i64 - 20;
                if i % 97 == 50 {
                    t += 600_000; // a scrape gap
                }
                v = match kind {
                    0 => v + (rng.next() % 100) as f64,
                    1 => ((rng.next() % 10_000) as f64) / 100.0,
                    2 => [
                        1.0,
                        1.0,
                        1.0,
                        f64::INFINITY,
                        f64::NEG_INFINITY,
                        1e300,
                        -2.5e-300,
                    ][i % 7],
                    _ => f64::from_bits(rng.next() >> 2) * if i % 2 == 0 { 1.0 } else { -1.0 },
                };
                (t, v)
            })
            .collect();
        out.insert(name.to_string(), samples);
    }
    out
}

fn openmetrics(series: &BTreeMap<String, Vec<(i64, f64)>>) -> String {
    let mut text = String::from("# TYPE xcheck gauge\n");
    for (name, samples) in series {
        for &(t, v) in samples {
            let value = if v.is_infinite() {
                if v > 0.0 {
                    "+Inf".to_string()
                } else {
                    "-Inf".to_string()
                }
            } else {
                format!("{v:?}")
            };
            text.push_str(&format!(
                "xcheck{{s=\"{name}\"}} {value} {}.{:03}\n",
                t / 1000,
                t % 1000
            ));
        }
    }
    text.push_str("# EOF\n");
    text
}

fn chunk_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("output dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            files.extend(chunk_files(&path));
        } else if path
            .parent()
            .and_then(|p| p.file_name())
            .is_some_and(|n| n == "chunks")
        {
            files.push(path);
        }
    }
    files
}

fn read_uvarint(data: &[u8], pos: &mut usize) -> u64 {
    let mut x = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = data[*pos];
        *pos += 1;
        x |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            break;
        }
    }
    x
}

/// The XOR chunks in a segment file, checked against their CRC32C.
fn xor_chunks(file: &Path) -> Vec<Vec<u8>> {
    let data = std::fs::read(file).expect("segment file");
    assert_eq!(
        u32::from_be_bytes(data[..4].try_into().expect("4 bytes")),
        SEGMENT_MAGIC
    );
    let mut pos = SEGMENT_HEADER_LEN;
    let mut chunks = Vec::new();
    while pos < data.len() {
        let len = read_uvarint(&data, &mut pos) as usize;
        if len == 0 {
            break;
        }
        let encoding = data[pos];
        let body = &data[pos + 1..pos + 1 + len];
        let crc = u32::from_be_bytes(
            data[pos + 1 + len..pos + 5 + len]
                .try_into()
                .expect("4 bytes"),
        );
        assert_eq!(
            crc32c::crc32c(&data[pos..pos + 1 + len]),
            crc,
            "chunk CRC at {pos}"
        );
        assert_eq!(encoding, ENCODING_XOR);
        chunks.push(body.to_vec());
        pos += 5 + len;
    }
    chunks
}

#[test]
fn xor_chunks_match_prometheus_bit_for_bit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("input.om");
    let series = series();
    std::fs::write(&input, openmetrics(&series)).expect("write input");
    let out = dir.path().join("blocks");
    let status = Command::new("promtool")
        .args(["tsdb", "create-blocks-from", "openmetrics", "--quiet"])
        .arg(&input)
        .arg(&out)
        .status()
        .expect("promtool runs");
    assert!(status.success(), "promtool failed: {status}");

    // Every (series, t) -> value bits we wrote; each decoded sample must be one of them.
    let written: BTreeMap<i64, Vec<u64>> =
        series
            .values()
            .flatten()
            .fold(BTreeMap::new(), |mut m, &(t, v)| {
                m.entry(t).or_default().push(v.to_bits());
                m
            });
    let mut decoded = 0usize;
    let files = chunk_files(&out);
    assert!(!files.is_empty(), "promtool wrote no chunk files");
    for file in files {
        for chunk in xor_chunks(&file) {
            let samples: Vec<_> = XorIter::new(&chunk)
                .expect("header")
                .collect::<Result<_, _>>()
                .expect("Prometheus chunk decodes");
            let mut app = XorAppender::new();
            for s in &samples {
                assert!(
                    written
                        .get(&s.t_ms)
                        .is_some_and(|vs| vs.contains(&s.v.to_bits())),
                    "decoded sample {s:?} was never written"
                );
                app.append(s.t_ms, s.v).expect("increasing");
            }
            let ours = app.to_bytes();
            // Prometheus 2.42's `bstream.writeByte` (the packaged promtool) leaves an empty byte behind
            // when it writes a whole byte at a byte boundary; current upstream `bstream.go` does not,
            // and neither do we. So a chunk whose bits end exactly on such a write has one zero byte more.
            let same = match chunk.split_last() {
                Some((0, rest)) if chunk.len() == ours.len() + 1 => rest == ours.as_ref(),
                _ => ours.as_ref() == chunk.as_slice(),
            };
            assert!(
                same,
                "re-encoding differs from Prometheus:\n ours {ours:?}\n prom {chunk:?}"
            );
            decoded += samples.len();
        }
    }
    assert_eq!(decoded, series.values().map(Vec::len).sum::<usize>());
}
