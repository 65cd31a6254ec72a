//! WebSocket connections open per client address on this node, bounded.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// WebSocket connections open per client address on this node, bounded.
pub struct ConnectionSlots {
    open: Mutex<HashMap<String, usize>>,
    per_address: usize,
}

/// One connection's place, given back when it closes.
pub struct ConnectionSlot {
    slots: Arc<ConnectionSlots>,
    address: String,
}

impl ConnectionSlots {
    pub fn new(per_address: usize) -> Self {
        Self {
            open: Mutex::default(),
            per_address,
        }
    }

    /// A place for one more connection from `address`; None when it holds all it may.
    pub fn take(self: &Arc<Self>, address: &str) -> Option<ConnectionSlot> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(address.to_owned()).or_insert(0);
        if *count >= self.per_address {
            return None;
        }
        *count += 1;
        Some(ConnectionSlot {
            slots: self.clone(),
            address: address.to_owned(),
        })
    }

    pub fn open_from(&self, address: &str) -> usize {
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.get(address).copied().unwrap_or(0)
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut open = self
            .slots
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.address);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_holds_at_most_its_share_and_gets_places_back() {
        let slots = Arc::new(ConnectionSlots::new(2));
        let first = slots.take("10.0.0.1").unwrap();
        let _second = slots.take("10.0.0.1").unwrap();
        assert!(slots.take("10.0.0.1").is_none());
        assert!(
            slots.take("10.0.0.2").is_some(),
            "other addresses are apart"
        );
        drop(first);
        assert_eq!(slots.open_from("10.0.0.1"), 1);
        assert!(slots.take("10.0.0.1").is_some());
    }
}
