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
        lock()
        defer { unlock() }
        return try body()
    }

    /// Takes the lock, for holders of several at once (a run of frames);
    /// everything else uses `withLock`.
    @inlinable @inline(__always)
    public borrowing func lock() {
        while !locked.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged {
            waitUntilFree()
        }
    }

    /// Releases the lock `lock` took.
    @inlinable @inline(__always)
    public borrowing func unlock() {
        locked.store(false, ordering: .releasing)
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

/// A value guarded by a `WordLock`: for state whose critical sections are
/// short lookups taken on every request (`Lock`'s pthread mutex cost some
/// 60 instructions per acquisition there).
///
/// `@unchecked Sendable` is sound because `value` is only reached inside
/// `withLock`, with the lock held.
final class WordLocked<Value: ~Copyable>: @unchecked Sendable {
    private let lock = WordLock()
    /// Behind a pointer, as in `Lock`: no dynamic exclusivity check.
    private let value: UnsafeMutablePointer<Value>

    init(_ value: consuming Value) {
        self.value = .allocate(capacity: 1)
        self.value.initialize(to: value)
    }

    deinit {
        value.deinitialize(count: 1)
        value.deallocate()
    }

    /// Runs `body` with exclusive access to the value.
    func withLock<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        try lock.withLock { () throws(E) -> R in try body(&value.pointee) }
    }
}
