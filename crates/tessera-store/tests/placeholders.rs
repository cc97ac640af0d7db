//! SQLite must bind `$N` by number, not by order of appearance, for shared SQL to be safe.

#[tokio::test]
async fn sqlite_binds_dollar_placeholders_by_number() {
    let dir = std::env::temp_dir().join(format!("tessera-ph-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.join("t.db").display());
    let store = tessera_store::Store::connect(&url).await.unwrap();
    let mut conn = store.read().await.unwrap();
    let (a, b, c): (i64, String, i64) = sqlx::query_as("SELECT $2, $1, $2 + 1")
        .bind("one".to_owned())
        .bind(2_i64)
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!((a, b.as_str(), c), (2, "one", 3));
    drop(conn);
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}
