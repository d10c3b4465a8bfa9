//! The lab's table of live entries, reachable by the user's name and by the poll token.
//!
//! Both maps live here and change together, so no caller can leave a name pointing at a token
//! that is gone (or the other way round); a missing name is a [`LabError`], never a panic.

use std::collections::{BTreeMap, HashMap};

use mio::Token;

use super::entry::Entry;
use super::error::LabError;

#[derive(Debug, Default)]
pub struct SocketTable {
    /// Ordered by token, which is creation order: listings and snapshots follow it.
    by_token: BTreeMap<Token, Entry>,
    by_name: HashMap<String, Token>,
}

impl SocketTable {
    /// Adds an entry under its name and token. A name already taken is refused and nothing is
    /// replaced (the refused entry is dropped, closing its descriptor; verbs check the name with
    /// [`ensure_free`](Self::ensure_free) before they make a syscall, so this is a last guard).
    pub fn insert(&mut self, entry: Entry) -> Result<(), LabError> {
        self.ensure_free(entry.name())?;
        debug_assert!(
            !self.by_token.contains_key(&entry.token()),
            "tokens are never reused"
        );
        self.by_name.insert(entry.name().to_owned(), entry.token());
        self.by_token.insert(entry.token(), entry);
        Ok(())
    }

    /// Takes an entry out of both maps.
    pub fn remove(&mut self, token: Token) -> Option<Entry> {
        let entry = self.by_token.remove(&token)?;
        self.by_name.remove(entry.name());
        Some(entry)
    }

    /// Takes the entry named `name` out of both maps (to rebuild it and [`insert`](Self::insert)
    /// it again, as `listen` does when a fresh socket becomes a listener).
    pub fn take(&mut self, name: &str) -> Result<Entry, LabError> {
        let token = self.token_of(name)?;
        self.remove(token)
            .ok_or_else(|| LabError::UnknownName(name.to_owned()))
    }

    pub fn clear(&mut self) {
        self.by_token.clear();
        self.by_name.clear();
    }

    #[must_use]
    pub fn contains_name(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    pub fn ensure_free(&self, name: &str) -> Result<(), LabError> {
        if self.contains_name(name) {
            Err(LabError::NameInUse(name.to_owned()))
        } else {
            Ok(())
        }
    }

    pub fn token_of(&self, name: &str) -> Result<Token, LabError> {
        self.by_name
            .get(name)
            .copied()
            .ok_or_else(|| LabError::UnknownName(name.to_owned()))
    }

    /// The entry named `name`.
    pub fn named(&self, name: &str) -> Result<&Entry, LabError> {
        let token = self.token_of(name)?;
        self.by_token
            .get(&token)
            .ok_or_else(|| LabError::UnknownName(name.to_owned()))
    }

    /// The entry named `name`, to change (its name and token stay as they are: see [`Entry`]).
    pub fn named_mut(&mut self, name: &str) -> Result<&mut Entry, LabError> {
        let token = self.token_of(name)?;
        self.by_token
            .get_mut(&token)
            .ok_or_else(|| LabError::UnknownName(name.to_owned()))
    }

    /// The entry an event's token belongs to; `None` once it is closed (a late event).
    #[must_use]
    pub fn get(&self, token: Token) -> Option<&Entry> {
        self.by_token.get(&token)
    }

    pub fn get_mut(&mut self, token: Token) -> Option<&mut Entry> {
        self.by_token.get_mut(&token)
    }

    /// Every entry, in creation order.
    pub fn values(&self) -> impl Iterator<Item = &Entry> {
        self.by_token.values()
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut Entry> {
        self.by_token.values_mut()
    }
}

#[cfg(test)]
mod tests {
    use std::fs::File;

    use super::*;
    use crate::lab::entry::Handle;

    fn file_entry(name: &str, token: usize) -> Entry {
        let file = File::open("/dev/null").expect("/dev/null opens");
        Entry::new(
            name.to_owned(),
            Handle::File(file),
            Token(token),
            None,
            false,
        )
    }

    #[test]
    fn a_missing_name_is_an_error_not_a_panic() {
        let mut table = SocketTable::default();
        assert_eq!(
            table.named("ghost").err(),
            Some(LabError::UnknownName("ghost".to_owned()))
        );
        assert!(table.named_mut("ghost").is_err());
        assert!(table.take("ghost").is_err());
        assert!(table.token_of("ghost").is_err());
    }

    #[test]
    fn both_maps_change_together() {
        let mut table = SocketTable::default();
        table.insert(file_entry("f", 16)).expect("free name");
        assert_eq!(table.token_of("f"), Ok(Token(16)));
        assert_eq!(
            table.insert(file_entry("f", 17)).err(),
            Some(LabError::NameInUse("f".to_owned()))
        );
        assert!(
            table.get(Token(17)).is_none(),
            "a refused entry is not half-inserted"
        );
        let removed = table.remove(Token(16)).expect("live");
        assert_eq!(removed.name(), "f");
        assert!(
            !table.contains_name("f"),
            "removing by token frees the name"
        );
        table.insert(removed).expect("the name is free again");
        let taken = table.take("f").expect("live");
        assert!(
            table.get(taken.token()).is_none(),
            "taking by name frees the token"
        );
        assert_eq!(table.values().count(), 0);
    }

    #[test]
    fn values_come_in_creation_order() {
        let mut table = SocketTable::default();
        for (name, token) in [("b", 18), ("a", 16), ("c", 17)] {
            table.insert(file_entry(name, token)).expect("free name");
        }
        let names: Vec<&str> = table.values().map(Entry::name).collect();
        assert_eq!(names, ["a", "c", "b"]);
    }
}
