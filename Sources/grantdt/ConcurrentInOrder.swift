import Dispatch
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
        DispatchQueue.concurrentPerform(iterations: count) { index in
            pending.complete(index, with: transform(self[index]), deliver: deliver)
        }
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

    init(count: Int) {
        state = Mutex(State(results: Array(repeating: nil, count: count)))
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
