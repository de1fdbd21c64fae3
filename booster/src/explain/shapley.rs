//! The Shapley arithmetic of one leaf's path, exact and in closed form.
//!
//! Path-dependent TreeSHAP (Lundberg et al. 2020) credits a leaf of value `v` whose path has the
//! distinct features `P` (`d` of them, zero fractions `z`, a row's one fractions `o` ∈ {0, 1}) to
//! feature `i` of `P` with
//!
//! ```text
//! v · (o_i − z_i) · Σ_{S ⊆ P∖{i}} w(|S|, d) · Π_{j∈S} o_j · Π_{j∈P∖S∖{i}} z_j,
//! w(k, n) = k! (n − k − 1)! / n!
//! ```
//!
//! and the pair `a ≠ b` in XGBoost's interaction values (half the difference between conditioning
//! `a` on and off) with `½ · v · (o_a − z_a)(o_b − z_b) · Σ_{S ⊆ P∖{a,b}} w(|S|, d − 1) · …`.
//! Because the one fractions are 0 or 1, each credit depends on the row only through the bit set
//! of its one fractions, so a leaf's credits can be tabulated once for all `2^d` bit sets
//! ([`contribution_table`], [`interaction_table`]) and a row then costs one look-up per feature
//! (Fast TreeSHAP v2's idea); [`subset_sums`] fills such a table with one product per subset. The
//! sums over `S` are weighted coefficient sums of `Π (z_j + o_j t)` ([`weighted_sum`]), which
//! [`add_contributions_direct`] and [`add_interactions_direct`] evaluate row by row for paths too
//! long to tabulate.

use crate::explain::paths::LeafPath;

/// The Shapley weights `w(k, n) = k! (n − k − 1)! / n!` for `k = 0..n` (`n ≥ 1` players).
pub(crate) fn shapley_weights(n: usize) -> Vec<f64> {
    let mut w = Vec::with_capacity(n);
    let mut v = 1.0 / n as f64;
    for k in 0..n {
        w.push(v);
        if k + 1 < n {
            v *= (k + 1) as f64 / (n - k - 1) as f64;
        }
    }
    w
}

/// `Σ_k weights[k] · c_k` where `c_k` is the coefficient of `t^k` in `Π_j (zero[j] + t·one[j])`.
pub(crate) fn weighted_sum(zero: &[f64], one: &[f64], weights: &[f64], poly: &mut Vec<f64>) -> f64 {
    poly.clear();
    poly.resize(zero.len() + 1, 0.0);
    poly[0] = 1.0;
    for (m, (z, o)) in zero.iter().zip(one).enumerate() {
        for k in (0..=m + 1).rev() {
            let lower = if k > 0 { poly[k - 1] } else { 0.0 };
            poly[k] = poly[k] * z + lower * o;
        }
    }
    poly.iter().zip(weights).map(|(c, w)| c * w).sum()
}

/// For every subset `S` of the `m = zero.len()` features (as a bit mask), the weighted sum
/// [`weighted_sum`] with one fraction 1 for the features in `S` and 0 for the others; `weights` has
/// `m + 1` entries. Builds the `2^m` products feature by feature, each from the product without
/// that feature.
pub(crate) fn subset_sums(zero: &[f64], weights: &[f64]) -> Vec<f64> {
    let m = zero.len();
    let width = m + 1;
    let mut poly = vec![0f64; (1usize << m) * width];
    poly[0] = 1.0;
    for (j, z) in zero.iter().enumerate() {
        for mask in (0..1usize << j).rev() {
            let (lo, hi) = poly.split_at_mut((mask | (1 << j)) * width);
            let src = &mut lo[mask * width..(mask + 1) * width];
            let dst = &mut hi[..width];
            for k in 0..=j + 1 {
                let lower = if k > 0 { src[k - 1] } else { 0.0 };
                dst[k] = src[k] * z + lower;
            }
            for c in src.iter_mut().take(j + 1) {
                *c *= z;
            }
        }
    }
    poly.chunks_exact(width)
        .map(|p| p.iter().zip(weights).map(|(c, w)| c * w).sum())
        .collect()
}

/// `mask` with bit `u` removed (the bits above it move down one).
#[inline]
fn without_bit(mask: usize, u: usize) -> usize {
    (mask & ((1 << u) - 1)) | ((mask >> (u + 1)) << u)
}

/// The zero fractions of every distinct feature of `path` but those in `skip`.
fn zeros_without(path: &LeafPath, skip: &[usize]) -> Vec<f64> {
    (0..path.len())
        .filter(|j| !skip.contains(j))
        .map(|j| path.zero[j])
        .collect()
}

/// The pairs `(a, b)`, `a < b`, of `d` distinct features in the order the interaction tables use.
pub(crate) fn pairs(d: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..d).flat_map(move |a| (a + 1..d).map(move |b| (a, b)))
}

/// The credit of every distinct feature of `path` for every bit set `Q` of one fractions:
/// `table[u * 2^d + Q]` for feature `u` (`d = path.len()`, `2^d * d` entries; feature by feature,
/// so that a block of rows reads one feature's credits at a time).
pub(crate) fn contribution_table(path: &LeafPath) -> Vec<f32> {
    let d = path.len();
    let weights = shapley_weights(d);
    let mut table = vec![0f32; (1usize << d) * d];
    for u in 0..d {
        let sums = subset_sums(&zeros_without(path, &[u]), &weights);
        let z = path.zero[u];
        for q in 0..1usize << d {
            let o = ((q >> u) & 1) as f64;
            table[(u << d) + q] = (path.value * (o - z) * sums[without_bit(q, u)]) as f32;
        }
    }
    table
}

/// The interaction credit of every pair of distinct features of `path` (in [`pairs`] order, `p` of
/// them) for every bit set `Q` of one fractions: `table[Q * p + pair]`.
pub(crate) fn interaction_table(path: &LeafPath) -> Vec<f32> {
    let d = path.len();
    let p = d * d.saturating_sub(1) / 2;
    let mut table = vec![0f32; (1usize << d) * p];
    if p == 0 {
        return table;
    }
    let weights = shapley_weights(d - 1);
    for (k, (a, b)) in pairs(d).enumerate() {
        let sums = subset_sums(&zeros_without(path, &[a, b]), &weights);
        let (za, zb) = (path.zero[a], path.zero[b]);
        for q in 0..1usize << d {
            let (oa, ob) = (((q >> a) & 1) as f64, ((q >> b) & 1) as f64);
            let rest = without_bit(without_bit(q, b), a);
            table[q * p + k] = (0.5 * path.value * (oa - za) * (ob - zb) * sums[rest]) as f32;
        }
    }
    table
}

/// Scratch space of the direct evaluations.
#[derive(Default)]
pub(crate) struct Scratch {
    zero: Vec<f64>,
    one: Vec<f64>,
    poly: Vec<f64>,
}

/// Adds the credits of `path` for a row with one fractions `ones` (one per distinct feature) to
/// `out[feature]`, evaluated directly (`O(d³)`).
pub(crate) fn add_contributions_direct(path: &LeafPath, ones: &[bool], out: &mut [f64], s: &mut Scratch) {
    let d = path.len();
    let weights = shapley_weights(d);
    for u in 0..d {
        fill_others(path, ones, &[u], s);
        let sum = weighted_sum(&s.zero, &s.one, &weights, &mut s.poly);
        let o = ones[u] as u8 as f64;
        out[path.features[u] as usize] += path.value * (o - path.zero[u]) * sum;
    }
}

/// Adds the interaction credits of `path` for a row with one fractions `ones` to
/// `out[a * width + b]` and `out[b * width + a]` for every pair of distinct features, evaluated
/// directly.
pub(crate) fn add_interactions_direct(path: &LeafPath, ones: &[bool], width: usize, out: &mut [f64], s: &mut Scratch) {
    let d = path.len();
    if d < 2 {
        return;
    }
    let weights = shapley_weights(d - 1);
    for (a, b) in pairs(d) {
        fill_others(path, ones, &[a, b], s);
        let sum = weighted_sum(&s.zero, &s.one, &weights, &mut s.poly);
        let (oa, ob) = (ones[a] as u8 as f64, ones[b] as u8 as f64);
        let v = 0.5 * path.value * (oa - path.zero[a]) * (ob - path.zero[b]) * sum;
        let (fa, fb) = (path.features[a] as usize, path.features[b] as usize);
        out[fa * width + fb] += v;
        out[fb * width + fa] += v;
    }
}

fn fill_others(path: &LeafPath, ones: &[bool], skip: &[usize], s: &mut Scratch) {
    s.zero.clear();
    s.one.clear();
    for j in (0..path.len()).filter(|j| !skip.contains(j)) {
        s.zero.push(path.zero[j]);
        s.one.push(ones[j] as u8 as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_sum_over_coalition_sizes_to_one() {
        // Σ_k C(n-1, k) w(k, n) = 1: every ordering of the players is counted once.
        for n in 1..12 {
            let w = shapley_weights(n);
            let mut binom = 1f64;
            let mut total = 0.0;
            for (k, wk) in w.iter().enumerate() {
                total += binom * wk;
                binom = binom * (n - 1 - k) as f64 / (k + 1) as f64;
            }
            assert!((total - 1.0).abs() < 1e-12, "n {n}: {total}");
        }
    }

    #[test]
    fn subset_sums_match_the_direct_products() {
        let zero = [0.3, 0.7, 0.55, 0.1, 0.9];
        let weights = shapley_weights(zero.len() + 1);
        let sums = subset_sums(&zero, &weights);
        let mut poly = Vec::new();
        for (mask, s) in sums.iter().enumerate() {
            let one: Vec<f64> = (0..zero.len()).map(|j| ((mask >> j) & 1) as f64).collect();
            let direct = weighted_sum(&zero, &one, &weights, &mut poly);
            assert!((s - direct).abs() < 1e-14, "mask {mask}: {s} vs {direct}");
        }
    }
}
