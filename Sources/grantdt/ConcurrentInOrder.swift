import Glibc
import Synchronization

extension Array where Element: Sendable {
    /// `transform` applied to every element, spread over the machine's
    /// cores; each result is handed to `deliver` in the elements' order as
    /// soon as it and every result before it are done.
    ///
    /// There is no barrier: a core that finishes an element takes the
    /// next one while the thread whose result completed the ordered prefix
    /// delivers it. `deliver` runs on one thread at a time, never
    /// concurrently with itself.
    func concurrentForEachInOrder<Result: Sendable>(
        _ transform: @Sendable (Element) -> Result, deliver: @Sendable (Result) -> Void
    ) {
        let pending = InOrderQueue<Result>(count: count)
        Cores.runOnEach(upTo: count) {
            while let index = pending.claim() {
                pending.complete(index, with: transform(self[index]), deliver: deliver)
            }
        }
    }
}

/// Plain threads, one per usable core: Dispatch's pool started its
/// workers one after the other while the first guests compiled on one
/// core, and brought a manager thread, an epoll set and timers with it.
enum Cores {
    /// Runs `body` on the calling thread and on one new thread per further
    /// core this process may use (at most `limit` threads in all), and
    /// returns when every one has finished. A thread the system refuses
    /// just leaves its share to the others.
    static func runOnEach(upTo limit: Int, _ body: @Sendable () -> Void) {
        withoutActuallyEscaping(body) { body in
            var threads: [pthread_t] = []
            for _ in 1..<Swift.max(1, Swift.min(usable, limit)) {
                let box = Unmanaged.passRetained(Body(body))
                var thread = pthread_t()
                let created = pthread_create(&thread, nil, { context in
                    guard let context else { return nil }
                    Unmanaged<Body>.fromOpaque(context).takeRetainedValue().run()
                    return nil
                }, box.toOpaque())
                if created == 0 { threads.append(thread) } else { box.release() }
            }
            body()
            for thread in threads { pthread_join(thread, nil) }
        }
    }

    /// The cores online (more threads than an affinity mask allows only
    /// share those cores).
    static var usable: Int { Swift.max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))) }

    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }
}

/// Results that arrive in any order and leave in index order.
private final class InOrderQueue<Result: Sendable>: Sendable {
    private struct State {
        var results: [Result?]
        /// The first index not delivered yet.
        var next = 0
        /// Whether some thread is delivering: others only deposit.
        var delivering = false

        /// Takes the results from `next` up to the first missing one.
        mutating func takeReadyPrefix() -> [Result] {
            var prefix: [Result] = []
            while next < results.count, let result = results[next] {
                results[next] = nil
                prefix.append(result)
                next += 1
            }
            return prefix
        }
    }

    private let state: Mutex<State>

    /// The next index no thread has taken yet.
    private let claimed = Atomic<Int>(0)
    private let count: Int

    init(count: Int) {
        self.count = count
        state = Mutex(State(results: Array(repeating: nil, count: count)))
    }

    /// An index for the calling thread to work on, or nil when all are taken.
    func claim() -> Int? {
        let index = claimed.wrappingAdd(1, ordering: .relaxed).oldValue
        return index < count ? index : nil
    }

    /// Stores result `index`; unless another thread is delivering, delivers
    /// the ready prefix (outside the lock) until none is left.
    func complete(_ index: Int, with result: Result, deliver: (Result) -> Void) {
        var ready = state.withLock { state -> [Result] in
            state.results[index] = result
            guard !state.delivering else { return [] }
            let prefix = state.takeReadyPrefix()
            state.delivering = !prefix.isEmpty
            return prefix
        }
        while !ready.isEmpty {
            ready.forEach(deliver)
            ready = state.withLock { state in
                let more = state.takeReadyPrefix()
                if more.isEmpty { state.delivering = false }
                return more
            }
        }
    }
}
