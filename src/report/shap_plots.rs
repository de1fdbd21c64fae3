//! SHAP charts: the summary (beeswarm: one row per feature, one dot per row of data at its SHAP
//! value, coloured by the feature's value) and dependence plots (a feature's value against its SHAP
//! value), from the contributions the core computes.

use anyhow::{bail, Result};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::charts::{drawing_error, padded, series_color, shorten, tick, value_color, WIDTH};

/// SHAP values of a sample of rows, with the rows' feature values.
#[derive(Debug, Clone)]
pub struct ShapSample {
    /// Rows in the sample.
    pub num_rows: usize,
    /// Features of the model.
    pub num_features: usize,
    /// Outputs of the model (classes): the contributions hold one block per output.
    pub num_groups: usize,
    /// Contributions in the core's layout: per row, per output, `num_features` values then the
    /// bias.
    pub contributions: Vec<f32>,
    /// The rows' feature values, row-major (`num_rows x num_features`, NaN for missing).
    pub values: Vec<f32>,
}

impl ShapSample {
    /// Checks the sizes of the parts.
    pub fn new(num_features: usize, num_groups: usize, contributions: Vec<f32>, values: Vec<f32>) -> Result<Self> {
        let per_row = num_groups * (num_features + 1);
        if num_features == 0 || num_groups == 0 || !values.len().is_multiple_of(num_features) {
            bail!(
                "SHAP sample: {} feature values for {num_features} features",
                values.len()
            );
        }
        let num_rows = values.len() / num_features;
        if contributions.len() != num_rows * per_row {
            bail!(
                "SHAP sample: {} contributions for {num_rows} rows of {per_row}",
                contributions.len()
            );
        }
        Ok(ShapSample {
            num_rows,
            num_features,
            num_groups,
            contributions,
            values,
        })
    }

    /// The SHAP value of feature `f` for output `group` in row `row`.
    pub fn shap(&self, row: usize, group: usize, f: usize) -> f32 {
        let nf1 = self.num_features + 1;
        self.contributions[(row * self.num_groups + group) * nf1 + f]
    }

    /// Mean |SHAP| of every feature for output `group`.
    pub fn mean_abs_of(&self, group: usize) -> Vec<f64> {
        let mut sums = vec![0f64; self.num_features];
        for row in 0..self.num_rows {
            for (f, s) in sums.iter_mut().enumerate() {
                *s += self.shap(row, group, f).abs() as f64;
            }
        }
        let n = self.num_rows.max(1) as f64;
        sums.iter().map(|s| s / n).collect()
    }

    /// Mean |SHAP| of every feature, summed over the outputs (for multiclass models: the sum of
    /// the classes' mean |SHAP|, the ranking SHAP's multi-output summary bar uses).
    pub fn mean_abs(&self) -> Vec<f64> {
        let mut total = vec![0f64; self.num_features];
        for g in 0..self.num_groups {
            for (t, v) in total.iter_mut().zip(self.mean_abs_of(g)) {
                *t += v;
            }
        }
        total
    }

    /// The `n` features with the largest mean |SHAP| (summed over outputs), largest first; ties
    /// in feature order.
    pub fn top_features(&self, n: usize) -> Vec<usize> {
        let mean = self.mean_abs();
        let mut order: Vec<usize> = (0..self.num_features).collect();
        order.sort_by(|a, b| mean[*b].total_cmp(&mean[*a]).then(a.cmp(b)));
        order.truncate(n);
        order
    }

    /// The feature values of column `f`.
    fn column(&self, f: usize) -> impl Iterator<Item = f32> + '_ {
        (0..self.num_rows).map(move |r| self.values[r * self.num_features + f])
    }

    /// Where each row's value of feature `f` falls, 0 (low) to 1 (high): its rank among the present
    /// values (NaN for a missing value).
    fn value_ranks(&self, f: usize) -> Vec<f64> {
        let vals: Vec<f32> = self.column(f).collect();
        let mut present: Vec<f32> = vals.iter().copied().filter(|v| !v.is_nan()).collect();
        present.sort_by(f32::total_cmp);
        let last = present.len().saturating_sub(1).max(1) as f64;
        vals.iter()
            .map(|v| {
                if v.is_nan() {
                    return f64::NAN;
                }
                let lo = present.partition_point(|p| p < v);
                let hi = present.partition_point(|p| p <= v);
                ((lo + hi.saturating_sub(1)) as f64 / 2.0) / last
            })
            .collect()
    }
}

/// The grey of a missing feature value.
const MISSING: RGBColor = RGBColor(160, 160, 160);

/// Vertical offsets (within `[-0.4, 0.4]`) that spread the dots of one beeswarm row: dots whose
/// values fall in the same of 80 bins across `[lo, hi]` are stacked alternately above and below
/// the row's line. Deterministic (no random jitter).
fn swarm_offsets(xs: &[f64], lo: f64, hi: f64) -> Vec<f64> {
    const BINS: usize = 80;
    let span = (hi - lo).max(f64::MIN_POSITIVE);
    let mut count = vec![0usize; BINS];
    let bin_of = |x: f64| (((x - lo) / span * BINS as f64) as usize).min(BINS - 1);
    for x in xs {
        count[bin_of(*x)] += 1;
    }
    let densest = count.iter().copied().max().unwrap_or(1).max(1);
    let step = (0.4 / (densest as f64 / 2.0).max(1.0)).min(0.08);
    let mut seen = vec![0usize; BINS];
    xs.iter()
        .map(|x| {
            let b = bin_of(*x);
            let k = seen[b];
            seen[b] += 1;
            let level = k.div_ceil(2) as f64;
            if k % 2 == 1 {
                level * step
            } else {
                -level * step
            }
        })
        .collect()
}

/// The SHAP summary (beeswarm) of `features` (top first) for output `group`; `names` names every
/// feature of the model.
pub fn beeswarm_svg(
    sample: &ShapSample,
    group: usize,
    features: &[usize],
    names: &[String],
    title: &str,
) -> Result<String> {
    let n = features.len().max(1);
    let height = 110 + 30 * n as u32;
    let all = features
        .iter()
        .flat_map(|f| (0..sample.num_rows).map(move |r| sample.shap(r, group, *f) as f64));
    let (lo, hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |a, v| (a.0.min(v), a.1.max(v)));
    let (lo, hi) = padded(lo.min(0.0), hi.max(0.0));
    let labels: Vec<String> = features
        .iter()
        .map(|f| shorten(names.get(*f).map_or("?", String::as_str), 24))
        .collect();
    let err = drawing_error(title);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(180)
            .build_cartesian_2d(lo..hi, -0.5..n as f64 - 0.5)
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc("SHAP value (impact on the margin); colour: feature value, blue low, red high, grey missing")
            .x_label_formatter(&|v| tick(*v))
            .y_labels(0)
            .label_style(("sans-serif", 12))
            .draw()
            .map_err(|e| err(&e))?;
        // The rows' names, right-aligned left of the plot (row `i` from the top at y = n - 1 - i).
        for (i, label) in labels.iter().enumerate() {
            let (px, py) = chart.backend_coord(&(lo, (n - 1 - i) as f64));
            let style = ("sans-serif", 12)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Right, VPos::Center));
            root.draw(&Text::new(label.clone(), (px - 6, py), style))
                .map_err(|e| err(&e))?;
        }
        chart
            .draw_series(LineSeries::new(
                vec![(0.0, -0.5), (0.0, n as f64 - 0.5)],
                BLACK.mix(0.4),
            ))
            .map_err(|e| err(&e))?;
        for (i, f) in features.iter().enumerate() {
            let y = (n - 1 - i) as f64;
            let xs: Vec<f64> = (0..sample.num_rows).map(|r| sample.shap(r, group, *f) as f64).collect();
            let offsets = swarm_offsets(&xs, lo, hi);
            let ranks = sample.value_ranks(*f);
            chart
                .draw_series(xs.iter().zip(&offsets).zip(&ranks).map(|((x, dy), t)| {
                    let color = if t.is_nan() { MISSING } else { value_color(*t) };
                    Circle::new((*x, y + dy), 2, color.mix(0.8).filled())
                }))
                .map_err(|e| err(&e))?;
        }
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}

/// The dependence plot of feature `f` for output `group`: its value (x) against its SHAP value (y),
/// one dot per row (rows with the value missing are left out). `categories` names the codes of a
/// categorical feature (its ticks then show the names).
pub fn dependence_svg(
    sample: &ShapSample,
    group: usize,
    f: usize,
    name: &str,
    categories: Option<&[String]>,
) -> Result<String> {
    let points: Vec<(f64, f64)> = (0..sample.num_rows)
        .map(|r| {
            (
                sample.values[r * sample.num_features + f] as f64,
                sample.shap(r, group, f) as f64,
            )
        })
        .filter(|p| p.0.is_finite())
        .collect();
    let fold = |sel: fn(&(f64, f64)) -> f64| {
        points
            .iter()
            .map(sel)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |a, v| (a.0.min(v), a.1.max(v)))
    };
    let (x0, x1) = fold(|p| p.0);
    let (y0, y1) = fold(|p| p.1);
    let (x0, x1) = padded(x0, x1);
    let (y0, y1) = padded(y0, y1);
    let title = format!("Dependence: {}", shorten(name, 40));
    let err = drawing_error(&title);
    let x_tick = |v: &f64| match categories {
        Some(names) if (v.fract()).abs() < 1e-9 && *v >= 0.0 => {
            names.get(*v as usize).map_or_else(|| tick(*v), |n| shorten(n, 12))
        }
        Some(_) => String::new(),
        None => tick(*v),
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 360)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(&title, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc(if categories.is_some() {
                format!("{name} (category)")
            } else {
                name.to_string()
            })
            .y_desc(format!("SHAP value of {}", shorten(name, 30)))
            .x_label_formatter(&x_tick)
            .y_label_formatter(&|v| tick(*v))
            .label_style(("sans-serif", 12))
            .draw()
            .map_err(|e| err(&e))?;
        let color = series_color(0);
        chart
            .draw_series(points.iter().map(|p| Circle::new(*p, 2, color.mix(0.6).filled())))
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two features, one output: feature 0's SHAP is its value, feature 1's a tenth of it.
    fn sample() -> ShapSample {
        let mut contributions = Vec::new();
        let mut values = Vec::new();
        for r in 0..50 {
            let (a, b) = (r as f32 - 25.0, if r % 7 == 0 { f32::NAN } else { r as f32 });
            values.extend([a, b]);
            contributions.extend([a, b.max(0.0) / 10.0, 0.5]);
        }
        ShapSample::new(2, 1, contributions, values).unwrap()
    }

    #[test]
    fn ranks_features_by_mean_absolute_shap() {
        let s = sample();
        assert_eq!(s.top_features(5), vec![0, 1]);
        let mean = s.mean_abs();
        assert!(mean[0] > mean[1]);
        let ranks = s.value_ranks(1);
        assert!(ranks[0].is_nan() && ranks[1] == 0.0 && ranks[48] == 1.0, "{ranks:?}");
        assert!(ShapSample::new(2, 1, vec![0.0; 5], vec![0.0; 2]).is_err());
    }

    #[test]
    fn swarm_offsets_stay_in_the_row() {
        let xs: Vec<f64> = (0..500).map(|i| (i % 3) as f64).collect();
        let off = swarm_offsets(&xs, 0.0, 2.0);
        assert!(off.iter().all(|o| o.abs() <= 0.4 + 1e-9), "{off:?}");
        assert_ne!(off[0], off[3]);
    }

    #[test]
    fn draws_the_beeswarm_and_dependence_plots() {
        let s = sample();
        let names = vec!["x".to_string(), "y".to_string()];
        let svg = beeswarm_svg(&s, 0, &[0, 1], &names, "SHAP summary").unwrap();
        assert!(
            svg.contains("<circle") && svg.contains("\nx\n</text>") && svg.contains("\ny\n</text>"),
            "{svg}"
        );
        let svg = dependence_svg(&s, 0, 1, "y", None).unwrap();
        assert!(svg.contains("Dependence: y"), "{svg}");
        let cats = vec!["a".to_string(), "b".to_string()];
        dependence_svg(&s, 0, 1, "y", Some(&cats)).unwrap();
    }
}
