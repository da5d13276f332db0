//! What a page answers when the store fails: the machine's faults (a full disk, storage that
//! cannot be read) are a 503 with the reason in words and `Retry-After`; damaged data is a
//! 500 that says the fault is the server's, with the details in its log, not on the page.
use crate::common;

use axum::body::to_bytes;
use buildstatus::adapters::http::WebError;
use buildstatus::adapters::memory::MemoryClock;
use buildstatus::domain::web::layout::Site;
use buildstatus::ports::{StoreError, cause};

#[tokio::test]
async fn a_full_disk_or_a_store_that_cannot_be_read_is_a_503_and_damage_a_500() {
    let clock = MemoryClock::new(common::at(0));
    let cases = [
        (StoreError::Full(cause("database or disk is full")), 503, "the server's disk is full"),
        (StoreError::database("unable to open database file"), 503, "cannot be read or written"),
        (StoreError::corrupt("builds linux #1: expected value at line 1"), 500, "the details are in its log"),
    ];
    for (error, status, words) in cases {
        let response = WebError::from(error).respond(&Site::default(), &clock, "/builders");
        assert_eq!(response.status().as_u16(), status, "{words}");
        let retry = response.headers().get("retry-after").map(|v| v.to_str().expect("ascii").to_owned());
        assert_eq!(retry.as_deref(), (status == 503).then_some("30"), "{words}");
        let body = to_bytes(response.into_body(), usize::MAX).await.expect("a body");
        let body = String::from_utf8_lossy(&body);
        assert!(body.contains(words), "{body}");
        assert!(
            !body.contains("expected value") && !body.contains("unable to open"),
            "details stay in the log: {body}"
        );
    }
}
