//! Checkpoints of a training run: the model so far, written atomically every few rounds into a
//! folder that keeps the newest few, and found again to resume the run
//! ([`crate::TrainOptions::resume`]) to the model an uninterrupted run gives, bit for bit.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::model::booster::Booster;

/// File names of checkpoints: `checkpoint-<rounds>.sylvan`, `<rounds>` the rounds in the model,
/// zero-padded so that names sort as rounds do.
const PREFIX: &str = "checkpoint-";
/// The extension of checkpoint files (the compact binary model form).
const EXTENSION: &str = "sylvan";

/// Where and how often a run writes checkpoints.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Checkpoints {
    /// The folder (created when missing).
    pub dir: PathBuf,
    /// A checkpoint after every `every` rounds (at least 1).
    pub every: usize,
    /// How many of the newest checkpoints the folder keeps (at least 1); older ones are removed
    /// once a newer one is written.
    pub keep: usize,
    /// Attributes every checkpoint carries (e.g. the command line's category codes), as
    /// [`Booster::set_attribute`] sets them.
    pub attributes: Vec<(String, String)>,
}

impl Checkpoints {
    /// Checkpoints into `dir` every `every` rounds, keeping the newest `keep`.
    pub fn new(dir: impl Into<PathBuf>, every: usize, keep: usize) -> Checkpoints {
        Checkpoints {
            dir: dir.into(),
            every: every.max(1),
            keep: keep.max(1),
            attributes: Vec::new(),
        }
    }

    /// Whether the model is due after `rounds` rounds in all.
    pub(crate) fn due(&self, rounds: usize) -> bool {
        rounds > 0 && rounds.is_multiple_of(self.every)
    }

    /// The file of the checkpoint of `rounds` rounds.
    pub fn path_for(&self, rounds: usize) -> PathBuf {
        self.dir.join(format!("{PREFIX}{rounds:08}.{EXTENSION}"))
    }

    /// Writes `model` (of `model.num_rounds()` rounds) atomically with the attributes, then
    /// removes all but the newest [`Checkpoints::keep`] checkpoints. Returns the file written.
    pub fn write(&self, mut model: Booster) -> Result<PathBuf> {
        for (key, value) in &self.attributes {
            model.set_attribute(key.as_str(), value.as_str());
        }
        std::fs::create_dir_all(&self.dir).map_err(|e| Error::Io {
            path: self.dir.clone(),
            source: e,
        })?;
        let path = self.path_for(model.num_rounds());
        model.save(&path)?;
        let all = list(&self.dir)?;
        for (_, old) in all.iter().rev().skip(self.keep) {
            std::fs::remove_file(old).map_err(|e| Error::Io {
                path: old.clone(),
                source: e,
            })?;
        }
        Ok(path)
    }
}

/// The checkpoints in `dir` as `(rounds, path)`, fewest rounds first; none when `dir` does not
/// exist.
fn list(dir: &Path) -> Result<Vec<(usize, PathBuf)>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(Error::Io {
                path: dir.to_path_buf(),
                source: e,
            })
        }
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::Io {
            path: dir.to_path_buf(),
            source: e,
        })?;
        let name = entry.file_name();
        let Some(rounds) = name
            .to_str()
            .and_then(|n| n.strip_prefix(PREFIX))
            .and_then(|n| n.strip_suffix(&format!(".{EXTENSION}")))
            .and_then(|n| n.parse::<usize>().ok())
        else {
            continue;
        };
        found.push((rounds, entry.path()));
    }
    found.sort();
    Ok(found)
}

/// The newest checkpoint in `dir` (most rounds), or `None` when it holds none.
pub fn latest_checkpoint(dir: &Path) -> Result<Option<PathBuf>> {
    Ok(list(dir)?.pop().map(|(_, p)| p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Dataset, Params};

    #[test]
    fn keeps_the_newest_and_finds_the_latest() {
        let dir = std::env::temp_dir().join(format!("sylvan-ckpt-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(latest_checkpoint(&dir).unwrap(), None);
        let x: Vec<f32> = (0..50).map(|i| i as f32).collect();
        let d = Dataset::from_columns(vec![x.clone()]).unwrap().with_labels(x).unwrap();
        let c = Checkpoints::new(&dir, 2, 2);
        assert!(!c.due(0) && !c.due(3) && c.due(4));
        for rounds in 1..=4 {
            let p = Params {
                num_round: rounds,
                ..Default::default()
            };
            c.write(Booster::train(&p, &d, &[]).unwrap()).unwrap();
        }
        std::fs::write(dir.join("notes.txt"), "not a checkpoint").unwrap();
        let names: Vec<usize> = list(&dir).unwrap().into_iter().map(|(r, _)| r).collect();
        assert_eq!(names, [3, 4]);
        assert_eq!(latest_checkpoint(&dir).unwrap(), Some(c.path_for(4)));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
