/// One refused operation: who asked what of whom, and the answer. The
/// engine's equivalent of an IOMMU fault log.
public struct GrantEvent: Hashable, Sendable, CustomStringConvertible {
    public enum Operation: String, Hashable, Sendable {
        case mapGrantRef = "map_grant_ref"
        case unmapGrantRef = "unmap_grant_ref"
        case grantCopy = "copy"
        case foreignMap = "foreign_map"
        case read
        case write
        /// A backend accessor refused a device address before any
        /// hypercall (outside its window, too large).
        case decode
    }

    /// What the operation named.
    public enum Location: Hashable, Sendable, CustomStringConvertible {
        case ref(GrantRef)
        case handle(MapHandle)
        case frame(FrameNumber)
        case address(DMAAddress)

        public var description: String {
            switch self {
            case .ref(let ref): ref.description
            case .handle(let handle): handle.description
            case .frame(let frame): frame.description
            case .address(let address): "address \(address)"
            }
        }
    }

    /// Position in the log, from 0.
    public let sequence: Int
    public let operation: Operation
    public let caller: DomainID
    /// The granting or foreign domain, when there is one.
    public let target: DomainID?
    public let location: Location
    public let access: Access?
    /// Xen's status, for grant-table operations.
    public let status: GrantStatus?
    /// The errno, for foreign mappings.
    public let errno: Int32?
    /// The refusal in plain words.
    public let reason: String

    public var description: String {
        var text = "#\(sequence) \(caller) \(operation.rawValue)"
        if let target { text += " \(target)" }
        text += " \(location)"
        if let access { text += " \(access)" }
        if let status { text += ": \(status)" }
        if let errno { text += ": errno \(errno)" }
        return text + ": " + reason
    }
}

/// The hypervisor's record of every refused operation. Thread-safe; keeps
/// the first `capacity` events and counts the rest.
public final class EventLog: Sendable {
    private struct Storage {
        var events: [GrantEvent] = []
        var total = 0
    }

    public let capacity: Int
    private let storage = Lock(Storage())

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// The events kept, oldest first.
    public var events: [GrantEvent] { storage.withLock { $0.events } }
    /// Events ever recorded, including those beyond `capacity`.
    public var total: Int { storage.withLock { $0.total } }

    /// The kept events of one caller.
    public func events(by caller: DomainID) -> [GrantEvent] {
        events.filter { $0.caller == caller }
    }

    func record(
        _ operation: GrantEvent.Operation, caller: DomainID, target: DomainID?, location: GrantEvent.Location,
        access: Access?, status: GrantStatus? = nil, errno: Int32? = nil, reason: String
    ) {
        storage.withLock { storage in
            if storage.events.count < capacity {
                storage.events.append(
                    GrantEvent(
                        sequence: storage.total, operation: operation, caller: caller, target: target,
                        location: location, access: access, status: status, errno: errno, reason: reason))
            }
            storage.total += 1
        }
    }

    func record(_ error: GrantError, _ operation: GrantEvent.Operation, caller: DomainID, target: DomainID?,
                location: GrantEvent.Location, access: Access?) {
        record(operation, caller: caller, target: target, location: location, access: access,
               status: error.status, reason: error.reason)
    }

    func record(_ fault: MemoryFault, _ operation: GrantEvent.Operation, caller: DomainID, target: DomainID?,
                location: GrantEvent.Location) {
        record(operation, caller: caller, target: target, location: location,
               access: operation == .write ? .writable : .readOnly, reason: fault.description)
    }
}
