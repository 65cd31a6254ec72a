//! The memory of this process, which runs the server in-process (its own runtime and thread):
//! resident set size now (`VmRSS`) and at its peak (`VmHWM`), from `/proc/self/status`. The peak
//! is reset before a measured phase by writing `5` to `/proc/self/clear_refs` (Linux ≥ 4.0);
//! where that is refused, the peak is the whole process's so far, and says so.

pub struct Memory {
    /// Resident set before the phase, in kB.
    pub before_kb: u64,
    /// Peak resident set during the phase (or since the process started), in kB.
    pub peak_kb: u64,
    /// Resident set after the phase, in kB.
    pub after_kb: u64,
    /// Whether the peak was reset at the phase's start.
    pub peak_reset: bool,
}

/// `VmRSS` and `VmHWM` in kB (zero where /proc is missing).
fn status() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kb| kb.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// What a phase starts from: the resident set, and whether the peak could be reset to it.
pub struct Start {
    rss_kb: u64,
    peak_reset: bool,
}

pub fn start_peak() -> Start {
    let peak_reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    Start {
        rss_kb: status().0,
        peak_reset,
    }
}

pub fn since(start: Start) -> Memory {
    let (after_kb, peak_kb) = status();
    Memory {
        before_kb: start.rss_kb,
        peak_kb,
        after_kb,
        peak_reset: start.peak_reset,
    }
}

impl std::fmt::Display for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mb = |kb: u64| kb as f64 / 1024.0;
        write!(
            f,
            "RSS before {:.1} MB, peak {:.1} MB{}, after {:.1} MB",
            mb(self.before_kb),
            mb(self.peak_kb),
            if self.peak_reset {
                " (during the run)"
            } else {
                " (since the process started: the peak could not be reset)"
            },
            mb(self.after_kb)
        )
    }
}
