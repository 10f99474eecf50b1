import Synchronization

/// A reference that is set at most once and read without locks: a lazily
/// created chunk of frames, a grant-table frame.
///
/// The standard library's `AtomicLazyReference` does the same, but its
/// `load` is not inlined (every call looks up generic metadata), which made
/// it the most expensive part of a frame lookup. This keeps the object's
/// address in an `Atomic<UInt>` and holds one strong reference to it.
struct OnceReference<Instance: AnyObject & Sendable>: ~Copyable, Sendable {
    private let address = Atomic<UInt>(0)

    init() {}

    func load() -> Instance? {
        Self.instance(at: address.load(ordering: .acquiring))
    }

    /// Runs `body` with the instance, if one is stored, without retaining
    /// it: this holds it strongly until deinit and never replaces it, so
    /// it lives as long as the caller holds whatever holds this.
    func withInstance<R>(_ body: (Instance) -> R) -> R? {
        guard let pointer = UnsafeRawPointer(bitPattern: address.load(ordering: .acquiring)) else { return nil }
        return Unmanaged<Instance>.fromOpaque(pointer)._withUnsafeGuaranteedRef(body)
    }

    /// Stores `instance` unless another one got there first; returns the
    /// one that is stored.
    func storeIfNil(_ instance: Instance) -> Instance {
        let retained = Unmanaged.passRetained(instance)
        let (exchanged, current) = address.compareExchange(
            expected: 0, desired: UInt(bitPattern: retained.toOpaque()), ordering: .acquiringAndReleasing)
        if exchanged { return instance }
        retained.release()
        return Self.instance(at: current) ?? instance
    }

    deinit {
        if let pointer = UnsafeRawPointer(bitPattern: address.load(ordering: .acquiring)) {
            Unmanaged<Instance>.fromOpaque(pointer).release()
        }
    }

    private static func instance(at address: UInt) -> Instance? {
        guard let pointer = UnsafeRawPointer(bitPattern: address) else { return nil }
        return Unmanaged<Instance>.fromOpaque(pointer).takeUnretainedValue()
    }
}

/// A fixed number of `OnceReference`s in one allocation: the chunk slots of
/// a memory map, the frame slots of a grant table. Reaching a slot retains
/// nothing, where loading an object out of an array (an array of objects
/// each holding one `OnceReference`) retains and releases it every time.
///
/// `@unchecked Sendable`: the buffer is reached only through the slots'
/// atomics, and lives exactly as long as this object.
final class OnceReferences<Instance: AnyObject & Sendable>: @unchecked Sendable {
    let count: Int
    private let slots: UnsafeMutablePointer<OnceReference<Instance>>

    init(count: Int) {
        self.count = count
        slots = .allocate(capacity: count)
        for index in 0..<count { (slots + index).initialize(to: OnceReference()) }
    }

    deinit {
        slots.deinitialize(count: count)
        slots.deallocate()
    }

    func load(at index: Int) -> Instance? { slot(index).pointee.load() }

    /// Runs `body` with the instance at `index` unretained, if one is
    /// stored (see `OnceReference.withInstance`).
    func withInstance<R>(at index: Int, _ body: (Instance) -> R) -> R? { slot(index).pointee.withInstance(body) }

    func storeIfNil(_ instance: Instance, at index: Int) -> Instance { slot(index).pointee.storeIfNil(instance) }

    private func slot(_ index: Int) -> UnsafeMutablePointer<OnceReference<Instance>> {
        precondition(index >= 0 && index < count, "slot \(index) beyond \(count)")
        return slots + index
    }
}
