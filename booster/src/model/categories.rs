//! Category-set splits: a [`CategorySet`] (a bitset of category codes) and the per-tree table
//! [`TreeCategories`] that says which nodes split by a set.
//!
//! The routing rule, shared by training and every prediction layout: a missing value (`NaN`) goes
//! to the node's default direction; a value whose category code is in the set goes left; any
//! other value — a category not in the set, one never seen in training, or a value that is not a
//! category code at all (negative, fractional, too large) — goes right.

use serde::{Deserialize, Serialize};

use crate::data::feature_type::category_code;
use crate::error::{Error, Result};

/// A set of category codes, as a bitset: bit `c % 32` of word `c / 32` is set when code `c` is in
/// the set. Trailing zero words are never stored, so equal sets are equal values.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CategorySet {
    words: Vec<u32>,
}

impl CategorySet {
    /// The set of the given codes (any order, repeats allowed).
    pub fn from_codes(codes: impl IntoIterator<Item = u32>) -> CategorySet {
        let mut words: Vec<u32> = Vec::new();
        for c in codes {
            let w = (c / 32) as usize;
            if words.len() <= w {
                words.resize(w + 1, 0);
            }
            words[w] |= 1 << (c % 32);
        }
        CategorySet { words }
    }

    /// The set stored as bitset words (bit `c % 32` of word `c / 32`); trailing zero words are
    /// dropped.
    pub fn from_words(mut words: Vec<u32>) -> CategorySet {
        while words.last() == Some(&0) {
            words.pop();
        }
        CategorySet { words }
    }

    /// The bitset words.
    pub fn words(&self) -> &[u32] {
        &self.words
    }

    /// Whether code `c` is in the set.
    #[inline]
    pub fn contains(&self, c: u32) -> bool {
        self.words
            .get((c / 32) as usize)
            .is_some_and(|w| w >> (c % 32) & 1 != 0)
    }

    /// Whether the value `x` is a category code in the set (`false` for `NaN` and non-codes).
    #[inline]
    pub fn contains_value(&self, x: f32) -> bool {
        category_code(x).is_some_and(|c| self.contains(c))
    }

    /// The codes in the set, ascending.
    pub fn codes(&self) -> impl Iterator<Item = u32> + '_ {
        self.words.iter().enumerate().flat_map(|(w, bits)| {
            (0..32u32)
                .filter(move |b| bits >> b & 1 != 0)
                .map(move |b| w as u32 * 32 + b)
        })
    }

    /// Number of codes in the set.
    pub fn len(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// One more than the largest code in the set (0 when empty).
    pub fn end(&self) -> u32 {
        self.codes().last().map_or(0, |c| c + 1)
    }
}

/// The category-set splits of one tree. Empty (no vectors allocated) when the tree has none,
/// which is how every tree on numerical features stays as small and fast as before.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TreeCategories {
    /// For each node, `1 + ` the index in `sets` of its category set, or 0 for a threshold split or
    /// a leaf. Empty when the tree has no category-set split.
    pub node_set: Vec<u32>,
    /// The distinct sets used by the tree's nodes.
    pub sets: Vec<CategorySet>,
}

impl TreeCategories {
    /// Whether the tree has no category-set split.
    pub fn is_empty(&self) -> bool {
        self.node_set.is_empty()
    }

    /// The category set of node `i`, when it splits by one.
    #[inline]
    pub fn set_of(&self, i: usize) -> Option<&CategorySet> {
        match self.node_set.get(i) {
            Some(&k) if k > 0 => Some(&self.sets[k as usize - 1]),
            _ => None,
        }
    }

    /// Makes node `i` (of a tree of `num_nodes` nodes) split by `set`.
    pub fn set_node(&mut self, i: usize, num_nodes: usize, set: CategorySet) {
        if self.node_set.len() < num_nodes {
            self.node_set.resize(num_nodes, 0);
        }
        let k = match self.sets.iter().position(|s| *s == set) {
            Some(k) => k,
            None => {
                self.sets.push(set);
                self.sets.len() - 1
            }
        };
        self.node_set[i] = k as u32 + 1;
    }

    /// Checks the table against a tree of `num_nodes` nodes whose leaves are `is_leaf`.
    pub fn validate(&self, num_nodes: usize, is_leaf: impl Fn(usize) -> bool) -> Result<()> {
        if self.node_set.is_empty() {
            return if self.sets.is_empty() {
                Ok(())
            } else {
                Err(Error::model("category sets listed but no node uses them"))
            };
        }
        if self.node_set.len() != num_nodes {
            return Err(Error::model(format!(
                "categories list {} nodes but the tree has {num_nodes}",
                self.node_set.len()
            )));
        }
        for (i, &k) in self.node_set.iter().enumerate() {
            if k as usize > self.sets.len() {
                return Err(Error::model(format!(
                    "node {i} refers to category set {k} of {}",
                    self.sets.len()
                )));
            }
            if k > 0 && is_leaf(i) {
                return Err(Error::model(format!("leaf {i} has a category set")));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn set_membership_matches_a_list(codes in proptest::collection::vec(0u32..300, 0..40), probe in 0u32..400) {
            let set = CategorySet::from_codes(codes.iter().copied());
            prop_assert_eq!(set.contains(probe), codes.contains(&probe));
            prop_assert_eq!(set.contains_value(probe as f32), codes.contains(&probe));
            let mut sorted = codes.clone();
            sorted.sort_unstable();
            sorted.dedup();
            prop_assert_eq!(set.codes().collect::<Vec<_>>(), sorted.clone());
            prop_assert_eq!(set.len(), sorted.len());
            prop_assert_eq!(CategorySet::from_words(set.words().to_vec()), set.clone());
        }
    }

    #[test]
    fn non_codes_are_not_members() {
        let set = CategorySet::from_codes([0, 1, 2]);
        for x in [f32::NAN, -1.0, 1.5, 1e9] {
            assert!(!set.contains_value(x));
        }
        assert_eq!(CategorySet::from_words(vec![5, 0, 0]).words(), &[5]);
        assert_eq!(set.end(), 3);
    }

    #[test]
    fn table_shares_equal_sets_and_validates() {
        let mut t = TreeCategories::default();
        t.set_node(0, 5, CategorySet::from_codes([1, 3]));
        t.set_node(2, 5, CategorySet::from_codes([3, 1]));
        assert_eq!(t.sets.len(), 1);
        assert_eq!(t.set_of(2), t.set_of(0));
        assert!(t.set_of(1).is_none());
        t.validate(5, |i| i > 2).unwrap();
        assert!(t.validate(4, |_| false).is_err());
        assert!(t.validate(5, |i| i == 2).is_err());
    }
}
