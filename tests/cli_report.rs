//! End-to-end tests of `sylvan report`: HTML reports of a binary, a multiclass and a categorical
//! model trained through the CLI (every section present, every SVG well-formed, no external URL),
//! single SVG plots, and the errors of bad options.

use std::path::{Path, PathBuf};

use sylvan::Booster;

mod cli_support;
use cli_support::{fails, ok, s, sylvan, temp_dir, Lcg};
/// Which model a test trains.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Binary,
    Multiclass,
    Categorical,
}

/// Writes a CSV for `kind` (600 rows: numbers `x0`, `x1` with some missing, a string column `city`
/// for the categorical kind; label `y`).
fn write_csv(path: &Path, kind: Kind) {
    let mut rng = Lcg(7);
    let cities = ["Oslo", "Paris", "Rome", "Bern", "Lima", "Kyiv"];
    let mut text = String::from(if kind == Kind::Categorical {
        "x0,x1,city,y\n"
    } else {
        "x0,x1,y\n"
    });
    for i in 0..600 {
        let (a, b) = (rng.next(), rng.next());
        let city = cities[i % cities.len()];
        let noise = rng.next() * 0.3;
        let y = match kind {
            Kind::Binary => (a + 0.5 * b + noise > 0.9) as u8,
            Kind::Multiclass => ((a * 3.0).floor() as u8).min(2),
            Kind::Categorical => (a + if matches!(city, "Rome" | "Lima") { 0.6 } else { 0.0 } + noise > 0.9) as u8,
        };
        let b_text = if i % 9 == 0 { String::new() } else { format!("{b:.4}") };
        if kind == Kind::Categorical {
            text.push_str(&format!("{a:.4},{b_text},{city},{y}\n"));
        } else {
            text.push_str(&format!("{a:.4},{b_text},{y}\n"));
        }
    }
    std::fs::write(path, text).unwrap();
}

/// Trains a model of `kind` through the CLI (with a validation set, so it records a history).
fn train(dir: &Path, kind: Kind, model: &str, extra: &[&str]) -> (PathBuf, PathBuf) {
    let data = dir.join("data.csv");
    write_csv(&data, kind);
    let out = dir.join(model);
    let objective = match kind {
        Kind::Multiclass => "objective=multi:softprob",
        _ => "objective=binary:logistic",
    };
    let mut args = vec![
        "train",
        "--data",
        s(&data),
        "--label",
        "y",
        "--set",
        objective,
        "--set",
        "num_round=8",
        "--set",
        "max_depth=4",
        "--model-out",
        s(&out),
        "-q",
    ];
    if kind == Kind::Multiclass {
        args.extend(["--set", "num_class=3"]);
    }
    args.extend(extra);
    ok(sylvan(&args));
    (data, out)
}

/// Checks that `xml` is well-formed enough for a browser's XML parser: every tag closed in order,
/// attributes quoted, `&` only in entities.
fn assert_well_formed(xml: &str, what: &str) {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find('<') {
        let text = &rest[..start];
        check_entities(text, what);
        let end = rest[start..]
            .find('>')
            .unwrap_or_else(|| panic!("{what}: unclosed tag"))
            + start;
        let tag = &rest[start + 1..end];
        rest = &rest[end + 1..];
        if tag.starts_with('!') || tag.starts_with('?') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack
                .pop()
                .unwrap_or_else(|| panic!("{what}: </{name}> closes nothing"));
            assert_eq!(open, name.trim(), "{what}: <{open}> closed by </{name}>");
            continue;
        }
        let name: String = tag.chars().take_while(|c| !c.is_whitespace() && *c != '/').collect();
        assert_eq!(tag.matches('"').count() % 2, 0, "{what}: unbalanced quotes in <{tag}>");
        check_entities(tag, what);
        let void = ["meta", "br", "hr", "img", "link", "input"].contains(&name.as_str());
        if !tag.ends_with('/') && !void {
            stack.push(name);
        }
    }
    check_entities(rest, what);
    assert!(stack.is_empty(), "{what}: unclosed {stack:?}");
}

/// Every `&` starts an entity.
fn check_entities(text: &str, what: &str) {
    for (i, _) in text.match_indices('&') {
        let after = &text[i + 1..];
        let entity = after.split(';').next().unwrap_or("");
        assert!(
            after.contains(';')
                && !entity.is_empty()
                && entity.len() <= 8
                && entity.chars().all(|c| c.is_ascii_alphanumeric() || c == '#'),
            "{what}: bare & in {:?}",
            &text[i..(i + 20).min(text.len())]
        );
    }
}

/// The inline SVGs of a page.
fn svgs(html: &str) -> Vec<&str> {
    html.match_indices("<svg")
        .map(|(i, _)| {
            let end = html[i..].find("</svg>").expect("closed svg") + i + "</svg>".len();
            &html[i..end]
        })
        .collect()
}

/// The checks every full report passes.
fn check_report(html: &str, name: &str) {
    for id in [
        "summary",
        "parameters",
        "learning-curves",
        "importance",
        "shap",
        "dependence",
        "trees",
    ] {
        assert!(
            html.contains(&format!("<section id=\"{id}\">")),
            "{name}: no section {id}"
        );
    }
    for heading in [
        "Model summary",
        "Parameters",
        "Learning curves",
        "Feature importance",
        "SHAP summary",
        "SHAP dependence",
        "Trees",
    ] {
        assert!(
            html.contains(&format!("<h2>{heading}</h2>")),
            "{name}: no heading {heading}"
        );
    }
    for marker in [
        "Learning curve: ",
        "Importance: gain",
        "Importance: weight",
        "Importance: cover",
        "Mean |SHAP value|",
        "Dependence: ",
        "Tree 0",
        "Tree 2",
    ] {
        assert!(html.contains(marker), "{name}: no {marker}");
    }
    assert_well_formed(html, name);
    let figures = svgs(html);
    assert!(figures.len() >= 1 + 3 + 2 + 2 + 3, "{name}: {} figures", figures.len());
    for (i, svg) in figures.iter().enumerate() {
        assert_well_formed(svg, &format!("{name} svg {i}"));
    }
    // Self-contained: no URL but the SVG namespace, no script.
    let stripped = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    assert!(
        !stripped.contains("http://") && !stripped.contains("https://"),
        "{name}: external URL"
    );
    assert!(!html.contains("<script"), "{name}: a script");
}

#[test]
fn reports_a_binary_model_and_saves_its_history() {
    let dir = temp_dir("binary");
    let valid = dir.join("valid.csv");
    write_csv(&valid, Kind::Binary);
    let (data, model) = train(
        &dir,
        Kind::Binary,
        "m.sylvan",
        &["--valid", s(&valid), "--set", "eval_metric=logloss,auc"],
    );
    // The binary model file keeps the evaluation history.
    let loaded = Booster::load(&model).unwrap();
    assert_eq!(loaded.eval_history().len(), 8);
    assert_eq!(loaded.eval_history()[0].evals.len(), 2);
    let html = dir.join("r.html");
    ok(sylvan(&[
        "report",
        "--model",
        s(&model),
        "--data",
        s(&data),
        "--label",
        "y",
        "--output",
        s(&html),
    ]));
    let text = std::fs::read_to_string(&html).unwrap();
    check_report(&text, "binary");
    assert!(text.contains("Learning curve: logloss") && text.contains("Learning curve: auc"));
    assert!(text.contains("logloss on "), "metrics on --data");
    assert!(text.contains("x0 &lt; "), "threshold splits drawn");
}

#[test]
fn reports_a_multiclass_model() {
    let dir = temp_dir("multiclass");
    let (data, model) = train(&dir, Kind::Multiclass, "m.json", &[]);
    let html = dir.join("r.html");
    ok(sylvan(&[
        "report",
        "--model",
        s(&model),
        "--data",
        s(&data),
        "--output",
        s(&html),
        "--class",
        "2",
        "--trees",
        "4",
    ]));
    let text = std::fs::read_to_string(&html).unwrap();
    check_report(&text, "multiclass");
    assert!(text.contains("output 2 of 3"), "the beeswarm names its class");
    assert!(text.contains("Tree 3, output 0"), "trees name their class");
    // The CLI scores the training set by default: a history named `train`.
    assert!(text.contains("Learning curve: mlogloss"));
    let e = fails(sylvan(&[
        "report",
        "--model",
        s(&model),
        "--data",
        s(&data),
        "--class",
        "3",
    ]));
    assert!(e.contains("--class 3"), "{e}");
}

#[test]
fn reports_a_categorical_model_and_single_plots() {
    let dir = temp_dir("categorical");
    let (data, model) = train(&dir, Kind::Categorical, "m.json", &["--set", "max_cat_to_onehot=1"]);
    let html = dir.join("r.html");
    ok(sylvan(&[
        "report",
        "--model",
        s(&model),
        "--data",
        s(&data),
        "--output",
        s(&html),
        "--max-rows",
        "250",
    ]));
    let text = std::fs::read_to_string(&html).unwrap();
    check_report(&text, "categorical");
    assert!(text.contains("city in {"), "category sets drawn");
    assert!(text.contains("of 250 rows"), "--max-rows samples");
    for plot in [
        "importance",
        "metric",
        "metric:logloss",
        "shap",
        "dependence:city",
        "dependence:x0",
        "tree:1",
    ] {
        let out = dir.join(format!("{}.svg", plot.replace(':', "_")));
        ok(sylvan(&[
            "report",
            "--model",
            s(&model),
            "--data",
            s(&data),
            "--format",
            "svg",
            "--plot",
            plot,
            "--output",
            s(&out),
        ]));
        let svg = std::fs::read_to_string(&out).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{plot}");
        assert_well_formed(&svg, plot);
    }
}

#[test]
fn models_without_history_or_data_say_so_and_errors_name_the_option() {
    let dir = temp_dir("errors");
    let (data, model) = train(&dir, Kind::Binary, "m.json", &["--no-eval"]);
    let html = dir.join("r.html");
    ok(sylvan(&["report", "--model", s(&model), "--output", s(&html)]));
    let text = std::fs::read_to_string(&html).unwrap();
    assert!(text.contains("no evaluation history"), "a note for the missing history");
    assert!(text.contains("No --data given"), "a note for the missing data");
    assert_well_formed(&text, "no history");
    let m = s(&model);
    let cases: &[(&[&str], &str)] = &[
        (&["--format", "svg"], "--plot"),
        (&["--format", "svg", "--plot", "pie"], "--plot `pie`"),
        (&["--format", "svg", "--plot", "tree:99"], "tree:99"),
        (&["--format", "svg", "--plot", "metric"], "no evaluation history"),
        (&["--format", "svg", "--plot", "shap"], "--data"),
        (
            &["--format", "svg", "--plot", "dependence:nope", "--data", s(&data)],
            "`nope`",
        ),
        (&["--data", "/no/such/file.csv"], "/no/such/file.csv"),
        (&["--plot", "importance"], "--format svg"),
        (&["--max-rows", "0"], "--max-rows"),
        (&["--output", "/no/such/dir/r.html"], "/no/such/dir/r.html"),
    ];
    for (extra, expected) in cases {
        let mut args = vec!["report", "--model", m];
        args.extend(*extra);
        let e = fails(sylvan(&args));
        assert!(e.contains(expected), "{extra:?}: {e}");
    }
    let e = fails(sylvan(&["report", "--model", s(&dir.join("missing.json"))]));
    assert!(e.contains("missing.json"), "{e}");
}
