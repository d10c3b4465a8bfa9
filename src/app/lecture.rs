//! What the narration pane shows in lecture mode (plain data, filled by the scenario player).

/// One step of a scenario as the dashboard shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LectureView {
    pub title: String,
    /// 1-based; 0 before the first step has run.
    pub step: usize,
    pub steps: usize,
    pub narration: String,
    /// Expectations the kernel contradicted at this step: shown as a banner.
    pub failures: Vec<String>,
    /// Seconds between steps when autoplaying.
    pub autoplay: Option<u64>,
}

/// A running `wait`, as the status line shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WaitView {
    /// The wait as written (`wait 1h`), or a lecture step's wait.
    pub what: String,
    /// When it ends, on the lab's clock (milliseconds).
    pub until_ms: u64,
    /// The commands queued behind it, in order (canonical form).
    pub queued: Vec<String>,
}
