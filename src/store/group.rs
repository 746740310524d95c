//! Statements that arrive together, sent as one. Requests that each need one short statement
//! wait in a queue, and one task sends those waiting, in their order, as one statement. That
//! pays where a statement's cost is mostly its own (its round trip, its commit, its wait for
//! the next writer's turn) rather than its rows': the spends of codes and refresh tokens
//! ([`super::spends`]), each a commit on PostgreSQL and a turn in the write lane on SQLite, and
//! the checks of kept instances' versions ([`super::versions`]), each a lookup of one column. A
//! request is answered when its group's statement is done; one that arrived while a group ran
//! goes with the next, so a group grows with the load and a request alone is sent at once. One
//! group runs at a time. (Whole reads of instances were tried too: PostgreSQL's work per row
//! dominates there, and one group at a time was slower than four reads side by side; see
//! BENCHMARKS.md.)

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use sea_orm::DbErr;
use tokio::sync::{mpsc, oneshot};

/// What a kind of request groups, and how its group is sent and answered.
pub(super) trait Grouping: Send + Sync + 'static {
    /// Where a group's statement goes.
    type Db: Clone + Send + Sync + 'static;
    /// One request's part.
    type Item: Send + Sync + 'static;
    /// What a group's statement brought back.
    type Found: Send + 'static;
    /// What one request gets.
    type Answer: Send + 'static;

    /// What a group being made keeps of its items, to decide which may join it.
    type Making: Default;

    /// Whether `next` joins the group `making` holds (in order), which it then records; one
    /// that may not waits for a later group. It must admit the first item of a group.
    fn admits(making: &mut Self::Making, next: &Self::Item) -> bool;

    /// Sends a group's statement.
    fn send(
        db: &Self::Db,
        group: &[&Self::Item],
    ) -> impl Future<Output = Result<Self::Found, DbErr>> + Send;

    /// One request's answer from what its group found.
    fn answer(found: &mut Self::Found, item: &Self::Item) -> Self::Answer;
}

/// The queue of one kind of request; cloned, it is the same queue.
pub(super) struct Queue<G: Grouping>(Arc<Inner<G>>);

impl<G: Grouping> Clone for Queue<G> {
    fn clone(&self) -> Self {
        Queue(Arc::clone(&self.0))
    }
}

struct Inner<G: Grouping> {
    db: G::Db,
    /// Started at the first request, on the runtime that serves it; it ends with the queue.
    sender: OnceLock<mpsc::UnboundedSender<Waiting<G>>>,
    groups: Arc<AtomicU64>,
}

struct Waiting<G: Grouping> {
    item: G::Item,
    answer: oneshot::Sender<Result<G::Answer, DbErr>>,
}

impl<G: Grouping> Queue<G> {
    /// A queue whose statements go to `db`.
    pub fn new(db: G::Db) -> Queue<G> {
        Queue(Arc::new(Inner {
            db,
            sender: OnceLock::new(),
            groups: Arc::default(),
        }))
    }

    /// How many statements the requests took so far: fewer than the requests when they were
    /// grouped.
    pub fn groups(&self) -> u64 {
        self.0.groups.load(Ordering::Relaxed)
    }

    /// Sends `item` with the next group; its answer once the group's statement is done.
    pub async fn ask(&self, item: G::Item) -> Result<G::Answer, DbErr> {
        let inner = &self.0;
        let sender = inner.sender.get_or_init(|| {
            let (sender, waiting) = mpsc::unbounded_channel();
            tokio::spawn(serve::<G>(
                inner.db.clone(),
                Arc::clone(&inner.groups),
                waiting,
            ));
            sender
        });
        let (answer, answered) = oneshot::channel();
        let gone = || DbErr::Custom("a queue of grouped statements has stopped".into());
        sender.send(Waiting { item, answer }).map_err(|_| gone())?;
        answered.await.map_err(|_| gone())?
    }
}

/// Sends what waits, a group at a time, until the queue is dropped.
async fn serve<G: Grouping>(
    db: G::Db,
    groups: Arc<AtomicU64>,
    mut queue: mpsc::UnboundedReceiver<Waiting<G>>,
) {
    // Both kept from group to group, so that their buffers are not grown again for each.
    let mut waiting = Vec::new();
    let mut group = Vec::new();
    loop {
        if waiting.is_empty() {
            match queue.recv().await {
                Some(first) => waiting.push(first),
                None => return,
            }
        }
        while let Ok(next) = queue.try_recv() {
            waiting.push(next);
        }
        next_group(&mut waiting, &mut group);
        let items: Vec<&G::Item> = group.iter().map(|w| &w.item).collect();
        let mut found = G::send(&db, &items).await;
        groups.fetch_add(1, Ordering::Relaxed);
        for each in group.drain(..) {
            let answer = match &mut found {
                Ok(found) => Ok(G::answer(found, &each.item)),
                Err(err) => Err(err.clone()),
            };
            // Its request may be gone (the client hung up): the statement stands all the same.
            let _ = each.answer.send(answer);
        }
        // What a burst grew beyond a usual group is given back.
        waiting.shrink_to(KEPT);
        group.shrink_to(KEPT);
    }
}

/// Room for this many requests stays with the queue's buffers between groups.
const KEPT: usize = 256;

/// Moves the next group out of `waiting` into `group` (empty), in order: each item the group
/// admits; the others stay waiting, in their order.
fn next_group<G: Grouping>(waiting: &mut Vec<Waiting<G>>, group: &mut Vec<Waiting<G>>) {
    let mut making = G::Making::default();
    group.extend(waiting.extract_if(.., |w| G::admits(&mut making, &w.item)));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Groups of distinct items.
    struct Distinct;

    impl Grouping for Distinct {
        type Db = ();
        type Item = u32;
        type Found = ();
        type Answer = ();
        type Making = Vec<u32>;

        fn admits(making: &mut Vec<u32>, next: &u32) -> bool {
            let new = !making.contains(next);
            if new {
                making.push(*next);
            }
            new
        }

        async fn send(_: &(), _: &[&u32]) -> Result<(), DbErr> {
            Ok(())
        }

        fn answer(_: &mut (), _: &u32) {}
    }

    fn items(waiting: &[Waiting<Distinct>]) -> Vec<u32> {
        waiting.iter().map(|w| w.item).collect()
    }

    /// A group takes what it admits, in order, and the rest waits for the next, in order.
    #[test]
    fn a_group_takes_what_it_admits_and_the_rest_waits_in_order() {
        let wait = |item| Waiting::<Distinct> {
            item,
            answer: oneshot::channel().0,
        };
        let mut waiting: Vec<_> = [1, 2, 1, 3, 2, 1].into_iter().map(wait).collect();
        let mut group = Vec::new();
        next_group(&mut waiting, &mut group);
        assert_eq!(
            (items(&group), items(&waiting)),
            (vec![1, 2, 3], vec![1, 2, 1])
        );
        group.clear();
        next_group(&mut waiting, &mut group);
        assert_eq!((items(&group), items(&waiting)), (vec![1, 2], vec![1]));
    }
}
