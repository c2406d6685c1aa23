//! Splitting one series' overlapping chunks into non-overlapping groups (THANOS.md §2 step 4).
//!
//! Mirrors thanos pkg/dedup/iter.go (`NewOverlapSplit`). After the merge collapses replicas
//! into one series, its chunks may overlap in time (one run of chunks per replica). Each group
//! returned here reads as one replica, so the sample-level dedup can merge them. This module sees
//! chunk time ranges only and never decodes a chunk.

use crate::storeapi::AggrChunk;

/// Puts each chunk, in order, into the first group whose last chunk ends strictly before the
/// chunk starts, or into a new group when none does.
///
/// Expects chunks sorted by `min_time_ms` (as the merge emits them). Never returns an empty
/// list: a series without chunks (e.g. under `skip_chunks`) stays one group with no chunks.
pub fn overlap_split(chunks: Vec<AggrChunk>) -> Vec<Vec<AggrChunk>> {
    let mut groups: Vec<Vec<AggrChunk>> = Vec::new();
    for chunk in chunks {
        let free = groups.iter_mut().find(|group| {
            group
                .last()
                .is_some_and(|last| last.max_time_ms < chunk.min_time_ms)
        });
        match free {
            Some(group) => group.push(chunk),
            None => groups.push(vec![chunk]),
        }
    }
    if groups.is_empty() {
        groups.push(Vec::new());
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(ranges: &[(i64, i64)]) -> Vec<AggrChunk> {
        ranges
            .iter()
            .map(|&(min_time_ms, max_time_ms)| AggrChunk {
                min_time_ms,
                max_time_ms,
                ..AggrChunk::default()
            })
            .collect()
    }

    fn ranges(groups: &[Vec<AggrChunk>]) -> Vec<Vec<(i64, i64)>> {
        groups
            .iter()
            .map(|g| g.iter().map(|c| (c.min_time_ms, c.max_time_ms)).collect())
            .collect()
    }

    /// THANOS.md §2 test vector 8 (thanos pkg/dedup/iter_test.go `TestOverlapSplitSet`), first case.
    #[test]
    fn vector_8_two_replicas() {
        let groups = overlap_split(chunks(&[(0, 20), (0, 30), (21, 50), (31, 60), (100, 160)]));
        assert_eq!(
            ranges(&groups),
            vec![vec![(0, 20), (21, 50), (100, 160)], vec![(0, 30), (31, 60)]]
        );
    }

    /// THANOS.md §2 test vector 8: touching chunks overlap (the comparison is strict).
    #[test]
    fn vector_8_touching_chunks_overlap() {
        let groups = overlap_split(chunks(&[(50, 55), (55, 100)]));
        assert_eq!(ranges(&groups), vec![vec![(50, 55)], vec![(55, 100)]]);
    }

    /// THANOS.md §2 test vector 8: four groups.
    #[test]
    fn vector_8_four_groups() {
        let input = [
            (0, 20),
            (0, 30),
            (1, 15),
            (2, 36),
            (16, 200),
            (21, 50),
            (31, 60),
            (100, 160),
        ];
        let groups = overlap_split(chunks(&input));
        assert_eq!(
            ranges(&groups),
            vec![
                vec![(0, 20), (21, 50), (100, 160)],
                vec![(0, 30), (31, 60)],
                vec![(1, 15), (16, 200)],
                vec![(2, 36)],
            ]
        );
    }

    #[test]
    fn no_chunks_stay_one_empty_group() {
        assert_eq!(
            ranges(&overlap_split(Vec::new())),
            vec![Vec::<(i64, i64)>::new()]
        );
    }

    #[test]
    fn non_overlapping_chunks_stay_together() {
        let groups = overlap_split(chunks(&[(0, 9), (10, 19), (20, 29)]));
        assert_eq!(ranges(&groups), vec![vec![(0, 9), (10, 19), (20, 29)]]);
    }
}
