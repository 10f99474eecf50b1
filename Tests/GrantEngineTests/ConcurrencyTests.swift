import Foundation
import GrantEngine
import Synchronization
import Testing
import TestSupport

/// A value shared between the test's threads. NSLock (a pthread mutex) is
/// visible to the thread sanitizer, which `Synchronization.Mutex` is not.
final class Shared<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<R>(_ body: (inout Value) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}

/// A frontend thread and backend threads using the engine at once. Run
/// under the thread sanitizer (`swift test --sanitize=thread`).
@Suite struct ConcurrencyTests {
    /// Runs `bodies` on their own threads and waits for all of them.
    func onThreads(_ bodies: [@Sendable () -> Void]) {
        let group = DispatchGroup()
        for body in bodies {
            group.enter()
            Thread.detachNewThread {
                body()
                group.leave()
            }
        }
        group.wait()
    }

    @Test func frontendAndBackendExchangeRequestsThroughGrants() throws {
        let system = try System()
        let device = GrantDMAOps(guest: system.guest, backend: System.backendID)
        let accessor = BackendAccessor(backend: system.backend, frontend: System.guestID)
        let submitted = Shared<[(address: DMAAddress, tag: UInt8)]>([])
        let completed = Shared<[(address: DMAAddress, tag: UInt8)]>([])
        let requests = 2000
        let failures = Atomic<Int>(0)
        let buffers = try (0..<8).map { _ in try system.guest.pages.allocate(pages: 2).address.advanced(by: 0x800) }

        onThreads([
            {
                // Frontend: map a buffer, hand it over, reclaim completions.
                var sent = 0
                var received = 0
                var free = Array(buffers.indices)
                var inFlight: [DMAAddress: Int] = [:]
                while received < requests {
                    if sent < requests, let slot = free.popLast() {
                        let tag = UInt8(truncatingIfNeeded: sent)
                        do {
                            try system.guest.memory.fill(at: buffers[slot], count: 4096, with: tag)
                            let address = try device.map(buffers[slot], length: 4096, direction: .bidirectional)
                            inFlight[address] = slot
                            submitted.withLock { $0.append((address, tag)) }
                            sent += 1
                        } catch {
                            failures.add(1, ordering: .relaxed)
                            return
                        }
                    }
                    for done in completed.withLock({ queue in defer { queue.removeAll() }; return queue }) {
                        do {
                            try device.unmap(done.address, length: 4096, direction: .bidirectional)
                            guard let slot = inFlight.removeValue(forKey: done.address) else { continue }
                            let bytes = try system.guest.memory.read(at: buffers[slot], count: 4096)
                            if bytes != Array(repeating: done.tag &+ 1, count: 4096) { failures.add(1, ordering: .relaxed) }
                            free.append(slot)
                        } catch {
                            failures.add(1, ordering: .relaxed)
                        }
                        received += 1
                    }
                }
            },
            {
                // Backend: map each request, check and rewrite it, unmap,
                // then complete it.
                var served = 0
                while served < requests {
                    for request in submitted.withLock({ queue in defer { queue.removeAll() }; return queue }) {
                        do {
                            let buffer = try accessor.map(request.address, length: 4096, access: .writable)
                            let bytes = try buffer.read(at: 0, count: 4096)
                            if bytes != Array(repeating: request.tag, count: 4096) { failures.add(1, ordering: .relaxed) }
                            try buffer.write(at: 0, bytes: Array(repeating: request.tag &+ 1, count: 4096))
                            accessor.unmap(buffer)
                        } catch {
                            failures.add(1, ordering: .relaxed)
                        }
                        completed.withLock { $0.append(request) }
                        served += 1
                    }
                }
            },
        ])
        #expect(failures.load(ordering: .relaxed) == 0)
        #expect(!device.isBroken)
        #expect(device.statistics.grantsOutstanding == 0)
        #expect(accessor.outstandingRequestMappings == 0)
        #expect(accessor.statistics.grantMaps == 2 * requests)
    }

    @Test func hostileMappingRacesEndOfAccess() throws {
        // XSA-396's race: once the guest's end of access succeeds, no
        // mapping of the ref may exist or be made.
        let system = try System()
        let rounds = 3000
        let ref = try system.guest.grants.allocate()
        let frame = try system.guest.pages.allocate(pages: 1)
        let round = Atomic<Int>(0)
        let violations = Atomic<Int>(0)
        let stop = Atomic<Bool>(false)

        onThreads([
            {
                for index in 1...rounds {
                    system.guest.grants.grantForeignAccess(ref, to: System.backendID, frame: frame, access: .writable)
                    round.store(index, ordering: .releasing)
                    while !system.guest.grants.endForeignAccess(ref) {}
                    // Ended: the entry is invalid, so nothing can be mapped now.
                    if system.guest.grants.entry(ref)?.isInUse == true { violations.add(1, ordering: .relaxed) }
                }
                stop.store(true, ordering: .releasing)
            },
            {
                while !stop.load(ordering: .acquiring) {
                    guard let mapping = try? system.backend.hypercalls.mapGrantRef(ref, of: System.guestID, access: .writable) else { continue }
                    // The pin holds the round whose grant was mapped (the
                    // counter may still show the one before): while it is
                    // held, the frontend cannot end access and move on.
                    let mapped = round.load(ordering: .acquiring)
                    for _ in 0..<50 {
                        if (try? mapping.write(at: 0, bytes: [1])) == nil { violations.add(1, ordering: .relaxed) }
                    }
                    if round.load(ordering: .acquiring) > mapped + 1 { violations.add(1, ordering: .relaxed) }
                    try? system.backend.hypercalls.unmapGrantRef(mapping.handle ?? MapHandle(0))
                }
            },
        ])
        #expect(violations.load(ordering: .relaxed) == 0)
        #expect(system.guest.grants.entry(ref)?.flags == GrantFlag.invalid)
    }

    @Test func manyBackendThreadsHammerMapsWhileTheGuestGrantsAndEnds() throws {
        let system = try System()
        let device = GrantDMAOps(guest: system.guest, backend: System.backendID)
        let buffer = try system.guest.pages.allocate(pages: 1).address
        let live = Shared<[DMAAddress]>([])
        let stop = Atomic<Bool>(false)
        let mapped = Atomic<Int>(0)
        let brokenSeen = Atomic<Int>(0)

        let hammer: @Sendable () -> Void = {
            var random = SplitMix64(seed: UInt64(UInt(bitPattern: ObjectIdentifier(Thread.current).hashValue)))
            while !stop.load(ordering: .acquiring) {
                // Guess refs near the ones in use, map, touch, unmap.
                let ref = GrantRef(8 + UInt32(random.next() % 64))
                if let mapping = try? system.backend.hypercalls.mapGrantRef(ref, of: System.guestID, access: .readOnly) {
                    _ = try? mapping.read(at: 0, count: 64)
                    try? system.backend.hypercalls.unmapGrantRef(mapping.handle ?? MapHandle(0))
                    mapped.add(1, ordering: .relaxed)
                }
            }
        }
        let frontend: @Sendable () -> Void = {
            for _ in 0..<3000 {
                do {
                    let address = try device.map(buffer, length: 128, direction: .toDevice)
                    live.withLock { $0.append(address) }
                    if let oldest = live.withLock({ $0.count > 16 ? $0.removeFirst() : nil }) {
                        // A hammering backend may hold the grant right now:
                        // that breaks the device, exactly as in Linux.
                        do throws(DMAError) {
                            try device.unmap(oldest, length: 128, direction: .toDevice)
                        } catch {
                            brokenSeen.add(1, ordering: .relaxed)
                            break
                        }
                    }
                } catch {
                    break
                }
            }
            stop.store(true, ordering: .releasing)
        }
        onThreads([frontend, hammer, hammer])
        #expect(mapped.load(ordering: .relaxed) > 0)
        // Either every grant came back, or the device broke and leaked.
        #expect(device.isBroken == (brokenSeen.load(ordering: .relaxed) > 0))
        if !device.isBroken {
            #expect(device.statistics.grantsOutstanding == live.withLock { $0.count })
        }
    }

    @Test func copiesInOppositeDirectionsDoNotDeadlock() throws {
        let system = try System()
        let first = try system.guest.pages.allocate(pages: 2).address
        let second = try system.guest.pages.allocate(pages: 2).address
        let memory = system.guest.memory
        onThreads([
            { for _ in 0..<2000 { try? memory.copy(from: first.advanced(by: 100), to: second.advanced(by: 3000), count: 5000) } },
            { for _ in 0..<2000 { try? memory.copy(from: second.advanced(by: 3000), to: first.advanced(by: 100), count: 5000) } },
        ])
        #expect(memory.residentFrames == 4)
    }

    @Test func aGuestRewritingAnEntryWhileTheBackendMapsIt() throws {
        // The guest flips the grantee between the backend and d3; Xen's
        // compare-and-swap either pins a consistent entry or refuses.
        let system = try System()
        let (ref, frame) = try system.grantedPage()
        let stop = Atomic<Bool>(false)
        let outcomes = Shared<[String: Int]>([:])
        onThreads([
            {
                for index in 0..<20_000 {
                    let grantee = index % 2 == 0 ? System.otherID : System.backendID
                    system.guest.grants.grantForeignAccess(ref, to: grantee, frame: frame, access: .writable)
                }
                stop.store(true, ordering: .releasing)
            },
            {
                while !stop.load(ordering: .acquiring) {
                    let outcome: String
                    do throws(GrantError) {
                        let mapping = try system.backend.hypercalls.mapGrantRef(ref, of: System.guestID, access: .writable)
                        try system.backend.hypercalls.unmapGrantRef(mapping.handle ?? MapHandle(0))
                        outcome = "mapped"
                    } catch {
                        switch error {
                        case .grantedToOtherDomain: outcome = "other"
                        case .unstableEntry: outcome = "unstable"
                        default: outcome = "\(error)"
                        }
                    }
                    outcomes.withLock { $0[outcome, default: 0] += 1 }
                }
            },
        ])
        let seen = outcomes.withLock { $0 }
        #expect(Set(seen.keys).isSubset(of: ["mapped", "other", "unstable"]))
        // Whatever the guest wrote last, the entry is no longer pinned.
        #expect(system.guest.grants.entry(ref)?.isInUse == false)
    }
}
