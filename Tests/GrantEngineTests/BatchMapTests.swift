import GrantEngine
import Synchronization
import Testing

/// `GNTTABOP_map_grant_ref` with several elements: each element is checked
/// on its own, in order, with its own status and event; a refusal stops
/// nothing, and the elements before it stay mapped.
@Suite struct BatchMapTests {
    let guest = System.guestID

    @Test func aRefusedElementStopsNothing() throws {
        let system = try System()
        let (first, _) = try system.grantedPage(byte: 0x11)
        let (second, _) = try system.grantedPage(to: System.otherID)
        let (third, _) = try system.grantedPage(access: .readOnly, byte: 0x33)
        let results = system.backend.hypercalls.mapGrantRefs(
            [.init(first, access: .writable), .init(second, access: .writable), .init(third, access: .readOnly)], of: guest)

        try #require(results.count == 3)
        #expect(throws: GrantError.grantedToOtherDomain(second, grantee: System.otherID)) { try results[1].get() }
        let mapped = try [results[0].get(), results[2].get()]
        // The refused element took a handle and gave it back to the tail of
        // the free list, as Xen does: the next element gets the one after.
        #expect(mapped.map(\.handle) == [MapHandle(0), MapHandle(2)])
        #expect(try mapped[0].read(at: 0, count: 1) == [0x11])
        #expect(try mapped[1].read(at: 0, count: 1) == [0x33])
        #expect(mapped[1].access == .readOnly)
        #expect(system.guest.grants.entry(first)?.isInUse == true)
        #expect(system.guest.grants.entry(second)?.isInUse == false)
        #expect(system.guest.grants.entry(third)?.isInUse == true)

        let event = try #require(system.events.only)
        #expect(event.operation == .mapGrantRef && event.location == .ref(second) && event.target == guest)
        #expect(event.status == .generalError && event.access == .writable)

        let unmapped = system.backend.hypercalls.unmapGrantRefs(mapped.compactMap(\.handle))
        #expect(unmapped.unmapped == 2 && unmapped.refused.isEmpty && unmapped.flushes == 1)
        #expect(system.guest.grants.endForeignAccess(first) && system.guest.grants.endForeignAccess(third))
    }

    /// Each element fails at its own first check in Xen's order, and each
    /// refusal is its own event, in element order.
    @Test func everyElementHasItsOwnStatusAndEvent() throws {
        let system = try System()
        let (readOnly, _) = try system.grantedPage(access: .readOnly)
        let (good, _) = try system.grantedPage()
        let requests: [Hypercalls.MapRequest] = [
            .init(good, flags: [.readOnly]),
            .init(GrantRef(4096), access: .readOnly),
            .init(readOnly, access: .writable),
            .init(good, access: .writable),
        ]
        let results = system.backend.hypercalls.mapGrantRefs(requests, of: guest)

        try #require(results.count == 4)
        let statuses = results.map { result -> GrantStatus in
            do throws(GrantError) {
                _ = try result.get()
                return .okay
            } catch {
                return error.status
            }
        }
        #expect(statuses == [.badGntref, .badGntref, .generalError, .okay])
        #expect(system.events.map(\.location) == [.ref(good), .ref(GrantRef(4096)), .ref(readOnly)])
        #expect(system.events.map(\.status) == [.badGntref, .badGntref, .generalError])
        #expect(system.events.map(\.sequence) == [0, 1, 2])
    }

    @Test func anUnknownGranterRefusesEveryElement() throws {
        let system = try System()
        let results = system.backend.hypercalls.mapGrantRefs(
            [.init(GrantRef(8), access: .readOnly), .init(GrantRef(9), access: .writable)], of: DomainID(42))
        try #require(results.count == 2)
        for result in results {
            #expect(throws: GrantError.unknownDomain(DomainID(42))) { try result.get() }
        }
        #expect(system.events.map(\.status) == [.badDomain, .badDomain])
        #expect(system.events.map(\.location) == [.ref(GrantRef(8)), .ref(GrantRef(9))])
    }

    /// The security policy is asked once per element, as Xen's XSM hook.
    @Test func thePolicyIsAskedForEveryElement() throws {
        let asks = AskCounter()
        let policy = GrantPolicy { request in
            asks.count()
            return request == .map(mapper: System.backendID, granter: System.guestID)
        }
        let system = try System(configuration: Hypervisor.Configuration(policy: policy))
        let refs = try (0..<3).map { _ in try system.grantedPage().ref }
        let results = system.backend.hypercalls.mapGrantRefs(refs.map { .init($0, access: .readOnly) }, of: guest)
        #expect(asks.total == 3)
        #expect(results.allSatisfy { (try? $0.get()) != nil })
    }

    /// The maptrack fills in the middle of a batch: the elements after it
    /// are refused with GNTST_no_space, the ones before stay mapped.
    @Test func maptrackExhaustionInTheMiddleOfABatch() throws {
        let system = try System(backendMaptrackFrames: 1)
        let capacity = 255
        let refs = try (0...capacity).map { _ in try system.grantedPage().ref }
        let results = system.backend.hypercalls.mapGrantRefs(refs.map { .init($0, access: .readOnly) }, of: guest)
        #expect(results.prefix(capacity).allSatisfy { (try? $0.get()) != nil })
        #expect(throws: GrantError.maptrackFull(limit: capacity)) { try results[capacity].get() }
        #expect(system.guest.grants.entry(refs[capacity])?.isInUse == false)
        #expect(system.events.map(\.status) == [.noSpace])
    }

    @Test func anEmptyBatchDoesNothing() throws {
        let system = try System()
        #expect(system.backend.hypercalls.mapGrantRefs([], of: guest).isEmpty)
        #expect(system.events.isEmpty)
    }
}

/// Counts the questions a policy was asked (policies are `@Sendable`).
private final class AskCounter: Sendable {
    private let asked = Atomic<Int>(0)

    func count() { asked.wrappingAdd(1, ordering: .relaxed) }
    var total: Int { asked.load(ordering: .relaxed) }
}

fileprivate extension Array {
    /// The single element, if there is exactly one.
    var only: Element? { count == 1 ? first : nil }
}
