//! Opens a `sylvan report` page in a real headless browser (Chromium) and takes a screenshot: the
//! page must render without errors in the browser console. Skipped, with a message, when no
//! `chromium` (or `chromium-browser`) is on PATH, unless `SYLVAN_REQUIRE_BROWSER=1` (CI sets it),
//! which makes a missing browser a failure.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The Chromium on PATH, if any.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|p| p.is_file())
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs the sylvan binary, asserting success.
fn sylvan(args: &[&str]) {
    let o = Command::new(env!("CARGO_BIN_EXE_sylvan")).args(args).output().unwrap();
    assert!(
        o.status.success(),
        "sylvan {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The console errors in Chromium's log (`CONSOLE(line)] "message"` lines at error level, or
/// uncaught exceptions).
fn console_errors(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| l.contains("CONSOLE(") && (l.contains("ERROR") || l.contains("Uncaught")))
        .collect()
}

#[test]
fn console_errors_are_found_in_a_log() {
    let log = "[1:2:ERROR:dbus/bus.cc:405] Failed to connect to the bus\n\
               [3:4:INFO:CONSOLE(7)] \"Uncaught ReferenceError: x is not defined\", source: file:///r.html (7)\n\
               [3:4:INFO:CONSOLE(9)] \"hello\", source: file:///r.html (9)";
    assert_eq!(console_errors(log).len(), 1);
}

#[test]
fn the_report_renders_in_headless_chromium() {
    let Some(browser) = chromium() else {
        if std::env::var("SYLVAN_REQUIRE_BROWSER").as_deref() == Ok("1") {
            panic!(
                "SYLVAN_REQUIRE_BROWSER=1 but no chromium or chromium-browser is on PATH (apt-get install chromium)"
            );
        }
        println!(
            "skipped: no chromium or chromium-browser on PATH (set SYLVAN_REQUIRE_BROWSER=1 to make this a failure)"
        );
        return;
    };
    let dir = std::env::temp_dir().join(format!("sylvan-report-browser-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.join("d.csv");
    let mut text = String::from("x0,x1,city,y\n");
    let cities = ["Oslo", "Paris", "Rome", "Lima"];
    for i in 0..400 {
        let (a, b) = ((i * 37 % 101) as f32 / 100.0, (i * 53 % 97) as f32 / 96.0);
        let city = cities[i % 4];
        let y = (a + 0.3 * b + if city == "Rome" { 0.5 } else { 0.0 } > 0.8) as u8;
        text.push_str(&format!("{a},{b},{city},{y}\n"));
    }
    std::fs::write(&data, text).unwrap();
    let (model, html, png) = (dir.join("m.json"), dir.join("report.html"), dir.join("shot.png"));
    sylvan(&[
        "train",
        "--data",
        s(&data),
        "--label",
        "y",
        "--set",
        "objective=binary:logistic",
        "--set",
        "num_round=6",
        "--model-out",
        s(&model),
        "-q",
    ]);
    sylvan(&[
        "report",
        "--model",
        s(&model),
        "--data",
        s(&data),
        "--label",
        "y",
        "--output",
        s(&html),
    ]);
    let profile = dir.join("profile");
    let o = Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            &format!("--user-data-dir={}", s(&profile)),
            &format!("--screenshot={}", s(&png)),
            "--window-size=1200,3000",
            "--enable-logging=stderr",
            "--v=0",
            &format!("file://{}", s(&html)),
        ])
        .output()
        .expect("chromium runs");
    let log = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "chromium failed: {log}");
    let shot = std::fs::read(&png).unwrap_or_else(|e| panic!("no screenshot {}: {e}\n{log}", png.display()));
    assert!(shot.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    // A blank 1200x3000 page compresses to a few kilobytes; charts and text take far more.
    assert!(shot.len() > 30_000, "screenshot of {} bytes looks empty", shot.len());
    let errors = console_errors(&log);
    assert!(errors.is_empty(), "console errors: {errors:?}");
}
