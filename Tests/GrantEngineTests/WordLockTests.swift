import Foundation
import GrantEngine
import Testing

/// A counter that only the lock guards.
private final class LockedCounter: @unchecked Sendable {
    let lock = WordLock()
    private let count = UnsafeMutablePointer<Int>.allocate(capacity: 1)

    init() { count.initialize(to: 0) }
    deinit { count.deallocate() }

    func increment() { lock.withLock { count.pointee += 1 } }
    var value: Int { lock.withLock { count.pointee } }
}

@Suite struct WordLockTests {
    @Test func excludesConcurrentHolders() {
        let counter = LockedCounter()
        let threads = 4, rounds = 20_000
        let group = DispatchGroup()
        for _ in 0..<threads {
            group.enter()
            Thread.detachNewThread {
                for _ in 0..<rounds { counter.increment() }
                group.leave()
            }
        }
        group.wait()
        #expect(counter.value == threads * rounds)
    }

    @Test func passesResultsAndErrorsThrough() {
        let lock = WordLock()
        #expect(lock.withLock { 42 } == 42)
        #expect(throws: MemoryFault.notMapped) { try lock.withLock { () throws(MemoryFault) in throw .notMapped } }
        // Released after the throw: taking it again does not hang.
        #expect(lock.withLock { true })
    }
}
