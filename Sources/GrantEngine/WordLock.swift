import Glibc
import Synchronization

/// A lock in one word, for critical sections short enough that a waiter
/// may spin: taken with one acquiring compare-and-exchange, released with
/// one releasing store. A pthread mutex costs two atomic read-modify-writes
/// and some 60 instructions per acquisition, which showed on paths that
/// take a lock per 4 KiB page.
///
/// A waiter spins on plain loads (no cache-line ping-pong), yielding the
/// CPU every 64 rounds so a holder that was preempted can finish. The
/// thread sanitizer sees these atomics, as it sees pthread mutexes.
public struct WordLock: ~Copyable, Sendable {
    @usableFromInline let locked = Atomic<Bool>(false)

    public init() {}

    /// Runs `body` holding the lock.
    @inlinable @inline(__always)
    public borrowing func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        while !locked.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged {
            waitUntilFree()
        }
        defer { locked.store(false, ordering: .releasing) }
        return try body()
    }

    @usableFromInline
    borrowing func waitUntilFree() {
        var rounds = 0
        while locked.load(ordering: .relaxed) {
            rounds += 1
            if rounds % 64 == 0 { sched_yield() }
        }
    }
}
