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
