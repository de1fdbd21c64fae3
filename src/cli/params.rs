//! Training parameters from `--config FILE.toml` and `--set key=value` (later settings win).

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use sylvan_booster::Params;

/// Reads the TOML file (if any), then applies each `key=value` in order, then validates.
pub fn build(config: Option<&Path>, sets: &[String]) -> Result<Params> {
    let mut params = match config {
        Some(path) => from_toml(path)?,
        None => Params::default(),
    };
    params.apply(assignments(sets)?)?;
    Ok(params)
}

/// Splits each `--set key=value` into its trimmed key and value.
pub fn assignments(sets: &[String]) -> Result<Vec<(&str, &str)>> {
    sets.iter()
        .map(|s| match s.split_once('=') {
            Some((key, value)) => Ok((key.trim(), value.trim())),
            None => bail!("--set expects key=value, got `{s}`"),
        })
        .collect()
}

/// Parses a TOML file of XGBoost parameter names; the error names the file, line and parameter.
fn from_toml(path: &Path) -> Result<Params> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read config `{}`", path.display()))?;
    toml::from_str::<Params>(&text).map_err(|e| {
        let line = e
            .span()
            .and_then(|s| text.get(..s.start))
            .map(|before| before.matches('\n').count() + 1);
        let key = line
            .and_then(|l| text.lines().nth(l - 1))
            .and_then(|l| l.split_once('='))
            .map(|(k, _)| k.trim().trim_matches('"'))
            .filter(|k| !k.is_empty() && !e.message().contains(&format!("`{k}`")));
        let at = match (line, key) {
            (Some(l), Some(k)) => format!(", line {l}, parameter `{k}`"),
            (Some(l), None) => format!(", line {l}"),
            _ => String::new(),
        };
        anyhow!("config `{}`{at}: {}", path.display(), e.message().trim())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_settings_win() {
        let dir = std::env::temp_dir().join(format!("sylvan-params-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cfg = dir.join("p.toml");
        std::fs::write(&cfg, "eta = 0.5\nmax_depth = 3\n").unwrap();
        let p = build(Some(&cfg), &["eta=0.2".into(), "eta=0.1".into()]).unwrap();
        assert_eq!(p.eta, 0.1);
        assert_eq!(p.max_depth, 3);
        std::fs::write(&cfg, "eta = 0.5\n\netaa = 3\n").unwrap();
        let e = build(Some(&cfg), &[]).unwrap_err().to_string();
        assert!(e.contains("etaa") && e.contains("line 3"), "{e}");
        assert!(build(None, &["eta".into()]).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
