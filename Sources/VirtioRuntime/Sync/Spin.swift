import Glibc

/// Busy-waiting for a short while before blocking: a device or driver that
/// is about to answer usually does so within microseconds, and a
/// condition-variable wake-up costs more than that. Bounded by time, so a
/// thread never burns a core for long.
enum Spin {
    /// How long a waiter spins before it blocks. Long enough to cover the
    /// gap between two completions of 64 KiB requests (about 5 us of
    /// backend work each): at 3 us the driver fell asleep between most of
    /// them, so the backend paid a futex wake per request and both threads
    /// took turns instead of running together (0.8 futex calls per request,
    /// one CPU busy; at 20 us, under 0.1 and both busy: twice the
    /// requests per second).
    static let microseconds = 20

    /// Polls `done` until it is true or `microseconds` passed; returns
    /// whether it became true.
    static func until(_ done: () -> Bool) -> Bool {
        let deadline = now() + UInt64(microseconds) * 1000
        var rounds = 0
        while true {
            if done() { return true }
            rounds += 1
            if rounds % 64 == 0 && now() >= deadline { return false }
        }
    }

    private static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}
