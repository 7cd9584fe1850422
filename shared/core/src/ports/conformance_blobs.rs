//! The blob-store conformance suite. Every adapter's tests call `run_all` on a fresh, empty
//! store; a failure panics with the rule that was broken.

use bytes::Bytes;

use crate::contract::ids::new_id;
use crate::ports::BlobStore;

pub async fn run_all(store: &dyn BlobStore) {
    round_trips(store).await;
    deletes(store).await;
    prefixes(store).await;
    isolation(store).await;
}

async fn get(store: &dyn BlobStore, t: &str, key: &str) -> Option<Bytes> {
    store.get(t, key).await.expect("get")
}

async fn round_trips(store: &dyn BlobStore) {
    let t = new_id();
    let key = format!("{}/{}", new_id(), new_id());
    store
        .put(&t, &key, Bytes::from_static(b"hello"))
        .await
        .expect("put");
    assert_eq!(
        get(store, &t, &key).await,
        Some(Bytes::from_static(b"hello")),
        "a blob reads back as written"
    );
    store
        .put(&t, &key, Bytes::from_static(b"replaced"))
        .await
        .expect("overwrite");
    assert_eq!(
        get(store, &t, &key).await,
        Some(Bytes::from_static(b"replaced")),
        "a put replaces the old value"
    );
    store
        .put(&t, "empty.bin", Bytes::new())
        .await
        .expect("put empty");
    assert_eq!(
        get(store, &t, "empty.bin").await,
        Some(Bytes::new()),
        "an empty blob exists and is empty"
    );
    // 5 MB with a pattern, so a truncated or shifted read shows.
    let big: Vec<u8> = (0..5 * 1024 * 1024u32)
        .map(|i| (i % 251) as u8 ^ (i >> 13) as u8)
        .collect();
    let big = Bytes::from(big);
    store
        .put(&t, "big/file.pdf", big.clone())
        .await
        .expect("put 5 MB");
    let got = get(store, &t, "big/file.pdf").await.expect("5 MB exists");
    assert!(got == big, "a 5 MB blob reads back byte for byte");
    store
        .put(&t, "a/b/c/d/e.txt", Bytes::from_static(b"deep"))
        .await
        .expect("put nested");
    assert_eq!(
        get(store, &t, "a/b/c/d/e.txt").await,
        Some(Bytes::from_static(b"deep")),
        "keys may hold several `/`"
    );
    assert_eq!(
        get(store, &t, "a/b/c").await,
        None,
        "a key's parent path is not itself a blob"
    );
    assert_eq!(
        get(store, &t, "never-written").await,
        None,
        "a missing key reads as None"
    );
    let odd = "ds/name with spaces, ümlauts & (parens) 中文.pdf";
    store
        .put(&t, odd, Bytes::from_static(b"odd"))
        .await
        .expect("put odd key");
    assert_eq!(
        get(store, &t, odd).await,
        Some(Bytes::from_static(b"odd")),
        "keys may hold spaces and non-ASCII text"
    );
}

async fn deletes(store: &dyn BlobStore) {
    let t = new_id();
    store
        .delete(&t, "never/written")
        .await
        .expect("deleting a missing key is not an error");
    store
        .put(&t, "x/y", Bytes::from_static(b"1"))
        .await
        .expect("put");
    store
        .put(&t, "x/z", Bytes::from_static(b"2"))
        .await
        .expect("put");
    store.delete(&t, "x/y").await.expect("delete");
    assert_eq!(get(store, &t, "x/y").await, None, "a deleted key is gone");
    assert_eq!(
        get(store, &t, "x/z").await,
        Some(Bytes::from_static(b"2")),
        "a delete removes only its key"
    );
    store
        .delete(&t, "x/y")
        .await
        .expect("deleting twice is fine");
    store
        .put(&t, "x/y", Bytes::from_static(b"again"))
        .await
        .expect("a deleted key can be written again");
    assert_eq!(
        get(store, &t, "x/y").await,
        Some(Bytes::from_static(b"again"))
    );
}

async fn prefixes(store: &dyn BlobStore) {
    let t = new_id();
    for key in [
        "ds1/a.txt",
        "ds1/b.txt",
        "ds1/sub/c.txt",
        "ds10/d.txt",
        "ds2/e.txt",
    ] {
        store
            .put(&t, key, Bytes::from(key.as_bytes().to_vec()))
            .await
            .expect("put");
    }
    assert_eq!(
        store.delete_prefix(&t, "nothing/").await.expect("prefix"),
        0,
        "a prefix with no keys deletes nothing"
    );
    assert_eq!(
        store.delete_prefix(&t, "ds1/").await.expect("prefix"),
        3,
        "delete_prefix counts every key under the prefix, nested ones included"
    );
    assert_eq!(get(store, &t, "ds1/a.txt").await, None);
    assert_eq!(get(store, &t, "ds1/sub/c.txt").await, None);
    assert!(
        get(store, &t, "ds10/d.txt").await.is_some(),
        "`ds1/` does not match `ds10/`"
    );
    store
        .put(&t, "ds1/new.txt", Bytes::from_static(b"n"))
        .await
        .expect("a cleared prefix can be written again");
    assert_eq!(
        store.delete_prefix(&t, "ds1").await.expect("prefix"),
        2,
        "a prefix is a plain string prefix, not only a folder"
    );
    assert_eq!(get(store, &t, "ds10/d.txt").await, None);
    assert!(get(store, &t, "ds2/e.txt").await.is_some());
    assert_eq!(
        store.delete_prefix(&t, "").await.expect("prefix"),
        1,
        "the empty prefix deletes all of the tenant's keys"
    );
    assert_eq!(get(store, &t, "ds2/e.txt").await, None);
}

async fn isolation(store: &dyn BlobStore) {
    let (a, b) = (new_id(), new_id());
    let key = "shared/key.txt";
    store
        .put(&a, key, Bytes::from_static(b"tenant a"))
        .await
        .expect("put a");
    assert_eq!(
        get(store, &b, key).await,
        None,
        "tenant B does not see tenant A's key of the same name"
    );
    store
        .put(&b, key, Bytes::from_static(b"tenant b"))
        .await
        .expect("put b");
    assert_eq!(
        get(store, &a, key).await,
        Some(Bytes::from_static(b"tenant a")),
        "tenant B's put of the same key does not touch tenant A's"
    );
    store.delete(&b, key).await.expect("delete b");
    assert_eq!(
        get(store, &a, key).await,
        Some(Bytes::from_static(b"tenant a")),
        "tenant B's delete does not touch tenant A's key"
    );
    assert_eq!(
        store.delete_prefix(&b, "").await.expect("prefix b"),
        0,
        "tenant B's prefix delete sees none of tenant A's keys"
    );
    assert_eq!(
        get(store, &a, key).await,
        Some(Bytes::from_static(b"tenant a"))
    );
    assert_eq!(store.delete_prefix(&a, "shared/").await.expect("prefix"), 1);
}
