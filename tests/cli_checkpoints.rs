//! `sylvan train --checkpoint-every N` / `--resume`, and Ctrl-C / SIGTERM: a run killed with
//! SIGKILL at random rounds (several times) and resumed ends with the uninterrupted run's model,
//! byte for byte, and the model path never holds a partial file; a signal stops the run after the
//! round, writes a checkpoint, says how to resume and exits with 128 + the signal.

mod cli_support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cli_support::{fails_cleanly, ok, s, sylvan, temp_dir, Lcg};

/// A CSV of `n` rows: six numbers (some missing), a string category and a binary label.
fn write_data(path: &Path, n: usize) {
    let mut rng = Lcg(17);
    let mut text = String::from("a,b,c,d,e,f,city,label\n");
    let cities = ["Oslo", "Lima", "Pune", "Kobe", "Nice"];
    for _ in 0..n {
        let x: Vec<f64> = (0..6).map(|_| rng.next() * 4.0 - 2.0).collect();
        let city = cities[(rng.next() * 5.0) as usize % 5];
        let y = (x[0] + x[1] * x[2] + if city == "Lima" { 1.0 } else { 0.0 } + rng.next() > 0.7) as u8;
        let cell = |v: f64, k: usize| {
            if k == 3 && v > 1.5 {
                String::new()
            } else {
                format!("{v:.4}")
            }
        };
        let cells: Vec<String> = x.iter().enumerate().map(|(k, v)| cell(*v, k)).collect();
        text.push_str(&format!("{},{city},{y}\n", cells.join(",")));
    }
    std::fs::write(path, text).unwrap();
}

/// The arguments of the run: `rounds` rounds with row sampling and a validation-free default.
fn train_args(data: &Path, model: &Path, rounds: usize) -> Vec<String> {
    [
        "train",
        "--data",
        s(data),
        "--label",
        "label",
        "--model-out",
        s(model),
        "--quiet",
        "--set",
        "objective=binary:logistic",
        "--set",
        &format!("num_round={rounds}"),
        "--set",
        "max_depth=6",
        "--set",
        "subsample=0.8",
        "--set",
        "colsample_bytree=0.7",
        "--set",
        "eta=0.2",
    ]
    .iter()
    .map(|a| a.to_string())
    .collect()
}

/// Runs the binary to the end.
fn run(args: &[String]) -> std::process::Output {
    sylvan(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

fn spawn(args: &[String]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_sylvan"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts")
}

/// The checkpoints in `dir`, by name.
fn checkpoints(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    found.retain(|p| p.extension().is_some_and(|e| e == "sylvan"));
    found.sort();
    found
}

/// Waits until `dir` holds a checkpoint of at least `rounds` rounds (or the process ends).
fn wait_for_round(child: &mut Child, dir: &Path, rounds: usize) {
    let name = format!("checkpoint-{rounds:08}.sylvan");
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(120) {
        if checkpoints(dir)
            .iter()
            .any(|p| p.file_name().unwrap().to_string_lossy().as_ref() >= name.as_str())
        {
            return;
        }
        if child.try_wait().unwrap().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    panic!("no checkpoint of {rounds} rounds in {}", dir.display());
}

fn with(mut args: Vec<String>, extra: &[&str]) -> Vec<String> {
    args.extend(extra.iter().map(|a| a.to_string()));
    args
}

#[test]
fn killed_runs_resume_to_the_uninterrupted_model() {
    let dir = temp_dir("kill");
    let data = dir.join("train.csv");
    write_data(&data, 20_000);
    let rounds = 40;
    let whole = dir.join("whole.sylvan");
    ok(run(&train_args(&data, &whole, rounds)));
    let expected = std::fs::read(&whole).unwrap();
    let mut rng = Lcg(5);
    for attempt in 0..3 {
        let model = dir.join(format!("m{attempt}.sylvan"));
        let ckpt = dir.join(format!("ckpt{attempt}"));
        let base = with(
            train_args(&data, &model, rounds),
            &["--checkpoint-every", "1", "--checkpoint-dir", s(&ckpt)],
        );
        // Two kills at random rounds, each followed by a resume that is killed again or finishes.
        let first = 2 + (rng.next() * 15.0) as usize;
        let second = first + 2 + (rng.next() * 15.0) as usize;
        let mut args = base.clone();
        for kill_at in [first, second] {
            let mut child = spawn(&args);
            wait_for_round(&mut child, &ckpt, kill_at);
            let _ = child.kill();
            let _ = child.wait();
            assert!(!model.exists(), "a killed run left a model at {}", model.display());
            args = with(base.clone(), &["--resume"]);
        }
        ok(run(&args));
        assert!(
            std::fs::read(&model).unwrap() == expected,
            "attempt {attempt}: killed at rounds {first} and {second}, resumed: not the uninterrupted model"
        );
        assert!(
            checkpoints(&ckpt).len() <= 2,
            "more checkpoints kept than --checkpoint-keep"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_signal_stops_after_the_round_with_a_checkpoint() {
    let dir = temp_dir("signal");
    let data = dir.join("train.csv");
    write_data(&data, 20_000);
    let rounds = 400;
    let whole = dir.join("whole.sylvan");
    ok(run(&train_args(&data, &whole, rounds)));
    for (signal, status, name) in [(libc::SIGINT, 130, "SIGINT"), (libc::SIGTERM, 143, "SIGTERM")] {
        let model = dir.join(format!("{name}.sylvan"));
        // The default checkpoint folder is `<MODEL>.checkpoints`; --checkpoint-every only shows
        // this test when training has started.
        let ckpt = dir.join(format!("{name}.sylvan.checkpoints"));
        let base = train_args(&data, &model, rounds);
        let mut child = spawn(&with(base.clone(), &["--checkpoint-every", "5"]));
        wait_for_round(&mut child, &ckpt, 5);
        // SAFETY: sends a signal to the child process we started.
        assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(status), "{name}: {err}");
        assert!(
            err.contains(&format!("interrupted by {name}")) && err.contains("--resume"),
            "{err}"
        );
        assert!(!model.exists(), "{name}: the model was written");
        let saved = checkpoints(&ckpt);
        let last = saved.last().expect("a checkpoint");
        assert!(err.contains(s(last)), "{err}");
        let done: usize = last.file_stem().unwrap().to_str().unwrap()[11..].parse().unwrap();
        assert!(done < rounds, "{name}: the run did not stop early ({done} rounds)");
        ok(run(&with(base, &["--resume"])));
        assert!(
            std::fs::read(&model).unwrap() == std::fs::read(&whole).unwrap(),
            "{name}: resumed, not the uninterrupted model"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn resume_without_a_checkpoint_and_ensembles_are_refused() {
    let dir = temp_dir("refused");
    let data = dir.join("train.csv");
    write_data(&data, 300);
    let model = dir.join("m.sylvan");
    let err = fails_cleanly(run(&with(train_args(&data, &model, 3), &["--resume"])));
    assert!(
        err.contains("--resume") && err.contains("m.sylvan.checkpoints"),
        "{err}"
    );
    let err = fails_cleanly(sylvan(&[
        "train",
        "--data",
        s(&data),
        "--label",
        "label",
        "--model-out",
        s(&model),
        "--checkpoint-every",
        "0",
    ]));
    assert!(err.contains("checkpoint-every"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
