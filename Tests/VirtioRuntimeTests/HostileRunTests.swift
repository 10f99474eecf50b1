import GrantEngine
import Testing
import TestSupport
@testable import VirtioRuntime

/// `--hostile`: every backend attacks; grants must refuse or contain every
/// attack, direct and bounce backends show what they can reach.
@Suite struct HostileRunTests {
    private func outcomes(_ report: RunReport, _ device: String) -> [AttackID: AttackOutcome] {
        Dictionary(uniqueKeysWithValues: report.attacks.filter { $0.device == device }.map { ($0.attack, $0.outcome) })
    }

    @Test(arguments: GrantMode.allCases)
    func grantsRefuseOrContainEveryAttack(mode: GrantMode) throws {
        var options = Guests.options(requests: 30, hostile: true)
        options.grantMode = mode
        let report = try Guests.run(try Guests.tree([.grant(1), .i2c(2)]), options)
        #expect(report.ok, "\(report.attacks.filter { $0.outcome == .succeeded }.map(\.detail))")
        #expect(report.attacks.count == 2 * AttackID.allCases.count)
        #expect(report.attacks.prefix(AttackID.allCases.count).map(\.attack) == AttackID.allCases)
        #expect(report.attacks.allSatisfy { $0.outcome != .succeeded })
        // The workload still verified; the held ring mapping broke the
        // devices at teardown and leaked their grants, by design.
        #expect(report.devices.allSatisfy { $0.verified && $0.broken && $0.grantsOutstanding > 0 && $0.refused > 0 })
        let disk = outcomes(report, "/virtio@2000000")
        #expect(disk[.mapUngranted] == .refused && disk[.mapOtherDomain] == .refused && disk[.reuseHandle] == .refused)
        #expect(disk[.forgeGPA] == .refused && disk[.holdMapping] == .contained && disk[.guessRefs] == .contained)
        #expect(disk[.readOutsideBuffer] == .contained)
        if mode == .perRequest {
            #expect(disk[.writeReadOnly] == .refused && disk[.mapAfterEnd] == .refused)
        } else {
            // The pool is granted writable and stays granted: writing a
            // pool copy or mapping it again reaches only the pool.
            #expect(disk[.writeReadOnly] == .contained && disk[.mapAfterEnd] == .contained)
        }
    }

    /// The statuses are Xen's: general_error for ungranted and read-only
    /// refs, bad_handle for stale handles, EPERM for foreign mappings.
    @Test func statusesAreXens() throws {
        let report = try Guests.run(try Guests.tree([.grant(1)]), Guests.options(requests: 10, hostile: true))
        let byID = Dictionary(uniqueKeysWithValues: report.attacks.map { ($0.attack, $0) })
        #expect(byID[.mapUngranted]?.status == .generalError)
        #expect(byID[.writeReadOnly]?.statusName == "GNTST_general_error")
        #expect(byID[.reuseHandle]?.status == .badHandle)
        #expect(byID[.forgeGPA]?.status == nil && byID[.forgeGPA]?.statusName == "EPERM")
        #expect(byID[.holdMapping]?.status == nil)
    }

    /// Without grants the same backend reaches guest memory it was never
    /// given: that is what the report shows for direct devices.
    @Test func directBackendsReachEverything() throws {
        let report = try Guests.run(try Guests.tree([.direct, .bounce]), Guests.options(requests: 20, hostile: true))
        // No grant-bound device, so the run itself is ok.
        #expect(report.ok)
        let direct = outcomes(report, "/virtio@2000000")
        for attack in [AttackID.mapUngranted, .mapOtherDomain, .writeReadOnly, .mapAfterEnd, .forgeGPA, .guessRefs, .holdMapping,
                       .readOutsideBuffer] {
            #expect(direct[attack] == .succeeded, "\(attack)")
        }
        // Reusing a dead mapping is refused even there (it can map again).
        #expect(direct[.reuseHandle] == .refused)
        let bounce = outcomes(report, "/virtio@2000200")
        // Inside its pool it is contained; dom0 still maps anything else.
        #expect(bounce[.writeReadOnly] == .contained && bounce[.mapAfterEnd] == .contained && bounce[.holdMapping] == .contained)
        #expect(bounce[.forgeGPA] == .succeeded && bounce[.mapUngranted] == .succeeded)
    }

    /// A grant-bound device whose backend is dom0 is not confined: dom0 may
    /// foreign-map guest RAM, so forging a guest-physical address works
    /// and the hostile run fails.
    @Test func dom0BackendIsNotConfinedByGrants() throws {
        let report = try Guests.run(try Guests.tree([.grant(0)]), Guests.options(requests: 10, hostile: true))
        #expect(!report.ok)
        let outcome = outcomes(report, "/virtio@2000000")
        #expect(outcome[.forgeGPA] == .succeeded)
        #expect(outcome[.mapUngranted] == .refused && outcome[.writeReadOnly] == .refused)
    }

    /// The guard pages around every request buffer stay intact under
    /// grants: no attack wrote outside what it was given.
    @Test func guardPagesSurviveGrantAttacks() throws {
        let report = try Guests.run(try Guests.tree([.grant(3)]), Guests.options(requests: 10, hostile: true))
        #expect(report.devices.allSatisfy { $0.errors.allSatisfy { !$0.contains("guard pages") } })
        #expect(report.ok)
    }
}
