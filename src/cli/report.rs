//! `sylvan report`: a visual report of a model as one self-contained HTML file (summary and
//! parameters, learning curves, importance, SHAP summary and dependence plots, the first trees), or
//! one of its plots as an SVG file (`--format svg --plot ...`). The drawing is in `crate::report`.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, ValueEnum};
use sylvan_booster::{write_atomically, Booster, Dataset, ImportanceType, Model, PredictOutput};
use sylvan_io::{load_for_model, ColumnSelection};

use super::columns::with_labels;
use super::inspect::changed_params;
use super::model::{check_model_path, kind_of, load, trained_label, LoadedModel};
use super::say;
use super::tree_text::split_test;
use crate::report::charts::{bar_chart, line_chart};
use crate::report::html::{page, Section};
use crate::report::shap_plots::{beeswarm_svg, dependence_svg, ShapSample};
use crate::report::tree_drawing::tree_svg;

/// Features shown in the importance bars and the mean |SHAP| bars.
const TOP_IMPORTANCE: usize = 20;
/// Features shown in the SHAP summary (beeswarm).
const TOP_BEESWARM: usize = 15;
/// Features given a dependence plot.
const TOP_DEPENDENCE: usize = 4;
/// Categories spelled out in a drawn category-set split.
const SHOWN_CATEGORIES: usize = 4;

/// What `sylvan report` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// The whole report as one HTML page.
    Html,
    /// One plot (chosen by --plot) as an SVG file.
    Svg,
}

/// Arguments of `sylvan report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The model (.json or .sylvan).
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    /// Data to explain (SHAP summary and dependence plots); the model's features are matched by
    /// column name. Without it the report has no SHAP sections.
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// The label column(s) of --data: the report then also shows the model's metrics on the data
    /// (SHAP itself needs no label).
    #[arg(long, value_name = "COL[,COL..]", requires = "data")]
    pub label: Option<String>,
    /// The most rows of --data explained: larger files are sampled evenly (every k-th row), so
    /// the report is the same on every run.
    #[arg(long, value_name = "N", default_value_t = 2000)]
    pub max_rows: usize,
    /// How many trees to draw (the first N).
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub trees: usize,
    /// For models with several outputs (multiclass): the output (class) whose SHAP values the
    /// beeswarm and dependence plots show; features are ranked by mean |SHAP| summed over all
    /// outputs.
    #[arg(long, value_name = "K", default_value_t = 0)]
    pub class: usize,
    /// `html` (the whole report) or `svg` (the plot chosen by --plot).
    #[arg(long, value_enum, default_value = "html")]
    pub format: ReportFormat,
    /// With --format svg: `importance`, `metric` (or `metric:NAME`), `shap`,
    /// `dependence:FEATURE` or `tree:I`.
    #[arg(long, value_name = "PLOT")]
    pub plot: Option<String>,
    /// Where to write the report (default report.html, or report.svg with --format svg).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Runs `sylvan report`.
pub fn run(args: &ReportArgs) -> Result<()> {
    check_model_path(&args.model)?;
    if args.max_rows == 0 {
        bail!("--max-rows must be at least 1");
    }
    let plot = match (args.format, args.plot.as_deref()) {
        (ReportFormat::Svg, Some(p)) => Some(Plot::parse(p)?),
        (ReportFormat::Svg, None) => {
            bail!("--format svg needs --plot: importance, metric, metric:NAME, shap, dependence:FEATURE or tree:I")
        }
        (ReportFormat::Html, Some(_)) => bail!("--plot is for --format svg; the HTML report holds every plot"),
        (ReportFormat::Html, None) => None,
    };
    let output = args.output.clone().unwrap_or_else(|| {
        PathBuf::from(match args.format {
            ReportFormat::Html => "report.html",
            ReportFormat::Svg => "report.svg",
        })
    });
    let model = load(&args.model)?;
    let text = match plot {
        Some(plot) => single_plot(args, &model, &plot)?,
        None => html_report(args, &model)?,
    };
    write_atomically(&output, text.as_bytes())
        .with_context(|| format!("cannot write --output `{}`", output.display()))?;
    say(format!("wrote {}", output.display()));
    Ok(())
}

/// One plot of `--format svg`.
#[derive(Debug, Clone, PartialEq)]
enum Plot {
    Importance,
    Metric(Option<String>),
    Shap,
    Dependence(String),
    Tree(usize),
}

impl Plot {
    /// Parses a `--plot` value.
    fn parse(text: &str) -> Result<Plot> {
        let (kind, arg) = match text.split_once(':') {
            Some((k, a)) => (k, Some(a)),
            None => (text, None),
        };
        Ok(match (kind, arg) {
            ("importance", None) => Plot::Importance,
            ("metric", a) => Plot::Metric(a.map(str::to_string)),
            ("shap", None) => Plot::Shap,
            ("dependence", Some(f)) if !f.is_empty() => Plot::Dependence(f.to_string()),
            ("tree", Some(i)) => Plot::Tree(
                i.parse()
                    .map_err(|_| anyhow!("--plot `{text}`: `{i}` is not a tree number (0, 1, ...)"))?,
            ),
            _ => {
                bail!("--plot `{text}` is not one of importance, metric, metric:NAME, shap, dependence:FEATURE, tree:I")
            }
        })
    }
}

/// The booster of a loaded model, or an error saying which plot needs one.
fn booster_for<'m>(model: &'m LoadedModel, path: &Path, what: &str) -> Result<&'m Booster> {
    match &model.model {
        Model::Booster(b) => Ok(b),
        other => bail!(
            "{what} needs a boosted model; `{}` is a {} (its members are not drawn one by one)",
            path.display(),
            kind_of(other)
        ),
    }
}

/// Writes one plot as SVG.
fn single_plot(args: &ReportArgs, model: &LoadedModel, plot: &Plot) -> Result<String> {
    let b = booster_for(model, &args.model, "--format svg")?;
    let names = &model.features;
    match plot {
        Plot::Importance => importance_chart(b, names, ImportanceType::Gain)?
            .ok_or_else(|| anyhow!("the model has no splits, so no feature importance to plot")),
        Plot::Metric(name) => {
            let curves = learning_curves(b);
            let pick = match name {
                Some(n) => curves.iter().find(|c| &c.0 == n).ok_or_else(|| {
                    let known: Vec<&str> = curves.iter().map(|c| c.0.as_str()).collect();
                    anyhow!(
                        "--plot metric:{n}: the model recorded no metric `{n}` (it has: {})",
                        list(&known)
                    )
                })?,
                None => curves.first().ok_or_else(|| {
                    anyhow!(
                        "--plot metric: `{}` holds no evaluation history (train with evaluation sets to record one)",
                        args.model.display()
                    )
                })?,
            };
            line_chart(&format!("Learning curve: {}", pick.0), "round", &pick.0, &pick.1)
        }
        Plot::Shap => {
            let shap = shap_sample(args, model, b, &required_data(args, model)?)?;
            beeswarm_svg(
                &shap,
                args.class,
                &shap.top_features(TOP_BEESWARM),
                names,
                &beeswarm_title(b, args.class),
            )
        }
        Plot::Dependence(feature) => {
            let f = names
                .iter()
                .position(|n| n == feature)
                .ok_or_else(|| anyhow!("--plot dependence:{feature}: the model has no feature `{feature}`"))?;
            let shap = shap_sample(args, model, b, &required_data(args, model)?)?;
            dependence_svg(&shap, args.class, f, feature, model.categories.get(feature))
        }
        Plot::Tree(i) => {
            if *i >= b.num_trees() {
                bail!(
                    "--plot tree:{i}: the model has {} trees (0..{})",
                    b.num_trees(),
                    b.num_trees()
                );
            }
            draw_tree(b, model, *i)
        }
    }
}

/// The rows of --data (with the --label columns when given); an error without --data.
fn required_data(args: &ReportArgs, model: &LoadedModel) -> Result<Dataset> {
    match &args.data {
        Some(path) => load_data(model, path, args.label.as_deref()),
        None => bail!("SHAP plots need --data FILE (the rows to explain)"),
    }
}

/// `a, b, c`, or `none`.
fn list(items: &[&str]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}

/// Builds the whole HTML report.
fn html_report(args: &ReportArgs, model: &LoadedModel) -> Result<String> {
    let title = format!(
        "Sylvan model report: {}",
        args.model
            .file_name()
            .map_or_else(|| args.model.display().to_string(), |n| n.to_string_lossy().into())
    );
    let data = match &args.data {
        Some(path) => Some(load_data(model, path, args.label.as_deref())?),
        None => None,
    };
    let mut sections = vec![summary_section(args, model, data.as_ref())?];
    let b = match &model.model {
        Model::Booster(b) => b,
        other => {
            let what = kind_of(other);
            for (id, heading) in [
                ("parameters", "Parameters"),
                ("learning-curves", "Learning curves"),
                ("importance", "Feature importance"),
                ("shap", "SHAP summary"),
                ("dependence", "SHAP dependence"),
                ("trees", "Trees"),
            ] {
                let mut s = Section::new(id, heading);
                s.note(&format!(
                    "Not drawn for a {what}: this section describes a single boosted model. Report a member \
                     trained on its own, or see `sylvan inspect` for the ensemble's members and scores."
                ));
                sections.push(s);
            }
            return Ok(page(&title, &sections));
        }
    };
    sections.push(parameters_section(b));
    sections.push(curves_section(b)?);
    sections.push(importance_section(b, &model.features)?);
    let (shap, dependence) = shap_sections(args, model, b, data.as_ref())?;
    sections.push(shap);
    sections.push(dependence);
    sections.push(trees_section(args, model, b)?);
    Ok(page(&title, &sections))
}

/// The summary table: what the model is, and its metrics on --data when a label is given.
fn summary_section(args: &ReportArgs, model: &LoadedModel, data: Option<&Dataset>) -> Result<Section> {
    let mut s = Section::new("summary", "Model summary");
    let mut rows: Vec<Vec<String>> = vec![
        vec!["file".into(), args.model.display().to_string()],
        vec!["kind".into(), kind_of(&model.model).into()],
    ];
    let row = |k: &str, v: String| vec![k.to_string(), v];
    match &model.model {
        Model::Booster(b) => {
            rows.push(row("objective", b.objective_name().into()));
            rows.push(row("boosting rounds", b.num_rounds().to_string()));
            rows.push(row("trees", b.num_trees().to_string()));
            rows.push(row("outputs per row", b.num_groups().to_string()));
            if let Some(i) = b.best_iteration() {
                let score = b.best_score().map(|v| format!(" (score {v})")).unwrap_or_default();
                rows.push(row("best iteration", format!("{i}{score}")));
            }
            let base: Vec<String> = b.base_margin().iter().map(|v| format!("{v:.6}")).collect();
            rows.push(row("base margin", base.join(", ")));
        }
        Model::Bagging(bag) => {
            rows.push(row("objective", bag.base_params().objective.name().into()));
            rows.push(row("members", bag.members().len().to_string()));
            for (i, m) in bag.members().iter().enumerate() {
                rows.push(row(
                    &format!("member {i}"),
                    format!("{} rounds, {} trees", m.num_rounds(), m.num_trees()),
                ));
            }
        }
        Model::Stacking(_) => {}
    }
    let categorical = model.categories.len();
    rows.push(row(
        "features",
        format!("{} ({categorical} with named categories)", model.features.len()),
    ));
    if let Some(label) = trained_label(&model.model) {
        rows.push(row("trained on label", label.into()));
    }
    if let (Some(path), Some(data), Some(_)) = (&args.data, data, &args.label) {
        let scores = model
            .model
            .evaluate(data, &[])
            .with_context(|| format!("cannot evaluate the model on `{}`", path.display()))?;
        for (metric, value) in scores {
            rows.push(row(&format!("{metric} on {}", path.display()), format!("{value:.6}")));
        }
    }
    s.table(&["property", "value"], &rows);
    Ok(s)
}

/// The parameters that differ from their defaults.
fn parameters_section(b: &Booster) -> Section {
    let mut s = Section::new("parameters", "Parameters");
    let rows: Vec<Vec<String>> = changed_params(b.params())
        .into_iter()
        .map(|(k, v)| vec![k, v])
        .collect();
    s.note("Parameters that differ from their defaults (every other one is at its default, as in XGBoost).");
    s.table(&["parameter", "value"], &rows);
    s
}

/// One line of a chart: its name and `(x, y)` points.
type Series = (String, Vec<(f64, f64)>);

/// The recorded evaluation history: per metric, one `(set, [(round, value)])` series per set.
fn learning_curves(b: &Booster) -> Vec<(String, Vec<Series>)> {
    let mut curves: Vec<(String, Vec<Series>)> = Vec::new();
    for report in b.eval_history() {
        // Rounds that were not evaluated (the CLI scores its training set only on the rounds it
        // prints) read back as NaN: they are not points of the curve.
        for (set, metric, value) in report.evals.iter().filter(|e| e.2.is_finite()) {
            let k = match curves.iter().position(|c| &c.0 == metric) {
                Some(k) => k,
                None => {
                    curves.push((metric.clone(), Vec::new()));
                    curves.len() - 1
                }
            };
            let series = &mut curves[k].1;
            let j = match series.iter().position(|s| &s.0 == set) {
                Some(j) => j,
                None => {
                    series.push((set.clone(), Vec::new()));
                    series.len() - 1
                }
            };
            series[j].1.push((report.round as f64, *value));
        }
    }
    curves
}

/// One chart per recorded metric, a line per evaluation set.
fn curves_section(b: &Booster) -> Result<Section> {
    let mut s = Section::new("learning-curves", "Learning curves");
    let curves = learning_curves(b);
    if curves.is_empty() {
        s.note(
            "This model has no evaluation history: it was trained without evaluation sets (train with \
             --valid FILE, or evals in the library), or saved by a build before model format 4.",
        );
    }
    for (metric, series) in &curves {
        s.figure(&line_chart(
            &format!("Learning curve: {metric}"),
            "round",
            metric,
            series,
        )?);
    }
    Ok(s)
}

/// The top features by one importance type, as a bar chart (`None` when no feature is used).
fn importance_chart(b: &Booster, names: &[String], kind: ImportanceType) -> Result<Option<String>> {
    let values = b.feature_importance(kind);
    let mut bars: Vec<(String, f64)> = values
        .iter()
        .enumerate()
        .filter(|(_, v)| **v > 0.0)
        .map(|(j, v)| (names.get(j).cloned().unwrap_or_else(|| format!("f{j}")), *v))
        .collect();
    if bars.is_empty() {
        return Ok(None);
    }
    bars.sort_by(|a, b| b.1.total_cmp(&a.1));
    bars.truncate(TOP_IMPORTANCE);
    let (title, axis) = match kind {
        ImportanceType::Weight => ("Importance: weight (number of splits)", "splits"),
        ImportanceType::Cover => ("Importance: cover (mean hessian sum of the splits)", "cover"),
        _ => ("Importance: gain (mean loss reduction of the splits)", "gain"),
    };
    bar_chart(title, axis, &bars).map(Some)
}

/// Importance bars by gain, weight and cover.
fn importance_section(b: &Booster, names: &[String]) -> Result<Section> {
    let mut s = Section::new("importance", "Feature importance");
    s.note(&format!(
        "The top {TOP_IMPORTANCE} features by each importance type (features never split on are left out)."
    ));
    let mut any = false;
    for kind in [ImportanceType::Gain, ImportanceType::Weight, ImportanceType::Cover] {
        if let Some(svg) = importance_chart(b, names, kind)? {
            s.figure(&svg);
            any = true;
        }
    }
    if !any {
        s.note("The model has no splits (every tree is a single leaf), so no feature has any importance.");
    }
    Ok(s)
}

/// Loads --data for the model (the label columns too when `label` is given).
fn load_data(model: &LoadedModel, data: &Path, label: Option<&str>) -> Result<Dataset> {
    let selection = match label {
        Some(l) => with_labels(ColumnSelection::default(), l)?,
        None => ColumnSelection::default(),
    };
    let loaded = load_for_model(data, &model.features, &model.categories, &selection)
        .with_context(|| format!("cannot read --data `{}`", data.display()))?;
    Ok(loaded.dataset)
}

/// At most `max` rows of `data`, evenly spaced (all of them when it has no more).
fn sample_rows(data: &Dataset, max: usize) -> Result<(Vec<f32>, Dataset)> {
    let n = data.num_rows();
    let nf = data.num_features();
    let m = n.min(max);
    let mut values = Vec::with_capacity(m * nf);
    let mut row = Vec::new();
    for i in 0..m {
        let r = if m == n { i } else { i * n / m };
        data.rows_into(r, r + 1, &mut row);
        values.extend_from_slice(&row);
    }
    let mut sample = Dataset::from_rows(&values, nf)?;
    if let Some(names) = data.feature_names() {
        sample = sample.with_feature_names(names.to_vec())?;
    }
    if data.has_categorical() {
        sample = sample.with_feature_types(data.feature_types())?;
    }
    Ok((values, sample))
}

/// The SHAP values of (a sample of) `data`, read from --data.
fn shap_sample(args: &ReportArgs, model: &LoadedModel, b: &Booster, data: &Dataset) -> Result<ShapSample> {
    let path = args.data.as_deref().unwrap_or(Path::new("--data"));
    if args.class >= b.num_groups() {
        bail!(
            "--class {}: the model has {} output(s) (0..{})",
            args.class,
            b.num_groups(),
            b.num_groups()
        );
    }
    let (values, sample) = sample_rows(data, args.max_rows)?;
    let contributions = model
        .model
        .explain(&sample, PredictOutput::Contributions)
        .with_context(|| format!("cannot compute SHAP values for `{}`", path.display()))?;
    ShapSample::new(b.num_features(), b.num_groups(), contributions.values, values)
}

/// The beeswarm's title: which output it shows for multi-output models.
fn beeswarm_title(b: &Booster, class: usize) -> String {
    if b.num_groups() > 1 {
        format!("SHAP summary (output {class} of {})", b.num_groups())
    } else {
        "SHAP summary".to_string()
    }
}

/// The SHAP sections: mean |SHAP| bars and the beeswarm; dependence plots of the top features.
fn shap_sections(
    args: &ReportArgs,
    model: &LoadedModel,
    b: &Booster,
    data: Option<&Dataset>,
) -> Result<(Section, Section)> {
    let mut summary = Section::new("shap", "SHAP summary");
    let mut dependence = Section::new("dependence", "SHAP dependence");
    let Some(data) = data else {
        let note = "No --data given: run `sylvan report --data FILE` to explain rows of a data file (no label needed).";
        summary.note(note);
        dependence.note(note);
        return Ok((summary, dependence));
    };
    let shap = shap_sample(args, model, b, data)?;
    let names = &model.features;
    let multi = b.num_groups() > 1;
    summary.note(&format!(
        "Exact TreeSHAP values (margin space) of {} rows{}.{}",
        shap.num_rows,
        if shap.num_rows == args.max_rows {
            " (sampled evenly; see --max-rows)"
        } else {
            ""
        },
        if multi {
            format!(
                " The model has {} outputs: the bars sum each output's mean |SHAP|; the beeswarm and the \
                 dependence plots show output {} (--class).",
                b.num_groups(),
                args.class
            )
        } else {
            String::new()
        }
    ));
    let mean = shap.mean_abs();
    let top = shap.top_features(TOP_IMPORTANCE);
    let bars: Vec<(String, f64)> = top.iter().map(|f| (names[*f].clone(), mean[*f])).collect();
    summary.figure(&bar_chart("Mean |SHAP value|", "mean |SHAP| (margin)", &bars)?);
    let swarm: Vec<usize> = top.iter().copied().take(TOP_BEESWARM).collect();
    summary.figure(&beeswarm_svg(
        &shap,
        args.class,
        &swarm,
        names,
        &beeswarm_title(b, args.class),
    )?);
    dependence.note(&format!(
        "The top {TOP_DEPENDENCE} features by mean |SHAP|: value against SHAP value, one dot per row."
    ));
    for f in top.iter().take(TOP_DEPENDENCE) {
        let name = &names[*f];
        dependence.figure(&dependence_svg(
            &shap,
            args.class,
            *f,
            name,
            model.categories.get(name),
        )?);
    }
    Ok((summary, dependence))
}

/// Draws tree `i` with the model's feature and category names.
fn draw_tree(b: &Booster, model: &LoadedModel, i: usize) -> Result<String> {
    let tree = &b.trees()[i];
    let text = |node: usize| {
        let test = split_test(tree, node, &model.features, &model.categories, SHOWN_CATEGORIES);
        let missing = if tree.default_left[node] { "yes" } else { "no" };
        vec![
            test,
            format!("missing → {missing}"),
            format!("gain {:.3}", tree.gain[node]),
        ]
    };
    let group = if b.num_groups() > 1 {
        format!(", output {}", b.tree_group(i))
    } else {
        String::new()
    };
    tree_svg(tree, &format!("Tree {i}{group}"), &text)
}

/// Drawings of the first --trees trees.
fn trees_section(args: &ReportArgs, model: &LoadedModel, b: &Booster) -> Result<Section> {
    let mut s = Section::new("trees", "Trees");
    let n = args.trees.min(b.num_trees());
    s.note(&format!(
        "The first {n} of {} trees. Split nodes show their test (`yes` goes left), where missing values go \
         and the gain; leaves their value (margin) and cover. Deep trees are cut where they stop fitting.",
        b.num_trees()
    ));
    for i in 0..n {
        s.figure(&draw_tree(b, model, i)?);
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plot_specs_parse() {
        assert_eq!(Plot::parse("importance").unwrap(), Plot::Importance);
        assert_eq!(Plot::parse("metric").unwrap(), Plot::Metric(None));
        assert_eq!(Plot::parse("metric:auc").unwrap(), Plot::Metric(Some("auc".into())));
        assert_eq!(Plot::parse("dependence:a:b").unwrap(), Plot::Dependence("a:b".into()));
        assert_eq!(Plot::parse("tree:2").unwrap(), Plot::Tree(2));
        for bad in ["tree:x", "tree", "pie", "dependence:", "importance:gain"] {
            assert!(Plot::parse(bad).unwrap_err().to_string().contains("--plot"), "{bad}");
        }
    }

    #[test]
    fn samples_rows_evenly() {
        let data = Dataset::from_columns(vec![(0..10).map(|i| i as f32).collect()]).unwrap();
        let (values, sample) = sample_rows(&data, 4).unwrap();
        assert_eq!(values, vec![0.0, 2.0, 5.0, 7.0]);
        assert_eq!(sample.num_rows(), 4);
        assert_eq!(sample_rows(&data, 100).unwrap().0.len(), 10);
    }
}
