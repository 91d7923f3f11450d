//! Retry policies for nodes.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::error::NodeError;

type RetryPredicate = Arc<dyn Fn(&NodeError) -> bool + Send + Sync>;

/// When and how often to retry a failing node (LangGraph's `RetryPolicy`).
#[derive(Clone)]
pub struct RetryPolicy {
    /// Delay before the first retry.
    pub initial_interval: Duration,
    /// Factor the delay grows by after each retry.
    pub backoff_factor: f64,
    /// Upper bound of the delay.
    pub max_interval: Duration,
    /// Attempts in all, including the first.
    pub max_attempts: u32,
    /// Add up to one second of random delay, so that many failing tasks do not retry in lockstep.
    pub jitter: bool,
    retry_on: Option<RetryPredicate>,
}

impl Default for RetryPolicy {
    /// LangGraph's defaults: 0.5 s, ×2, at most 128 s, 3 attempts, jitter.
    fn default() -> Self {
        RetryPolicy {
            initial_interval: Duration::from_millis(500),
            backoff_factor: 2.0,
            max_interval: Duration::from_secs(128),
            max_attempts: 3,
            jitter: true,
            retry_on: None,
        }
    }
}

impl fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryPolicy")
            .field("initial_interval", &self.initial_interval)
            .field("backoff_factor", &self.backoff_factor)
            .field("max_interval", &self.max_interval)
            .field("max_attempts", &self.max_attempts)
            .field("jitter", &self.jitter)
            .field("custom_predicate", &self.retry_on.is_some())
            .finish()
    }
}

impl RetryPolicy {
    /// The default policy.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the number of attempts (including the first).
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }
    /// Sets the first delay.
    pub fn initial_interval(mut self, d: Duration) -> Self {
        self.initial_interval = d;
        self
    }
    /// Sets the backoff factor.
    pub fn backoff_factor(mut self, f: f64) -> Self {
        self.backoff_factor = f;
        self
    }
    /// Sets the largest delay.
    pub fn max_interval(mut self, d: Duration) -> Self {
        self.max_interval = d;
        self
    }
    /// Turns jitter on or off.
    pub fn jitter(mut self, on: bool) -> Self {
        self.jitter = on;
        self
    }
    /// Retries only errors for which `f` returns true.
    pub fn retry_on(mut self, f: impl Fn(&NodeError) -> bool + Send + Sync + 'static) -> Self {
        self.retry_on = Some(Arc::new(f));
        self
    }

    /// Whether `error` should be retried. Without a predicate: whatever the error says, and
    /// unclassified errors are retried, but errors marked permanent (programming errors) are not,
    /// like LangGraph's `default_retry_on`.
    pub fn should_retry(&self, error: &NodeError) -> bool {
        match &self.retry_on {
            Some(f) => f(error),
            None => error.is_retryable(),
        }
    }

    /// The delay before attempt `attempt + 1`, after `attempt` failures (1-based).
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = self.backoff_factor.powi(attempt.saturating_sub(1) as i32);
        let base = (self.initial_interval.as_secs_f64() * exp).min(self.max_interval.as_secs_f64());
        let jitter = if self.jitter { rand::random::<f64>() } else { 0.0 };
        Duration::from_secs_f64((base + jitter).max(0.0))
    }
}
