import Glibc

/// State shared between a frontend thread and a backend thread, guarded by
/// a pthread mutex, with condition variables to wait on it.
///
/// pthreads rather than `Synchronization.Mutex` for the same reason as the
/// grant engine's locks: the thread sanitizer intercepts pthread mutexes
/// and condition variables, so every wait and wake-up here is checked.
///
/// `@unchecked Sendable` is sound: `state` is reached only with the mutex
/// held (inside `withLock` or a wait's predicate).
final class Monitor<State>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let conditions: UnsafeMutablePointer<pthread_cond_t>
    private let conditionCount: Int
    private let state: UnsafeMutablePointer<State>

    /// A monitor with `conditions` condition variables, numbered from 0.
    init(_ initial: State, conditions: Int = 1) {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        conditionCount = conditions
        self.conditions = .allocate(capacity: conditions)
        for index in 0..<conditions {
            (self.conditions + index).initialize(to: pthread_cond_t())
            pthread_cond_init(self.conditions + index, nil)
        }
        state = .allocate(capacity: 1)
        state.initialize(to: initial)
    }

    deinit {
        state.deinitialize(count: 1)
        state.deallocate()
        for index in 0..<conditionCount { pthread_cond_destroy(conditions + index) }
        conditions.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` with the state, holding the mutex.
    func withLock<R, E: Error>(_ body: (inout State) throws(E) -> R) throws(E) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&state.pointee)
    }

    /// Blocks on `condition` until `ready` returns a value (it runs with
    /// the mutex held, first at once, then after every wake-up).
    func wait<R>(on condition: Int = 0, until ready: (inout State) -> R?) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while true {
            if let result = ready(&state.pointee) { return result }
            pthread_cond_wait(conditions + condition, mutex)
        }
    }

    /// Like `wait(on:until:)`, but gives up after `seconds` and returns nil.
    func wait<R>(on condition: Int = 0, seconds: Int, until ready: (inout State) -> R?) -> R? {
        var deadline = timespec()
        clock_gettime(CLOCK_REALTIME, &deadline)
        deadline.tv_sec += seconds
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while true {
            if let result = ready(&state.pointee) { return result }
            if pthread_cond_timedwait(conditions + condition, mutex, &deadline) == ETIMEDOUT {
                return ready(&state.pointee)
            }
        }
    }

    /// Wakes every thread waiting on `condition`. Call after changing the
    /// state it waits for (with or without the mutex held).
    func broadcast(_ condition: Int = 0) {
        pthread_cond_broadcast(conditions + condition)
    }
}
