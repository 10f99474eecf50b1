/// A maptrack handle: the mapping domain's name for one grant mapping.
public struct MapHandle: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }
    public var description: String { "handle \(rawValue)" }
}

/// Flags of a map request (`GNTMAP_*`).
public struct MapFlags: OptionSet, Hashable, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let deviceMap = MapFlags(rawValue: 1 << 0)
    public static let hostMap = MapFlags(rawValue: 1 << 1)
    public static let readOnly = MapFlags(rawValue: 1 << 2)
    public static let applicationMap = MapFlags(rawValue: 1 << 3)
    public static let containsPTE = MapFlags(rawValue: 1 << 4)

    /// What an Arm backend asks for: a host mapping, read-only or not.
    public static func host(_ access: Access) -> MapFlags {
        access == .readOnly ? [.hostMap, .readOnly] : [.hostMap]
    }
}

/// Why the hypervisor refused a grant-table operation: one case per check
/// of `xen/common/grant_table.c`, each carrying the `GNTST_*` status Xen
/// returns for it.
public enum GrantError: Error, Hashable, Sendable, CustomStringConvertible {
    // map_grant_ref, in the order Xen checks (grant-dma.md §8.1)
    /// Neither `host_map` nor `device_map` requested.
    case noMappingKind(MapFlags)
    /// A translated (Arm, HVM, PVH) mapper asked for a device, application
    /// or PTE mapping.
    case deviceMappingFromTranslatedDomain(MapFlags)
    /// The named domain does not exist.
    case unknownDomain(DomainID)
    /// The security policy (XSM) refused the operation.
    case deniedByPolicy(caller: DomainID, target: DomainID)
    /// The mapping domain has no free maptrack handle.
    case maptrackFull(limit: Int)
    /// The ref is beyond the granter's current table.
    case refOutOfRange(GrantRef, entries: Int)
    /// The entry is already pinned by another domain.
    case pinnedByOtherDomain(GrantRef, pinnedBy: DomainID)
    /// 128 pins of this kind already exist.
    case pinCounterFull(GrantRef)
    /// The entry does not grant access (`GTF_permit_access` missing, or a
    /// sub-page entry asked to be mapped).
    case notPermitAccess(GrantRef, flags: UInt16)
    /// The entry grants access to a different domain.
    case grantedToOtherDomain(GrantRef, grantee: DomainID)
    /// A writable map or copy destination on a `GTF_readonly` entry.
    case writeToReadOnlyGrant(GrantRef)
    /// The granted frame is not RAM of the granter.
    case badFrame(GrantRef, frame: UInt32)
    /// The guest kept changing the entry while Xen tried to pin it (5
    /// compare-and-swap attempts failed).
    case unstableEntry(GrantRef)
    // unmap_grant_ref
    /// The handle is beyond the maptrack table or not in use (never
    /// mapped, or already unmapped).
    case badHandle(MapHandle)
    // copy
    /// A frame number (not a ref) names memory of a domain other than
    /// `DOMID_SELF`.
    case frameOfOtherDomain(DomainID)
    /// The caller's own frame is not RAM.
    case badOwnFrame(FrameNumber)
    /// `offset + length` runs past the end of a page.
    case copyCrossesPage(offset: UInt16, length: UInt16)

    /// The status Xen reports for this refusal.
    public var status: GrantStatus {
        switch self {
        case .noMappingKind, .refOutOfRange: .badGntref
        case .deviceMappingFromTranslatedDomain, .pinnedByOtherDomain, .pinCounterFull, .notPermitAccess,
            .grantedToOtherDomain, .writeToReadOnlyGrant, .unstableEntry:
            .generalError
        case .unknownDomain: .badDomain
        case .deniedByPolicy, .frameOfOtherDomain: .permissionDenied
        case .maptrackFull: .noSpace
        case .badFrame, .badOwnFrame: .badPage
        case .badHandle: .badHandle
        case .copyCrossesPage: .badCopyArg
        }
    }

    public var description: String { "\(status): \(reason)" }

    /// The refusal in plain words.
    public var reason: String {
        switch self {
        case .noMappingKind(let flags):
            "map request 0x\(String(flags.rawValue, radix: 16)) asks for neither a host nor a device mapping"
        case .deviceMappingFromTranslatedDomain(let flags):
            "a translated domain cannot make device, application or PTE mappings (flags 0x\(String(flags.rawValue, radix: 16)))"
        case .unknownDomain(let domain):
            "domain \(domain) does not exist"
        case .deniedByPolicy(let caller, let target):
            "the security policy denies \(caller) access to grants of \(target)"
        case .maptrackFull(let limit):
            "no free maptrack handle (at most \(limit) simultaneous mappings)"
        case .refOutOfRange(let ref, let entries):
            "\(ref) is beyond the granter's \(entries)-entry grant table"
        case .pinnedByOtherDomain(let ref, let pinner):
            "\(ref) is already mapped by \(pinner)"
        case .pinCounterFull(let ref):
            "\(ref) already has 128 mappings of this kind"
        case .notPermitAccess(let ref, let flags):
            "\(ref) does not permit access (flags 0x\(String(flags, radix: 16)))"
        case .grantedToOtherDomain(let ref, let grantee):
            "\(ref) is granted to \(grantee), not to the caller"
        case .writeToReadOnlyGrant(let ref):
            "\(ref) is granted read-only; a writable mapping was asked for"
        case .unstableEntry(let ref):
            "\(ref) kept changing while it was being pinned"
        case .badFrame(let ref, let frame):
            "\(ref) names frame 0x\(String(frame, radix: 16)), which is not RAM of the granter"
        case .badHandle(let handle):
            "\(handle) is not a live mapping of the caller"
        case .frameOfOtherDomain(let domain):
            "only DOMID_SELF may name a frame directly; \(domain) needs a grant ref"
        case .badOwnFrame(let frame):
            "\(frame) is not RAM of the caller"
        case .copyCrossesPage(let offset, let length):
            "copy of \(length) bytes at offset \(offset) crosses the end of the page"
        }
    }
}

/// Why a foreign mapping (`XENMEM_add_to_physmap` with
/// `XENMAPSPACE_gmfn_foreign`, what privcmd does) was refused. Xen answers
/// these with errno values, not `GNTST_*` codes.
public enum ForeignMapError: Error, Hashable, Sendable, CustomStringConvertible {
    /// `-ESRCH`: the domain does not exist.
    case unknownDomain(DomainID)
    /// `-EPERM`: a domain cannot foreign-map itself.
    case ownDomain(DomainID)
    /// `-EPERM`: only privileged domains may map another domain's frames.
    case notPrivileged(caller: DomainID, target: DomainID)
    /// `-EINVAL`: the frame is not RAM of the target.
    case notRAM(FrameNumber)

    /// The (positive) errno value; Xen returns its negation.
    public var errno: Int32 {
        switch self {
        case .unknownDomain: 3
        case .ownDomain, .notPrivileged: 1
        case .notRAM: 22
        }
    }

    public var errnoName: String {
        switch self {
        case .unknownDomain: "ESRCH"
        case .ownDomain, .notPrivileged: "EPERM"
        case .notRAM: "EINVAL"
        }
    }

    public var description: String { "-\(errnoName) (\(-errno)): \(reason)" }

    public var reason: String {
        switch self {
        case .unknownDomain(let domain): "domain \(domain) does not exist"
        case .ownDomain(let domain): "\(domain) cannot foreign-map its own memory"
        case .notPrivileged(let caller, let target):
            "\(caller) is not privileged and may not map memory of \(target) without a grant"
        case .notRAM(let frame): "\(frame) is not RAM of the target domain"
        }
    }
}
