//! The heap's object table: object id -> object, looked up on every
//! getfield, putfield, array access and native call.
//!
//! Why not a `BTreeMap`: the interpreter looks objects up several times per
//! bytecode that touches one, and a B-tree walk of a few hundred objects cost
//! a measurable share of every APDU. A hash map with a cheap integer hash
//! (rustc-hash's Fx) makes the lookup a multiply and a probe. What must stay
//! ordered — the serialized form, equality, the full store write — goes
//! through [`ObjectTable::iter`], which yields objects in id order, so the
//! files jct writes are the same bytes as before.

use std::collections::{BTreeMap, HashMap};

use rustc_hash::FxBuildHasher;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::heap::{Obj, ObjId};

/// Objects by id, O(1) lookup, id-ordered iteration on demand.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectTable {
    map: HashMap<ObjId, Obj, FxBuildHasher>,
}

impl ObjectTable {
    pub fn new() -> ObjectTable {
        ObjectTable::default()
    }

    #[inline]
    pub fn get(&self, id: &ObjId) -> Option<&Obj> {
        self.map.get(id)
    }

    #[inline]
    pub fn get_mut(&mut self, id: &ObjId) -> Option<&mut Obj> {
        self.map.get_mut(id)
    }

    #[inline]
    pub fn contains_key(&self, id: &ObjId) -> bool {
        self.map.contains_key(id)
    }

    pub fn insert(&mut self, id: ObjId, obj: Obj) -> Option<Obj> {
        self.map.insert(id, obj)
    }

    pub fn remove(&mut self, id: &ObjId) -> Option<Obj> {
        self.map.remove(id)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The ids, in no particular order.
    pub fn keys(&self) -> impl Iterator<Item = &ObjId> {
        self.map.keys()
    }

    /// The objects, in no particular order (for sums and sweeps).
    pub fn values(&self) -> impl Iterator<Item = &Obj> {
        self.map.values()
    }

    /// The objects, in no particular order, to change in place.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut Obj> {
        self.map.values_mut()
    }

    /// (id, object) in increasing id order: for whatever is written out or
    /// compared, so it does not depend on the hash map's layout.
    pub fn iter(&self) -> impl Iterator<Item = (&ObjId, &Obj)> {
        let mut all: Vec<(&ObjId, &Obj)> = self.map.iter().collect();
        all.sort_unstable_by_key(|(id, _)| **id);
        all.into_iter()
    }
}

impl<'a> IntoIterator for &'a ObjectTable {
    type Item = (&'a ObjId, &'a Obj);
    type IntoIter = std::vec::IntoIter<(&'a ObjId, &'a Obj)>;

    fn into_iter(self) -> Self::IntoIter {
        let mut all: Vec<(&ObjId, &Obj)> = self.map.iter().collect();
        all.sort_unstable_by_key(|(id, _)| **id);
        all.into_iter()
    }
}

impl FromIterator<(ObjId, Obj)> for ObjectTable {
    fn from_iter<I: IntoIterator<Item = (ObjId, Obj)>>(it: I) -> ObjectTable {
        ObjectTable {
            map: it.into_iter().collect(),
        }
    }
}

/// Serialized as a map in id order, as the `BTreeMap` it replaces was.
impl Serialize for ObjectTable {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for ObjectTable {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ObjectTable, D::Error> {
        let ordered = BTreeMap::<ObjId, Obj>::deserialize(d)?;
        Ok(ordered.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jcvm::heap::ArrayData;

    fn array(n: usize) -> Obj {
        Obj::Array {
            data: ArrayData::Byte(vec![0; n]),
            transient: 0,
            owner: 0,
            global: false,
        }
    }

    #[test]
    fn iterates_and_serializes_in_id_order() {
        let mut t = ObjectTable::new();
        for id in [9u32, 2, 700, 5, 1] {
            t.insert(id, array(id as usize % 4));
        }
        let ids: Vec<ObjId> = t.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, [1, 2, 5, 9, 700]);
        let json = serde_json::to_string(&t).unwrap();
        let first = json.find("\"1\"").unwrap();
        let last = json.find("\"700\"").unwrap();
        assert!(first < last, "{json}");
        let back: ObjectTable = serde_json::from_str(&json).unwrap();
        assert_eq!(back, t);
        assert_eq!(t.remove(&5).map(|o| o.size()), Some(array(1).size()));
        assert!(!t.contains_key(&5));
        assert_eq!(t.len(), 4);
    }
}
