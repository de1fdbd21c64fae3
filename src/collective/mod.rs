//! Distributed training outside the booster: the MPI transport ([`MpiCollective`], feature `mpi`)
//! and what every rank must agree on before training: how one Parquet file is split between the
//! ranks ([`row_group_ranges`]) and the codes of string categories ([`union_categories`]).

#[cfg(feature = "mpi")]
mod mpi;

#[cfg(feature = "mpi")]
pub use self::mpi::{launched_by_mpi, MpiCollective};

use std::ops::Range;

use sylvan_booster::{Collective, Error, Result};
use sylvan_io::CategoryMap;

/// Splits row groups (their row counts, in file order) into `ranks` contiguous ranges, balanced
/// by rows: range `r` ends at the group boundary nearest to `(r + 1) / ranks` of the rows, and
/// every range holds at least one group. An error when there are fewer groups than ranks.
///
/// ```
/// let ranges = sylvan::collective::row_group_ranges(&[100, 100, 100, 100, 50], 2).unwrap();
/// assert_eq!(ranges, vec![0..2, 2..5]);
/// ```
pub fn row_group_ranges(rows: &[usize], ranks: usize) -> std::result::Result<Vec<Range<usize>>, String> {
    let groups = rows.len();
    if ranks == 0 || groups < ranks {
        return Err(format!(
            "the file has {groups} row group(s) for {ranks} ranks: every rank needs at least one \
             (write the file with more, smaller row groups, or give one file per rank)"
        ));
    }
    let total: u128 = rows.iter().map(|&n| n as u128).sum();
    // cumulative[i] = rows in groups 0..i.
    let mut cumulative = Vec::with_capacity(groups + 1);
    cumulative.push(0u128);
    for &n in rows {
        cumulative.push(cumulative[cumulative.len() - 1] + n as u128);
    }
    let mut ranges = Vec::with_capacity(ranks);
    let mut start = 0usize;
    for r in 0..ranks {
        let end = if r + 1 == ranks {
            groups
        } else {
            let target = total * (r as u128 + 1) / ranks as u128;
            // The boundary nearest the target, leaving at least one group to each later rank.
            let nearest = (1..=groups)
                .min_by_key(|&b| cumulative[b].abs_diff(target))
                .unwrap_or(groups);
            nearest.clamp(start + 1, groups - (ranks - r - 1))
        };
        ranges.push(start..end);
        start = end;
    }
    Ok(ranges)
}

/// The category codes one process would assign to the whole data, from each rank's `local` codes:
/// every rank's categories are gathered and, per column, merged in sorted order (the order
/// [`sylvan_io::Encoder`] gives). Every rank gets the same map; a rank whose shard lacks some
/// category must re-encode its columns with it (e.g. read them again with
/// [`sylvan_io::load_for_model`]).
pub fn union_categories(collective: &dyn Collective, local: &CategoryMap) -> Result<CategoryMap> {
    let all = collective.allgather(local.to_json().as_bytes())?;
    let mut merged: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> = Default::default();
    for (rank, bytes) in all.iter().enumerate() {
        let map = std::str::from_utf8(bytes)
            .map_err(|e| e.to_string())
            .and_then(|text| CategoryMap::from_json(text).map_err(|e| e.to_string()))
            .map_err(|reason| Error::Collective {
                rank: collective.rank(),
                reason: format!("rank {rank} sent unreadable categories: {reason}"),
            })?;
        for (column, values) in map.iter() {
            merged
                .entry(column.to_string())
                .or_default()
                .extend(values.iter().cloned());
        }
    }
    let mut union = CategoryMap::new();
    for (column, values) in merged {
        union.insert(column, values.into_iter().collect());
    }
    Ok(union)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use sylvan_booster::MemoryCollective;

    #[test]
    fn row_groups_are_split_by_rows_and_never_empty() {
        assert_eq!(
            row_group_ranges(&[10, 10, 10, 10], 4).unwrap(),
            vec![0..1, 1..2, 2..3, 3..4]
        );
        assert_eq!(row_group_ranges(&[10; 8], 3).unwrap(), vec![0..3, 3..5, 5..8]);
        // One huge group first: the later ranks still get one group each.
        assert_eq!(row_group_ranges(&[1000, 1, 1, 1], 3).unwrap(), vec![0..1, 1..2, 2..4]);
        assert_eq!(row_group_ranges(&[5], 1).unwrap(), vec![0..1]);
        let e = row_group_ranges(&[5, 5], 3).unwrap_err();
        assert!(e.contains("2 row group(s) for 3 ranks"), "{e}");
        // Every split covers every group once, in order.
        for ranks in 1..=6 {
            let rows: Vec<usize> = (0..7).map(|i| 3 + i * i).collect();
            let r = row_group_ranges(&rows, ranks).unwrap();
            assert_eq!(r.len(), ranks);
            assert_eq!(r[0].start, 0);
            assert_eq!(r[ranks - 1].end, 7);
            assert!(r.windows(2).all(|w| w[0].end == w[1].start && w[0].start < w[0].end));
        }
    }

    #[test]
    fn categories_merge_in_sorted_order_on_every_rank() {
        let group = MemoryCollective::group(3, Duration::from_secs(10));
        let shards = [vec!["red", "blue"], vec!["green"], vec![]];
        let maps: Vec<CategoryMap> = std::thread::scope(|s| {
            let handles: Vec<_> = group
                .iter()
                .zip(&shards)
                .map(|(c, values)| {
                    s.spawn(move || {
                        let mut local = CategoryMap::new();
                        local.insert("color", values.iter().map(|v| v.to_string()).collect());
                        if c.rank() == 1 {
                            local.insert("size", vec!["L".into()]);
                        }
                        union_categories(c, &local).unwrap()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for m in &maps {
            assert_eq!(m.get("color").unwrap(), &["blue", "green", "red"]);
            assert_eq!(m.get("size").unwrap(), &["L"]);
        }
    }
}
