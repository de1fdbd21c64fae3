//! The report's generic charts, drawn with plotters' SVG backend: horizontal bars (importance,
//! mean |SHAP|) and lines (learning curves); plus the colours every chart shares.

use anyhow::{anyhow, Result};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Width of every chart, in pixels.
pub const WIDTH: u32 = 760;

/// The colours of successive series (evaluation sets), a colour-blind friendly palette.
const PALETTE: [RGBColor; 6] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
];

/// The colour of series `i`.
pub fn series_color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// A colour from blue (`t = 0`, low) through purple to red (`t = 1`, high), as SHAP's summary
/// plots colour feature values; `t` is clamped to `[0, 1]`.
pub fn value_color(t: f64) -> RGBColor {
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.5 };
    let mix = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    RGBColor(mix(0.0, 255.0), mix(138.0, 0.0), mix(250.0, 82.0))
}

/// The error of a failed drawing, naming the chart.
pub fn drawing_error(chart: &str) -> impl Fn(&dyn std::fmt::Display) -> anyhow::Error + '_ {
    move |e| anyhow!("cannot draw the {chart} chart: {e}")
}

/// A value range `[lo, hi]` widened by a margin, and never empty.
pub fn padded(lo: f64, hi: f64) -> (f64, f64) {
    if !(lo.is_finite() && hi.is_finite()) {
        return (0.0, 1.0);
    }
    let span = hi - lo;
    if span <= f64::EPSILON * hi.abs().max(1.0) {
        let pad = (hi.abs() * 0.05).max(0.5);
        return (lo - pad, hi + pad);
    }
    (lo - span * 0.05, hi + span * 0.05)
}

/// A short label for a tick value.
pub fn tick(v: f64) -> String {
    let a = v.abs();
    if a != 0.0 && !(1e-3..1e5).contains(&a) {
        format!("{v:.2e}")
    } else {
        let s = format!("{v:.4}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        if s == "-0" {
            "0".to_string()
        } else {
            s.to_string()
        }
    }
}

/// Shortens a label to `max` characters, ending it with `…` when cut.
pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// A horizontal bar chart: one bar per `(label, value)`, the first at the top (values >= 0).
pub fn bar_chart(title: &str, x_label: &str, bars: &[(String, f64)]) -> Result<String> {
    let n = bars.len().max(1);
    let height = 90 + 22 * n as u32;
    let max = bars
        .iter()
        .map(|b| b.1)
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    let max = if max > 0.0 { max * 1.08 } else { 1.0 };
    let labels: Vec<String> = bars.iter().map(|b| shorten(&b.0, 24)).collect();
    let err = drawing_error(title);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        // Row `i` (from the top) is centred on y = n - 1 - i.
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(36)
            .y_label_area_size(180)
            .build_cartesian_2d(0.0..max, -0.5..n as f64 - 0.5)
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc(x_label)
            .x_label_formatter(&|v| tick(*v))
            .y_labels(0)
            .label_style(("sans-serif", 12))
            .draw()
            .map_err(|e| err(&e))?;
        // The rows' names, right-aligned left of the plot (row `i` from the top at y = n - 1 - i).
        for (i, label) in labels.iter().enumerate() {
            let (px, py) = chart.backend_coord(&(0.0, (n - 1 - i) as f64));
            let style = ("sans-serif", 12)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Right, VPos::Center));
            root.draw(&Text::new(label.clone(), (px - 6, py), style))
                .map_err(|e| err(&e))?;
        }
        chart
            .draw_series(bars.iter().enumerate().map(|(i, (_, v))| {
                let y = (n - 1 - i) as f64;
                let v = if v.is_finite() { v.max(0.0) } else { 0.0 };
                Rectangle::new([(0.0, y - 0.35), (v, y + 0.35)], series_color(0).filled())
            }))
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}

/// A line chart of `series` (`(name, points)`, one line each, with a legend); points whose value
/// is not finite are left out.
pub fn line_chart(title: &str, x_label: &str, y_label: &str, series: &[(String, Vec<(f64, f64)>)]) -> Result<String> {
    let points = || series.iter().flat_map(|s| s.1.iter()).filter(|p| p.1.is_finite());
    let (x0, x1) = points().fold((f64::INFINITY, f64::NEG_INFINITY), |a, p| (a.0.min(p.0), a.1.max(p.0)));
    let (y0, y1) = points().fold((f64::INFINITY, f64::NEG_INFINITY), |a, p| (a.0.min(p.1), a.1.max(p.1)));
    let (x0, x1) = if x0 < x1 { (x0, x1) } else { padded(x0, x1) };
    let (y0, y1) = padded(y0, y1);
    let err = drawing_error(title);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 360)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .x_label_formatter(&|v| tick(*v))
            .y_label_formatter(&|v| tick(*v))
            .label_style(("sans-serif", 12))
            .draw()
            .map_err(|e| err(&e))?;
        for (i, (name, pts)) in series.iter().enumerate() {
            let color = series_color(i);
            let finite: Vec<(f64, f64)> = pts.iter().copied().filter(|p| p.1.is_finite()).collect();
            chart
                .draw_series(LineSeries::new(finite, color.stroke_width(2)))
                .map_err(|e| err(&e))?
                .label(shorten(name, 30))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 12))
            .draw()
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_svg_with_their_labels() {
        let bars = vec![("alpha".to_string(), 3.0), ("beta & <gamma>".to_string(), 1.0)];
        let svg = bar_chart("Gain", "gain", &bars).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{svg}");
        assert!(
            svg.contains("alpha") && svg.contains("beta &amp; &lt;gamma&gt;"),
            "{svg}"
        );
        let lines = vec![("valid".to_string(), vec![(0.0, 1.0), (1.0, f64::NAN), (2.0, 0.5)])];
        let svg = line_chart("logloss", "round", "logloss", &lines).unwrap();
        assert!(svg.contains("valid") && svg.contains("<polyline"), "{svg}");
        // One point, or nothing at all, still draws.
        line_chart("one", "round", "v", &[("a".to_string(), vec![(0.0, 2.0)])]).unwrap();
        bar_chart("none", "v", &[]).unwrap();
    }

    #[test]
    fn ticks_colours_and_ranges() {
        assert_eq!(tick(0.5), "0.5");
        assert_eq!(tick(2.0), "2");
        assert_eq!(tick(1e-7), "1.00e-7");
        assert_eq!(value_color(0.0), RGBColor(0, 138, 250));
        assert_eq!(value_color(1.0), RGBColor(255, 0, 82));
        assert_eq!(padded(1.0, 1.0), (0.5, 1.5));
        assert_eq!(shorten("abcdef", 4), "abc…");
    }
}
