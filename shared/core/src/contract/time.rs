//! Timestamps as upstream renders them: `*_time` epoch milliseconds, `*_date` RFC-1123.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Utc};

/// Epoch milliseconds, strictly increasing within this process so records created in one
/// burst still have a stable creation order.
pub fn now_ms() -> i64 {
    static LAST: AtomicI64 = AtomicI64::new(0);
    let wall = Utc::now().timestamp_millis();
    let mut prev = LAST.load(Ordering::Relaxed);
    loop {
        let next = wall.max(prev + 1);
        match LAST.compare_exchange_weak(prev, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(p) => prev = p,
        }
    }
}

/// `Mon, 28 Apr 2025 18:40:41 GMT` for an epoch-millisecond time.
pub fn rfc1123(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

/// `YYYY-MM-DD HH:MM:SS`, the form some chunk fields use.
pub fn plain_datetime(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_render_like_upstream() {
        assert_eq!(rfc1123(1745865641611), "Mon, 28 Apr 2025 18:40:41 GMT");
        assert_eq!(plain_datetime(1745865641611), "2025-04-28 18:40:41");
    }

    #[test]
    fn now_is_strictly_increasing() {
        let a = now_ms();
        let b = now_ms();
        assert!(b > a);
    }
}
