//! How much memory this process may still allocate before the kernel refuses it or the OOM killer
//! ends it: the tightest of the address-space limit (`ulimit -v`), the memory cgroup's limit
//! (containers, systemd units, `docker --memory`) and the machine's available memory. Read from
//! Linux's `/proc` and `/sys/fs/cgroup` files; elsewhere nothing is known and nothing is refused.

use std::fmt;
use std::path::{Path, PathBuf};

/// Memory this process may still allocate, and the limit that bounds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvailableMemory {
    /// Bytes that may still be allocated.
    pub bytes: u64,
    /// The limit that bounds it, in words (e.g. "the address-space limit (ulimit -v) of 1.00 GB,
    /// 0.13 GB of it in use").
    pub bound: String,
}

impl fmt::Display for AvailableMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} available under {}", format_bytes(self.bytes), self.bound)
    }
}

/// What this process may still allocate, or `None` when no limit could be read (not Linux).
pub fn available_memory() -> Option<AvailableMemory> {
    let read = |p: &str| std::fs::read_to_string(p).ok();
    let mut bounds = Vec::new();
    if let (Some(limits), Some(status)) = (read("/proc/self/limits"), read("/proc/self/status")) {
        bounds.extend(address_space_room(&limits, &status));
    }
    if let Some(cgroups) = read("/proc/self/cgroup") {
        bounds.extend(cgroup_room(&cgroups, Path::new("/sys/fs/cgroup")));
    }
    if let Some(meminfo) = read("/proc/meminfo") {
        bounds.extend(machine_room(&meminfo));
    }
    bounds.into_iter().min_by_key(|b| b.bytes)
}

/// A byte count for people: "812.4 MB", "3.21 GB" (powers of 1000, as `free -h --si`).
pub fn format_bytes(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1e9 {
        format!("{:.2} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else if b >= 1e3 {
        format!("{:.1} kB", b / 1e3)
    } else {
        format!("{bytes} B")
    }
}

/// The room under the soft address-space limit (`Max address space` of `/proc/self/limits`) left
/// by the virtual memory already mapped (`VmSize` of `/proc/self/status`).
fn address_space_room(limits: &str, status: &str) -> Option<AvailableMemory> {
    let line = limits.lines().find(|l| l.starts_with("Max address space"))?;
    let soft: u64 = line["Max address space".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let used = status_kib(status, "VmSize:")? * 1024;
    Some(AvailableMemory {
        bytes: soft.saturating_sub(used),
        bound: format!(
            "the address-space limit (ulimit -v) of {}, {} of it mapped",
            format_bytes(soft),
            format_bytes(used)
        ),
    })
}

/// A `kB` field of `/proc/self/status` or `/proc/meminfo`.
fn status_kib(text: &str, field: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(field))?;
    line[field.len()..].split_whitespace().next()?.parse().ok()
}

/// Limits at or above this many bytes mean "no limit" (cgroup v1 writes 2^63 rounded to a page).
const UNLIMITED: u64 = 1 << 60;

/// The room under the memory cgroup's limit: cgroup v2 (`memory.max`, `memory.current`) or v1
/// (`memory.limit_in_bytes`, `memory.usage_in_bytes`), at the process's cgroup and every cgroup
/// above it that is visible under `root`; page cache the kernel can drop (`inactive_file`) counts
/// as free.
fn cgroup_room(proc_cgroup: &str, root: &Path) -> Option<AvailableMemory> {
    let mut best: Option<AvailableMemory> = None;
    for line in proc_cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let (base, limit_file, usage_file, inactive_key) = if id == "0" && controllers.is_empty() {
            (root.to_path_buf(), "memory.max", "memory.current", "inactive_file")
        } else if controllers.split(',').any(|c| c == "memory") {
            (
                root.join("memory"),
                "memory.limit_in_bytes",
                "memory.usage_in_bytes",
                "total_inactive_file",
            )
        } else {
            continue;
        };
        for dir in cgroup_dirs(&base, path) {
            let read_u64 =
                |file: &str| -> Option<u64> { std::fs::read_to_string(dir.join(file)).ok()?.trim().parse().ok() };
            let Some(limit) = read_u64(limit_file).filter(|&l| l < UNLIMITED) else {
                continue;
            };
            let Some(usage) = read_u64(usage_file) else {
                continue;
            };
            let inactive = std::fs::read_to_string(dir.join("memory.stat"))
                .ok()
                .and_then(|s| stat_field(&s, inactive_key))
                .unwrap_or(0);
            let used = usage.saturating_sub(inactive);
            let room = AvailableMemory {
                bytes: limit.saturating_sub(used),
                bound: format!(
                    "the memory cgroup limit of {} (`{}`), {} of it in use",
                    format_bytes(limit),
                    dir.display(),
                    format_bytes(used)
                ),
            };
            if best.as_ref().is_none_or(|b| room.bytes < b.bytes) {
                best = Some(room);
            }
        }
    }
    best
}

/// The folders of a cgroup `path` (as `/proc/self/cgroup` gives it) and of its ancestors under
/// `base`, deepest first, that exist; inside a container the cgroup's own folder is often the root
/// of the mount, which is then the only one.
fn cgroup_dirs(base: &Path, path: &str) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    let mut p = Path::new(path.trim_start_matches('/'));
    loop {
        let dir = base.join(p);
        if dir.is_dir() && !dirs.contains(&dir) {
            dirs.push(dir);
        }
        match p.parent() {
            Some(parent) => p = parent,
            None => break,
        }
    }
    dirs
}

/// A `key value` line of a cgroup's `memory.stat`.
fn stat_field(stat: &str, key: &str) -> Option<u64> {
    stat.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok()).flatten()
    })
}

/// The machine's available memory (`MemAvailable` of `/proc/meminfo`) plus free swap.
fn machine_room(meminfo: &str) -> Option<AvailableMemory> {
    let available = status_kib(meminfo, "MemAvailable:")? * 1024;
    let swap = status_kib(meminfo, "SwapFree:").unwrap_or(0) * 1024;
    let bound = match swap {
        0 => "the machine's available memory".to_string(),
        s => format!("the machine's available memory and {} of free swap", format_bytes(s)),
    };
    Some(AvailableMemory {
        bytes: available + swap,
        bound,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "Name:\tsylvan\nVmPeak:\t  300000 kB\nVmSize:\t  250000 kB\nVmRSS:\t   10000 kB\n";

    #[test]
    fn the_address_space_limit_leaves_what_is_not_mapped() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max address space         1024000000           2048000000           bytes     \n";
        let room = address_space_room(limits, STATUS).unwrap();
        assert_eq!(room.bytes, 1_024_000_000 - 250_000 * 1024);
        assert!(
            room.bound.contains("ulimit -v") && room.bound.contains("1.02 GB"),
            "{}",
            room.bound
        );
        let unlimited = "Max address space         unlimited            unlimited            bytes     \n";
        assert_eq!(address_space_room(unlimited, STATUS), None);
    }

    #[test]
    fn the_machine_counts_available_memory_and_free_swap() {
        let meminfo = "MemTotal:       24731408 kB\nMemAvailable:   2000 kB\nSwapFree:       1000 kB\n";
        assert_eq!(machine_room(meminfo).unwrap().bytes, 3000 * 1024);
        assert_eq!(machine_room("MemTotal: 1 kB\n"), None);
    }

    #[test]
    fn cgroup_limits_are_read_for_v2_and_v1_and_unlimited_ones_skipped() {
        let root = std::env::temp_dir().join(format!("sylvan-cgroup-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let v2 = root.join("user.slice/job");
        std::fs::create_dir_all(&v2).unwrap();
        std::fs::write(v2.join("memory.max"), "1000000000\n").unwrap();
        std::fs::write(v2.join("memory.current"), "400000000\n").unwrap();
        std::fs::write(v2.join("memory.stat"), "anon 1\ninactive_file 100000000\n").unwrap();
        std::fs::write(root.join("user.slice/memory.max"), "max\n").unwrap();
        let room = cgroup_room("0::/user.slice/job\n", &root).unwrap();
        assert_eq!(room.bytes, 1_000_000_000 - 300_000_000);
        assert!(room.bound.contains("cgroup"), "{}", room.bound);

        let v1 = root.join("memory");
        std::fs::create_dir_all(&v1).unwrap();
        std::fs::write(v1.join("memory.limit_in_bytes"), "9223372036854771712\n").unwrap();
        std::fs::write(v1.join("memory.usage_in_bytes"), "5\n").unwrap();
        // A v1 path that is not visible inside the mount falls back to the mount's root: unlimited.
        assert_eq!(cgroup_room("4:memory:/process_api/abc\n", &root), None);
        std::fs::write(v1.join("memory.limit_in_bytes"), "500\n").unwrap();
        assert_eq!(cgroup_room("4:memory:/process_api/abc\n", &root).unwrap().bytes, 495);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn this_process_has_some_memory_available() {
        if cfg!(target_os = "linux") {
            let room = available_memory().expect("Linux tells the available memory");
            assert!(room.bytes > 0, "{room}");
        }
    }

    #[test]
    fn bytes_read_as_people_write_them() {
        assert_eq!(format_bytes(999), "999 B");
        assert_eq!(format_bytes(1_500), "1.5 kB");
        assert_eq!(format_bytes(812_400_000), "812.4 MB");
        assert_eq!(format_bytes(3_210_000_000), "3.21 GB");
    }
}
