//! The one write of a code redemption or a refresh rotation (`store::grants::spend`): the
//! code or token used up, the next refresh token and the audit row stored with it, all or
//! nothing and once, on both backends, in one trip to the database, grouped with the spends
//! sent with it. It runs outside any transaction of its own (`store::begin_single`), which
//! refuses every other statement. The
//! read before it brings the person and all their roles in one query. The hourly pass deletes
//! the codes and tokens an hour after they expired.

use flowgate::services::audit::AuditEntry;
use flowgate::store::audit::AuditFilter;
use flowgate::store::grants::{self, CodeRow, RefreshRow, Spent};
use flowgate::store::{self, begin_single};
use std::sync::Arc;

use flowgate::services::App;
use sea_orm::{ConnectionTrait, DatabaseConnection};

use crate::browser::person;
use crate::kit::Kit;
use crate::on_both_backends;

on_both_backends!(
    a_code_or_token_is_spent_once_with_its_rows,
    spends_sent_together_are_each_decided_once,
    the_read_brings_the_person_and_every_role,
    a_single_write_refuses_any_other_write,
    what_expired_an_hour_ago_is_swept,
);

const ACTION: &str = "test.spend";

fn next_token(hash: &str, family: &str, client_id: &str, user_pk: i64, now: i64) -> RefreshRow {
    RefreshRow {
        token_hash: hash.into(),
        family_id: family.into(),
        client_id: client_id.into(),
        user_pk,
        scopes: "read".into(),
        access_jti: format!("jti-{hash}"),
        access_expires_at: now + 300,
        created_at: now,
        expires_at: now + 3600,
        used_at: None,
        revoked_at: None,
    }
}

fn logged(now: i64) -> AuditEntry {
    AuditEntry {
        id: 0,
        at: now,
        actor: "user:spender".into(),
        action: ACTION.into(),
        target: None,
        detail: None,
        success: true,
        count: 1,
    }
}

async fn audit_rows(db: &DatabaseConnection) -> u64 {
    let filter = AuditFilter {
        action: Some(ACTION.into()),
        ..AuditFilter::default()
    };
    store::audit::search(db, &filter, 10, 0).await.unwrap().1
}

/// A stored code of a new person's, for a new client; returns (client id, person's key).
async fn stored_code(kit: &Kit, username: &str, roles: &[&str], hash: &str) -> (String, i64) {
    let db = &kit.server.app.db;
    let client = kit.client_with(&["Read"]).await;
    person(kit, username, "a-good-password", roles).await;
    let pk = store::users::find(db, username).await.unwrap().unwrap().pk;
    let now = flowgate::now();
    grants::insert_code(
        db,
        CodeRow {
            code_hash: hash.into(),
            client_id: client.id.clone(),
            user_pk: pk,
            scopes: "read".into(),
            redirect_uri: None,
            code_challenge: None,
            family_id: format!("family-{hash}"),
            created_at: now,
            expires_at: now + 60,
            used_at: None,
        },
    )
    .await
    .unwrap();
    (client.id, pk)
}

/// Whether a refresh token with this hash is stored.
async fn refresh_stored(db: &DatabaseConnection, hash: &str) -> bool {
    grants::find_refresh(db, hash).await.unwrap().is_some()
}

async fn spend(kit: &Kit, spent: Spent<'_>, next: RefreshRow, log: bool) -> bool {
    let now = next.created_at;
    let app = &kit.server.app;
    let txn = begin_single(&app.db, &app.spends);
    let audit = log.then(|| logged(now));
    let done = grants::spend(&txn, spent, now, next, audit).await.unwrap();
    txn.commit().await.unwrap();
    done
}

async fn a_code_or_token_is_spent_once_with_its_rows(kit: &Kit) {
    let db = &kit.server.app.db;
    let (client_id, pk) = stored_code(kit, "spender", &["Read"], "code-1").await;
    let now = flowgate::now();
    let first = next_token("refresh-1", "family-code-1", &client_id, pk, now);
    assert!(spend(kit, Spent::Code("code-1"), first.clone(), true).await);
    let code = grants::find_code(db, "code-1").await.unwrap().unwrap();
    assert_eq!(code.used_at, Some(now));
    // Every column as given.
    let stored = grants::find_refresh(db, "refresh-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, first);
    let filter = AuditFilter {
        action: Some(ACTION.into()),
        ..AuditFilter::default()
    };
    let (rows, count) = store::audit::search(db, &filter, 10, 0).await.unwrap();
    assert_eq!(count, 1);
    assert_eq!(
        AuditEntry {
            id: 0,
            ..rows[0].clone()
        },
        logged(now)
    );

    // The same code again: nothing more is written.
    let again = next_token("refresh-2", "family-code-1", &client_id, pk, now);
    assert!(!spend(kit, Spent::Code("code-1"), again, true).await);
    assert!(!refresh_stored(db, "refresh-2").await);
    assert_eq!(audit_rows(db).await, 1);

    // The refresh token it gave, rotated once; a second rotation, or one of a revoked
    // token, writes nothing.
    let rotated = next_token("refresh-3", "family-code-1", &client_id, pk, now);
    assert!(spend(kit, Spent::Refresh("refresh-1"), rotated, false).await);
    let used = grants::find_refresh(db, "refresh-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(used.used_at, Some(now));
    assert!(refresh_stored(db, "refresh-3").await);
    let twice = next_token("refresh-4", "family-code-1", &client_id, pk, now);
    assert!(!spend(kit, Spent::Refresh("refresh-1"), twice, false).await);
    assert!(!refresh_stored(db, "refresh-4").await);
    grants::revoke_family(db, "family-code-1", now)
        .await
        .unwrap();
    let revoked = next_token("refresh-5", "family-code-1", &client_id, pk, now);
    assert!(!spend(kit, Spent::Refresh("refresh-3"), revoked, false).await);
    assert!(!refresh_stored(db, "refresh-5").await);
    assert_eq!(audit_rows(db).await, 1);
}

/// Spends of several codes and a refresh token, two of them sent twice, all at once: on both
/// backends they share statements (one for each kind). Each code or token is spent once, and
/// only its winner's rows are written, with its audit row as given.
async fn spends_sent_together_are_each_decided_once(kit: &Kit) {
    let app = Arc::clone(&kit.server.app);
    let db = &app.db;
    let (client_id, pk) = stored_code(kit, "together", &["Read"], "together-0").await;
    let now = flowgate::now();
    for i in 1..=8 {
        let mut code = grants::find_code(db, "together-0").await.unwrap().unwrap();
        code.code_hash = format!("together-{i}");
        grants::insert_code(db, code).await.unwrap();
    }
    // The family's first refresh token, from code 0.
    let first = next_token("together-r0", "family-together", &client_id, pk, now);
    assert!(spend(kit, Spent::Code("together-0"), first, false).await);

    // Codes 1 to 8, code 3 and the refresh token twice; each spend's own next token.
    let mut sent: Vec<(String, bool, String)> = (1..=8)
        .map(|i| (format!("together-{i}"), true, format!("next-{i}")))
        .collect();
    sent.push(("together-3".into(), true, "next-3-again".into()));
    sent.push(("together-r0".into(), false, "next-r0".into()));
    sent.push(("together-r0".into(), false, "next-r0-again".into()));
    let groups_before = app.spends.groups();
    let mut tasks = tokio::task::JoinSet::new();
    for (hash, code, next_hash) in sent.clone() {
        let app = Arc::clone(&app);
        let next = next_token(&next_hash, "family-together", &client_id, pk, now);
        tasks.spawn(async move {
            let won = spend_on(&app, &hash, code, next, now).await;
            (next_hash, won)
        });
    }
    let mut won = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (next_hash, spent) = done.unwrap();
        if spent {
            won.push(next_hash);
        }
    }
    won.sort();
    // One of each pair won; which one is the race's.
    assert_eq!(won.len(), 9, "{won:?}");
    for i in [1, 2, 4, 5, 6, 7, 8] {
        assert!(won.contains(&format!("next-{i}")), "{won:?}");
    }
    let pair_won = |a: &str, b: &str| won.iter().filter(|w| *w == a || *w == b).count() == 1;
    assert!(pair_won("next-3", "next-3-again") && pair_won("next-r0", "next-r0-again"));
    for (_, _, next_hash) in &sent {
        assert_eq!(
            refresh_stored(db, next_hash).await,
            won.contains(next_hash),
            "{next_hash}"
        );
    }
    // The codes' spends were logged, each with its target and detail; the rotations not.
    let filter = AuditFilter {
        action: Some(ACTION.into()),
        ..AuditFilter::default()
    };
    let (rows, count) = store::audit::search(db, &filter, 20, 0).await.unwrap();
    assert_eq!(count, 8);
    assert!(rows.iter().all(|r| r.target.as_deref() == Some("a target")));
    assert!(rows.iter().all(|r| r.detail.as_deref() == Some("a detail")));
    let statements = app.spends.groups() - groups_before;
    assert!(statements < sent.len() as u64, "{statements} statements");
}

/// One spend as the token endpoint makes it; a code's with an audit row.
async fn spend_on(app: &App, hash: &str, code: bool, next: RefreshRow, now: i64) -> bool {
    let spent = if code {
        Spent::Code(hash)
    } else {
        Spent::Refresh(hash)
    };
    let audit = code.then(|| AuditEntry {
        target: Some("a target".into()),
        detail: Some("a detail".into()),
        ..logged(now)
    });
    let txn = begin_single(&app.db, &app.spends);
    let done = grants::spend(&txn, spent, now, next, audit).await.unwrap();
    txn.commit().await.unwrap();
    done
}

async fn the_read_brings_the_person_and_every_role(kit: &Kit) {
    let db = &kit.server.app.db;
    let (_, pk) = stored_code(kit, "many-roles", &["Read", "Write", "Messages"], "code-a").await;
    let (code, found) = grants::find_code_and_person(db, "code-a")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(code.code_hash, "code-a");
    let found = found.expect("the person");
    assert_eq!((found.pk, found.username.as_str()), (pk, "many-roles"));
    assert_eq!(found.roles.names(), ["Read", "Write", "Messages"]);

    stored_code(kit, "no-roles", &[], "code-b").await;
    let (_, found) = grants::find_code_and_person(db, "code-b")
        .await
        .unwrap()
        .unwrap();
    assert!(found.expect("the person").roles.is_empty());
    assert!(
        grants::find_code_and_person(db, "no-such-code")
            .await
            .unwrap()
            .is_none()
    );
}

async fn a_single_write_refuses_any_other_write(kit: &Kit) {
    let db = &kit.server.app.db;
    stored_code(kit, "bystander", &["Read"], "code-x").await;
    let txn = begin_single(db, &kit.server.app.spends);
    let read = grants::find_code(&txn, "code-x").await;
    let wrote = txn
        .execute_unprepared("DELETE FROM authorization_codes")
        .await;
    // What it decides on is read before it, not through it.
    assert!(read.is_err(), "a read was let through");
    assert!(wrote.is_err(), "a write outside spend was let through");
    // Also one that reads back what it wrote (INSERT … RETURNING, a query to sea-orm).
    let inserted = store::audit::insert(&txn, logged(flowgate::now())).await;
    assert!(inserted.is_err(), "an INSERT … RETURNING was let through");
    assert_eq!(audit_rows(db).await, 0);
    assert!(grants::find_code(db, "code-x").await.unwrap().is_some());
    // Its one statement, once: a second spend through it is refused too.
    let code = grants::find_code(db, "code-x").await.unwrap().unwrap();
    let now = flowgate::now();
    let next = |hash: &str| next_token(hash, &code.family_id, &code.client_id, code.user_pk, now);
    let first = grants::spend(&txn, Spent::Code("code-x"), now, next("refresh-x1"), None);
    assert!(first.await.unwrap());
    let second = grants::spend(&txn, Spent::Code("code-y"), now, next("refresh-x2"), None);
    assert!(second.await.is_err(), "a second statement was let through");
    txn.commit().await.unwrap();
    assert!(!refresh_stored(db, "refresh-x2").await);
}

/// The hourly pass deletes the codes and refresh tokens that expired more than an hour ago,
/// used or not, and keeps the others.
async fn what_expired_an_hour_ago_is_swept(kit: &Kit) {
    use flowgate::services::housekeeping::{self, EXPIRED_KEPT, Swept};
    let app = &kit.server.app;
    let db = &app.db;
    let (client_id, pk) = stored_code(kit, "sweeper", &["Read"], "live-code").await;
    let now = flowgate::now();
    let live = grants::find_code(db, "live-code").await.unwrap().unwrap();
    // Codes that expired long ago and just now; the first also used.
    for (hash, expired_ago) in [("old-code", EXPIRED_KEPT + 60), ("recent-code", 60)] {
        let code = CodeRow {
            code_hash: hash.into(),
            family_id: format!("family-{hash}"),
            expires_at: now - expired_ago,
            ..live.clone()
        };
        grants::insert_code(db, code).await.unwrap();
    }
    // Spending a code stores its refresh token: one that expired long ago, one that expired
    // just now, and a live one (stored with the first spend, then rotated to the old one).
    let refresh = |hash: &str, expired_ago: i64| RefreshRow {
        expires_at: now - expired_ago,
        ..next_token(hash, "family-sweep", &client_id, pk, now)
    };
    let first = refresh("live-refresh", -3600);
    assert!(spend(kit, Spent::Code("old-code"), first, false).await);
    let old = refresh("old-refresh", EXPIRED_KEPT + 60);
    assert!(spend(kit, Spent::Refresh("live-refresh"), old, false).await);
    let recent = refresh("recent-refresh", 60);
    assert!(spend(kit, Spent::Code("recent-code"), recent, false).await);

    let swept = housekeeping::sweep(app).await.unwrap();
    let expected = Swept {
        audit_rows: 0,
        codes: 1,
        refresh_tokens: 1,
    };
    assert_eq!(swept, expected);
    for (code, kept) in [
        ("old-code", false),
        ("recent-code", true),
        ("live-code", true),
    ] {
        let found = grants::find_code(db, code).await.unwrap();
        assert_eq!(found.is_some(), kept, "{code}");
    }
    for (token, kept) in [
        ("old-refresh", false),
        ("recent-refresh", true),
        ("live-refresh", true),
    ] {
        assert_eq!(refresh_stored(db, token).await, kept, "{token}");
    }
    // A second pass finds nothing left to delete.
    assert_eq!(housekeeping::sweep(app).await.unwrap(), Swept::default());
}
