import GrantEngine

/// Decides whether an attack step that got through reached memory the
/// device was given. It holds the guest's (and the bystander's) view —
/// grant entries, the page allocator, the device's pool — and is never
/// consulted by the attacker for anything but the verdict.
struct AttackJudge: Sendable {
    let guest: Domain
    let bystander: Domain
    /// The attacking backend's domain.
    let attacker: DomainID
    /// The device's restricted DMA pool (bounce), which its backend is
    /// meant to reach.
    let window: GuestRegion?

    /// A grant mapping got through: contained when the granter's entry
    /// grants that ref to the attacker right now (Xen checked the same),
    /// succeeded otherwise.
    func grantMapped(_ ref: GrantRef, of granter: DomainID) -> Attempt.Verdict {
        let owner = granter == guest.id ? guest : granter == bystander.id ? bystander : nil
        guard let entry = owner?.grants.entry(ref), entry.permitsAccess, entry.domain == attacker else { return .succeeded }
        return .contained
    }

    /// A foreign mapping got through: contained only inside the device's
    /// own pool.
    func foreignMapped(_ frame: FrameNumber, of owner: DomainID) -> Attempt.Verdict {
        if owner == guest.id, let window, window.contains(frame.address) { return .contained }
        return .succeeded
    }
}
