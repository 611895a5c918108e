//! How an operation reaches shards: through their locks (`Cache`) or through guards already
//! held (`Transaction`). Operations are written once, generic over this trait.

use crate::shard::Shard;
use crate::store::Store;
use parking_lot::RwLockWriteGuard;
use std::cell::{Cell, RefCell};

/// Shard access for the keyspace operations. Sealed: implemented by [`crate::Cache`] and
/// [`crate::Transaction`] only.
///
/// Each operation makes exactly one call (or one call followed by one more after releasing
/// the first), never nested calls, so a lock is never taken twice by one thread.
pub trait Access {
    #[doc(hidden)]
    fn store(&self) -> &Store;
    #[doc(hidden)]
    fn db_index_raw(&self) -> usize;
    #[doc(hidden)]
    fn read<R>(&self, gid: usize, f: impl FnOnce(&Shard) -> R) -> R;
    #[doc(hidden)]
    fn write<R>(&self, gid: usize, f: impl FnOnce(&mut Shard) -> R) -> R;
    /// `gids` must be sorted and free of duplicates; `f` gets the shards in that order.
    #[doc(hidden)]
    fn read_many<R>(&self, gids: &[usize], f: impl FnOnce(&[&Shard]) -> R) -> R;
    /// `gids` must be sorted and free of duplicates; `f` gets the shards in that order.
    #[doc(hidden)]
    fn write_many<R>(&self, gids: &[usize], f: impl FnOnce(&mut [&mut Shard]) -> R) -> R;
    /// Before a write that may need memory: evicts as the policy allows (a `Cache`), or does
    /// nothing (a `Transaction`, which holds every shard: its server checks before EXEC).
    #[doc(hidden)]
    fn make_room(&self) -> Result<(), crate::Error>;
}

impl Access for crate::Cache {
    fn store(&self) -> &Store {
        &self.store
    }
    #[inline]
    fn make_room(&self) -> Result<(), crate::Error> {
        self.store.make_room()
    }
    fn db_index_raw(&self) -> usize {
        self.db
    }
    #[inline]
    fn read<R>(&self, gid: usize, f: impl FnOnce(&Shard) -> R) -> R {
        let g = self.store.slots[gid].shard.read();
        f(&g)
    }
    #[inline]
    fn write<R>(&self, gid: usize, f: impl FnOnce(&mut Shard) -> R) -> R {
        let mut g = self.store.slots[gid].shard.write();
        self.store.before_write(gid, &mut g, self.store.snap_gen());
        let before = g.mem;
        let r = f(&mut g);
        self.store.settle(gid, &g, before);
        drop(g);
        crate::evict::flush_notices(&self.store);
        r
    }
    fn read_many<R>(&self, gids: &[usize], f: impl FnOnce(&[&Shard]) -> R) -> R {
        let guards: Vec<_> = gids
            .iter()
            .map(|&g| self.store.slots[g].shard.read())
            .collect();
        let refs: Vec<&Shard> = guards.iter().map(|g| &**g).collect();
        f(&refs)
    }
    fn write_many<R>(&self, gids: &[usize], f: impl FnOnce(&mut [&mut Shard]) -> R) -> R {
        let mut guards: Vec<_> = gids
            .iter()
            .map(|&g| self.store.slots[g].shard.write())
            .collect();
        let generation = self.store.snap_gen();
        for (g, &gid) in guards.iter_mut().zip(gids) {
            self.store.before_write(gid, g, generation);
        }
        let before: Vec<usize> = guards.iter().map(|g| g.mem).collect();
        let mut refs: Vec<&mut Shard> = guards.iter_mut().map(|g| &mut **g).collect();
        let r = f(&mut refs);
        for ((g, &gid), b) in guards.iter().zip(gids).zip(before) {
            self.store.settle(gid, g, b);
        }
        drop(guards);
        crate::evict::flush_notices(&self.store);
        r
    }
}

/// A view of the whole store with every shard of every database write-locked, so a batch of
/// operations (MULTI/EXEC) runs atomically. Obtained from [`crate::Cache::transaction`].
///
/// It implements [`crate::Keyspace`], so the same command code runs on a `Cache` or inside a
/// transaction. It is neither `Send` nor `Sync`: it lives for one closure on one thread.
pub struct Transaction<'a> {
    pub(crate) store: &'a Store,
    pub(crate) db: Cell<usize>,
    pub(crate) guards: RefCell<Vec<RwLockWriteGuard<'a, Shard>>>,
    /// The snapshot generation when every lock was held (`snapshot.rs`): the whole transaction
    /// is on one side of any cut.
    pub(crate) generation: u64,
}

impl std::fmt::Debug for Transaction<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("db", &self.db.get())
            .finish_non_exhaustive()
    }
}

impl Transaction<'_> {
    /// Switches the database later operations of this transaction use (SELECT inside MULTI).
    ///
    /// # Errors
    /// [`crate::Error::DbIndexOutOfRange`] if `db >= databases`.
    pub fn select(&self, db: usize) -> Result<(), crate::Error> {
        if db >= self.store.databases {
            return Err(crate::Error::DbIndexOutOfRange);
        }
        self.db.set(db);
        Ok(())
    }
}

impl Access for Transaction<'_> {
    fn store(&self) -> &Store {
        self.store
    }
    fn make_room(&self) -> Result<(), crate::Error> {
        Ok(())
    }
    fn db_index_raw(&self) -> usize {
        self.db.get()
    }
    fn read<R>(&self, gid: usize, f: impl FnOnce(&Shard) -> R) -> R {
        let g = self.guards.borrow();
        f(&g[gid])
    }
    fn write<R>(&self, gid: usize, f: impl FnOnce(&mut Shard) -> R) -> R {
        let mut g = self.guards.borrow_mut();
        self.store.before_write(gid, &mut g[gid], self.generation);
        let before = g[gid].mem;
        let r = f(&mut g[gid]);
        self.store.settle(gid, &g[gid], before);
        r
    }
    fn read_many<R>(&self, gids: &[usize], f: impl FnOnce(&[&Shard]) -> R) -> R {
        let g = self.guards.borrow();
        let refs: Vec<&Shard> = gids.iter().map(|&i| &*g[i]).collect();
        f(&refs)
    }
    fn write_many<R>(&self, gids: &[usize], f: impl FnOnce(&mut [&mut Shard]) -> R) -> R {
        let mut g = self.guards.borrow_mut();
        for &i in gids {
            self.store.before_write(i, &mut g[i], self.generation);
        }
        let before: Vec<usize> = gids.iter().map(|&i| g[i].mem).collect();
        let mut refs: Vec<&mut Shard> = Vec::with_capacity(gids.len());
        let mut want = gids.iter().peekable();
        for (i, guard) in g.iter_mut().enumerate() {
            if want.peek() == Some(&&i) {
                refs.push(&mut **guard);
                want.next();
            }
        }
        let r = f(&mut refs);
        for (&i, b) in gids.iter().zip(before) {
            self.store.settle(i, &g[i], b);
        }
        r
    }
}
