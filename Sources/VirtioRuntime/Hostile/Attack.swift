import GrantEngine

/// The attacks of `grantdt run --hostile`, with their fixed ids.
public enum AttackID: String, CaseIterable, Hashable, Sendable {
    /// Map refs of the guest that were never granted.
    case mapUngranted = "map-ungranted"
    /// Map grants of another domain (a bystander guest).
    case mapOtherDomain = "map-other-domain"
    /// Write into a buffer the guest gave read-only (virtio-blk write data).
    case writeReadOnly = "write-readonly"
    /// Map a request's buffers again after the guest ended their grants.
    case mapAfterEnd = "map-after-end"
    /// Unmap a mapping twice; use a mapping after unmapping it.
    case reuseHandle = "reuse-handle"
    /// Hand Xen a guest-physical address instead of a grant (privcmd).
    case forgeGPA = "forge-gpa"
    /// Scan the guest's grant refs for anything mappable.
    case guessRefs = "guess-refs"
    /// Keep a ring mapping across the device reset.
    case holdMapping = "hold-mapping"
    /// Read past the end of a buffer: the rest of its page, the next page.
    case readOutsideBuffer = "read-outside-buffer"
}

/// What an attack achieved.
public enum AttackOutcome: String, Hashable, Sendable {
    /// Every attempt was refused: nothing reached.
    case refused
    /// It reached what the device was already given and no further (or
    /// the damage stayed inside: the device broken, nothing reused).
    case contained
    /// It reached guest memory the device was not given.
    case succeeded
}

/// One attack's result on one device.
public struct AttackReport: Hashable, Sendable {
    public let device: String
    public let attack: AttackID
    public let outcome: AttackOutcome
    /// Xen's status for the refusal that stopped it, if a grant operation
    /// was refused.
    public let status: GrantStatus?
    /// The status's name, or the errno of a refused foreign mapping.
    public let statusName: String?
    /// What happened, in words.
    public let detail: String
}

/// Why one attempt did not get through.
enum Refusal: Hashable {
    case grant(GrantStatus)
    /// A refused foreign mapping, by errno name.
    case errno(String)
    /// The access itself faulted (an unmapped or read-only mapping, a
    /// bounds check).
    case fault(MemoryFault)
    /// The hypervisor call reported failure without a status (a second
    /// foreign unmap).
    case rejected

    var status: GrantStatus? {
        if case .grant(let status) = self { return status }
        return nil
    }

    var name: String? {
        switch self {
        case .grant(let status): status.name
        case .errno(let name): name
        case .fault, .rejected: nil
        }
    }

    var text: String {
        switch self {
        case .grant(let status): status.description
        case .errno(let name): name
        case .fault(let fault): "fault: \(fault)"
        case .rejected: "rejected"
        }
    }
}

/// One step of an attack, judged as it happened.
struct Attempt {
    enum Verdict {
        case refused(Refusal)
        /// Got through to something the device was given.
        case contained
        /// Got through to something it was not given.
        case succeeded
    }

    let action: String
    let verdict: Verdict
}

extension Attempt.Verdict {
    /// The kind of result, to group many attempts.
    var kind: String {
        switch self {
        case .refused(let refusal): "refused \(refusal.text)"
        case .contained: "contained"
        case .succeeded: "succeeded"
        }
    }
}

/// Everything one attack tried, reduced to its outcome: succeeded if any
/// step succeeded, else contained if any got through, else refused. The
/// status reported is the first grant status among the refusals, else the
/// first errno.
struct AttackRecord {
    let attack: AttackID
    var attempts: [Attempt] = []

    mutating func add(_ action: String, _ verdict: Attempt.Verdict) {
        attempts.append(Attempt(action: action, verdict: verdict))
    }

    func report(device: String) -> AttackReport {
        var outcome = AttackOutcome.refused
        var refusals: [Refusal] = []
        for attempt in attempts {
            switch attempt.verdict {
            case .succeeded: outcome = .succeeded
            case .contained: if outcome == .refused { outcome = .contained }
            case .refused(let refusal): refusals.append(refusal)
            }
        }
        let chosen = refusals.first { $0.status != nil } ?? refusals.first { $0.name != nil }
        let detail = attempts.map { attempt -> String in
            switch attempt.verdict {
            case .refused(let refusal): "\(attempt.action): refused (\(refusal.text))"
            case .contained: "\(attempt.action): got through, only to memory the device was given"
            case .succeeded: "\(attempt.action): REACHED memory the device was not given"
            }
        }.joined(separator: "; ")
        return AttackReport(
            device: device, attack: attack, outcome: attempts.isEmpty ? .refused : outcome, status: chosen?.status,
            statusName: chosen?.name, detail: detail.isEmpty ? "nothing to attempt" : detail)
    }
}
