import Synchronization

/// Relaxed atomic counters named by the cases of `Key`, cheap enough for
/// hot paths and safe from any thread.
final class CounterSet<Key: RawRepresentable & CaseIterable>: Sendable where Key.RawValue == Int {
    private final class Cell: Sendable {
        let value = Atomic<Int>(0)
    }

    private let cells = Key.allCases.map { _ in Cell() }

    func add(_ key: Key, _ amount: Int = 1) {
        cells[key.rawValue].value.wrappingAdd(amount, ordering: .relaxed)
    }

    subscript(key: Key) -> Int { cells[key.rawValue].value.load(ordering: .relaxed) }
}
