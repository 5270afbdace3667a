//! `status.adopted`: whether the remote object was taken over rather than created by the
//! resource; the same rule for every kind that can adopt.

/// `status.adopted` after a pass that found the object. `claimed`: `Some(true)` when the pass
/// adopted or observed it, `Some(false)` when it recorded it as the resource's own. Without a
/// claim, a create makes it `false`; otherwise it stays as it was (`false` when never set).
pub fn adopted(was: Option<bool>, claimed: Option<bool>, created: bool) -> Option<bool> {
    Some(claimed.unwrap_or(!created && was.unwrap_or(false)))
}

#[cfg(test)]
mod tests {
    use super::adopted;

    #[test]
    fn a_claim_decides_else_a_create_else_what_was_there() {
        assert_eq!(adopted(Some(false), Some(true), true), Some(true));
        assert_eq!(adopted(Some(true), Some(false), false), Some(false));
        assert_eq!(adopted(Some(true), None, true), Some(false));
        assert_eq!(adopted(Some(true), None, false), Some(true));
        assert_eq!(adopted(None, None, false), Some(false));
    }
}
