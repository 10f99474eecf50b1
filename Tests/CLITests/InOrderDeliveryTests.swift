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
