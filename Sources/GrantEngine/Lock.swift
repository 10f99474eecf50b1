import Glibc

/// A value guarded by a pthread mutex.
///
/// The engine locks with this rather than `Synchronization.Mutex`: on Linux
/// the thread sanitizer does not see `Mutex`'s acquire and release (two
/// threads incrementing a `Mutex<[Int]>` produce "Swift access race"
/// reports although the count comes out exact), while it intercepts
/// pthread mutexes, so the engine's locking can be checked. It is also no
/// slower uncontended.
///
/// `@unchecked Sendable` is sound because `value` is only reached inside
/// `withLock`, with the mutex held.
final class Lock<Value: ~Copyable>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    /// Behind a pointer rather than in a stored property: the value is
    /// already exclusive under the mutex, and a property would pay Swift's
    /// dynamic exclusivity check on every access.
    private let value: UnsafeMutablePointer<Value>

    init(_ value: consuming Value) {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        self.value = .allocate(capacity: 1)
        self.value.initialize(to: value)
    }

    deinit {
        value.deinitialize(count: 1)
        value.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` with exclusive access to the value.
    func withLock<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value.pointee)
    }
}
