//! Drawings of single trees: boxes for the split nodes (the test, where missing values go) and the
//! leaves (their values), joined by edges marked `yes` (left) and `no` (right). Large trees are cut
//! at the depth where they still fit, with a note on each cut subtree.

use anyhow::Result;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use sylvan_booster::Tree;

use super::charts::{drawing_error, shorten};

/// The most boxes on the bottom row of a drawing; deeper levels are cut.
const MAX_SLOTS: usize = 40;
/// Horizontal room of one box, in pixels.
const SLOT_W: i32 = 170;
/// Vertical distance between levels.
const ROW_H: i32 = 90;
/// Box size.
const BOX_W: i32 = 160;
const BOX_H: i32 = 48;
/// Room above the first level for the title.
const TOP: i32 = 40;
/// The longest line drawn in a box, in characters.
const LINE_CHARS: usize = 26;

/// Where each drawn node goes.
struct Layout {
    /// `(node, depth, x centre in slots)` of every drawn node, parents before children.
    nodes: Vec<(usize, usize, f64)>,
    /// Number of slots (boxes on the widest row).
    slots: usize,
    /// The depth the drawing is cut at.
    cut: usize,
}

/// The number of nodes on the frontier when the tree is cut at `cut`.
fn frontier(tree: &Tree, i: usize, depth: usize, cut: usize) -> usize {
    if tree.is_leaf(i) || depth == cut {
        1
    } else {
        frontier(tree, tree.left[i] as usize, depth + 1, cut) + frontier(tree, tree.right[i] as usize, depth + 1, cut)
    }
}

/// The depth of the tree (0 for a single leaf).
fn depth_of(tree: &Tree, i: usize) -> usize {
    if tree.is_leaf(i) {
        0
    } else {
        1 + depth_of(tree, tree.left[i] as usize).max(depth_of(tree, tree.right[i] as usize))
    }
}

/// Number of nodes in the subtree under `i` (itself included).
fn subtree_size(tree: &Tree, i: usize) -> usize {
    if tree.is_leaf(i) {
        1
    } else {
        1 + subtree_size(tree, tree.left[i] as usize) + subtree_size(tree, tree.right[i] as usize)
    }
}

/// Lays the tree out: leaves (and cut nodes) in order on slots, parents centred over children.
fn layout(tree: &Tree) -> Layout {
    let mut cut = depth_of(tree, 0);
    while cut > 1 && frontier(tree, 0, 0, cut) > MAX_SLOTS {
        cut -= 1;
    }
    fn place(
        tree: &Tree,
        i: usize,
        depth: usize,
        cut: usize,
        next: &mut usize,
        out: &mut Vec<(usize, usize, f64)>,
    ) -> f64 {
        let at = out.len();
        out.push((i, depth, 0.0));
        let x = if tree.is_leaf(i) || depth == cut {
            *next += 1;
            (*next - 1) as f64
        } else {
            let l = place(tree, tree.left[i] as usize, depth + 1, cut, next, out);
            let r = place(tree, tree.right[i] as usize, depth + 1, cut, next, out);
            (l + r) / 2.0
        };
        out[at].2 = x;
        x
    }
    let mut nodes = Vec::new();
    let mut slots = 0;
    place(tree, 0, 0, cut, &mut slots, &mut nodes);
    Layout { nodes, slots, cut }
}

/// Draws `tree` under `title`; `text(i)` gives the lines of split node `i` (its test and where
/// missing values go) — leaves show their value and cover.
pub fn tree_svg(tree: &Tree, title: &str, text: &dyn Fn(usize) -> Vec<String>) -> Result<String> {
    let lay = layout(tree);
    let max_depth = lay.nodes.iter().map(|n| n.1).max().unwrap_or(0) as i32;
    let width = (lay.slots.max(2) as i32 * SLOT_W + 20) as u32;
    let height = (TOP + (max_depth + 1) * ROW_H + 10) as u32;
    let centre = |depth: usize, x: f64| {
        (
            10 + (x * SLOT_W as f64) as i32 + SLOT_W / 2,
            TOP + depth as i32 * ROW_H + BOX_H / 2,
        )
    };
    let err = drawing_error(title);
    let font = |size: i32, color: RGBColor| {
        ("sans-serif", size)
            .into_font()
            .color(&color)
            .pos(Pos::new(HPos::Center, VPos::Center))
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        root.draw(&Text::new(
            title.to_string(),
            (10, 14),
            ("sans-serif", 16).into_font().color(&BLACK),
        ))
        .map_err(|e| err(&e))?;
        let mut position = std::collections::HashMap::new();
        for (i, depth, x) in &lay.nodes {
            position.insert(*i, (*depth, *x));
        }
        // Edges first, under the boxes.
        for (i, depth, x) in &lay.nodes {
            if tree.is_leaf(*i) || *depth == lay.cut {
                continue;
            }
            let (px, py) = centre(*depth, *x);
            for (child, label) in [(tree.left[*i] as usize, "yes"), (tree.right[*i] as usize, "no")] {
                let Some((cd, cx)) = position.get(&child) else { continue };
                let (qx, qy) = centre(*cd, *cx);
                let (from, to) = ((px, py + BOX_H / 2), (qx, qy - BOX_H / 2));
                root.draw(&PathElement::new(
                    vec![from, to],
                    RGBColor(120, 120, 120).stroke_width(1),
                ))
                .map_err(|e| err(&e))?;
                let mid = ((from.0 + to.0) / 2, (from.1 + to.1) / 2);
                root.draw(&Text::new(label, mid, font(11, RGBColor(90, 90, 90))))
                    .map_err(|e| err(&e))?;
            }
        }
        for (i, depth, x) in &lay.nodes {
            let (cx, cy) = centre(*depth, *x);
            let (leaf, cut) = (tree.is_leaf(*i), !tree.is_leaf(*i) && *depth == lay.cut);
            let lines = if leaf {
                vec![
                    format!("leaf {:.6}", tree.value[*i]),
                    format!("cover {:.2}", tree.cover[*i]),
                ]
            } else if cut {
                vec!["…".to_string(), format!("{} nodes below", subtree_size(tree, *i) - 1)]
            } else {
                text(*i)
            };
            let fill = if leaf {
                RGBColor(232, 245, 233)
            } else if cut {
                RGBColor(240, 240, 240)
            } else {
                RGBColor(227, 238, 250)
            };
            let corners = [(cx - BOX_W / 2, cy - BOX_H / 2), (cx + BOX_W / 2, cy + BOX_H / 2)];
            root.draw(&Rectangle::new(corners, fill.filled()))
                .map_err(|e| err(&e))?;
            root.draw(&Rectangle::new(corners, RGBColor(100, 100, 100).stroke_width(1)))
                .map_err(|e| err(&e))?;
            let lines: Vec<&String> = lines.iter().take(3).collect();
            let step = 14;
            let first = cy - step * (lines.len() as i32 - 1) / 2;
            for (k, line) in lines.iter().enumerate() {
                root.draw(&Text::new(
                    shorten(line, LINE_CHARS),
                    (cx, first + step * k as i32),
                    font(11, BLACK),
                ))
                .map_err(|e| err(&e))?;
            }
        }
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A full tree of `depth` levels of splits on feature 0.
    fn full(depth: u32) -> Tree {
        let n = (1usize << (depth + 1)) - 1;
        let internal = (1usize << depth) - 1;
        let child = |i: usize, k: usize| if i < internal { (2 * i + k) as i32 } else { -1 };
        Tree {
            left: (0..n).map(|i| child(i, 1)).collect(),
            right: (0..n).map(|i| child(i, 2)).collect(),
            feature: vec![0; n],
            threshold: vec![0.5; n],
            default_left: vec![true; n],
            value: (0..n).map(|i| i as f32 / 10.0).collect(),
            gain: vec![1.0; n],
            cover: vec![2.0; n],
            categories: Default::default(),
        }
    }

    #[test]
    fn small_trees_are_drawn_whole() {
        let t = full(2);
        let svg = tree_svg(&t, "Tree 0", &|i| vec![format!("x < {i}"), "missing: left".into()]).unwrap();
        assert!(
            svg.contains("Tree 0") && svg.contains("x &lt; 0") && svg.contains("leaf 0.300000"),
            "{svg}"
        );
        let lay = layout(&t);
        assert_eq!((lay.slots, lay.nodes.len()), (4, 7));
        // Parents sit over their children.
        assert_eq!(lay.nodes[0].2, 1.5);
    }

    #[test]
    fn deep_trees_are_cut_to_fit() {
        let t = full(8);
        let lay = layout(&t);
        assert!(
            lay.slots <= MAX_SLOTS && lay.cut == 5,
            "{} slots, cut {}",
            lay.slots,
            lay.cut
        );
        let svg = tree_svg(&t, "Tree 1", &|_| vec!["x < 0.5".into()]).unwrap();
        assert!(svg.contains("nodes below"));
        let leaf = Tree {
            left: vec![-1],
            right: vec![-1],
            feature: vec![0],
            threshold: vec![0.0],
            default_left: vec![false],
            value: vec![0.25],
            gain: vec![0.0],
            cover: vec![1.0],
            categories: Default::default(),
        };
        assert!(tree_svg(&leaf, "Tree 2", &|_| Vec::new())
            .unwrap()
            .contains("leaf 0.250000"));
    }
}
