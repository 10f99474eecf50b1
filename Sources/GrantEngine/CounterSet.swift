import Synchronization

/// Relaxed atomic counters named by the cases of `Key` (raw values
/// `0..<allCases.count`), cheap enough for hot paths and safe from any
/// thread.
///
/// The counters live in one allocation: reaching one retains nothing,
/// where an array of objects, one per counter, retained and released the
/// counter's object on every add. `@unchecked Sendable`: the buffer is
/// reached only through its atomics and lives as long as this object.
final class CounterSet<Key: RawRepresentable & CaseIterable>: @unchecked Sendable where Key.RawValue == Int {
    private let count: Int
    private let values: UnsafeMutablePointer<Atomic<Int>>

    init() {
        count = Key.allCases.count
        values = .allocate(capacity: count)
        for index in 0..<count { (values + index).initialize(to: Atomic(0)) }
    }

    deinit {
        values.deinitialize(count: count)
        values.deallocate()
    }

    func add(_ key: Key, _ amount: Int = 1) {
        value(key).pointee.wrappingAdd(amount, ordering: .relaxed)
    }

    subscript(key: Key) -> Int { value(key).pointee.load(ordering: .relaxed) }

    private func value(_ key: Key) -> UnsafeMutablePointer<Atomic<Int>> {
        precondition((0..<count).contains(key.rawValue), "counter \(key.rawValue) beyond \(count)")
        return values + key.rawValue
    }
}
