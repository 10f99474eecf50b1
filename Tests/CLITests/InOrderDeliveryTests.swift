import Glibc
import Synchronization
import Testing

@testable import grantdt

/// `concurrentForEachInOrder`: every result delivered once, in the
/// elements' order, never two deliveries at the same time, whatever order
/// the work finishes in.
@Suite struct InOrderDeliveryTests {
    @Test(arguments: [0, 1, 2, 7, 64, 65, 500])
    func deliversEveryResultOnceInOrder(count: Int) {
        let delivered = Mutex<[Int]>([])
        let inside = Atomic<Int>(0)
        let overlapped = Atomic<Bool>(false)
        // Uneven work: later elements often finish before earlier ones.
        Array(0..<count).concurrentForEachInOrder { element in
            usleep(UInt32((element * 7919) % 13) * 50)
            return element * 3
        } deliver: { result in
            if inside.wrappingAdd(1, ordering: .acquiringAndReleasing).newValue > 1 { overlapped.store(true, ordering: .relaxed) }
            delivered.withLock { $0.append(result) }
            usleep(20)
            inside.wrappingSubtract(1, ordering: .acquiringAndReleasing)
        }
        #expect(delivered.withLock { $0 } == (0..<count).map { $0 * 3 })
        let sawOverlap = overlapped.load(ordering: .relaxed)
        #expect(!sawOverlap)
    }
}

/// `Cores.runOnEach`: the body runs on the calling thread and on one new
/// thread per further core, never on more threads than the limit, and
/// every thread has finished when it returns.
@Suite struct CoresTests {
    private static func threadsRunning(upTo limit: Int) -> (threads: Set<UInt>, callerTookPart: Bool, unfinished: Int) {
        let caller = UInt(bitPattern: Int(pthread_self()))
        let seen = Mutex<Set<UInt>>([])
        let running = Atomic<Int>(0)
        Cores.runOnEach(upTo: limit) {
            running.wrappingAdd(1, ordering: .relaxed)
            seen.withLock { _ = $0.insert(UInt(bitPattern: Int(pthread_self()))) }
            usleep(2_000)
            running.wrappingSubtract(1, ordering: .relaxed)
        }
        let threads = seen.withLock { $0 }
        return (threads, threads.contains(caller), running.load(ordering: .relaxed))
    }

    @Test func oneThreadPerUsableCore() {
        let (threads, callerTookPart, unfinished) = Self.threadsRunning(upTo: 64)
        #expect(threads.count == Cores.usable)
        #expect(callerTookPart)
        #expect(unfinished == 0)
    }

    @Test(arguments: [0, 1])
    func aLimitOfOneOrLessRunsOnTheCallerAlone(limit: Int) {
        let (threads, callerTookPart, _) = Self.threadsRunning(upTo: limit)
        #expect(threads.count == 1 && callerTookPart)
    }
}
