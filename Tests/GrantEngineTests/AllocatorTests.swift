import GrantEngine
import Testing
import TestSupport

@Suite struct AllocatorTests {
    @Test func startsWithOneFrameAndRefsFromEight() throws {
        let system = try System()
        let grants = system.guest.grants
        #expect(grants.frames == 1)
        #expect(grants.size == 512)
        #expect(grants.freeCount == 504)
        #expect(try grants.allocate() == GrantRef(8))
        #expect(try grants.allocate() == GrantRef(9))
    }

    @Test func singleRefsComeBackLastFreedFirst() throws {
        let grants = try System().guest.grants
        let refs = try grants.allocate(count: 3)
        #expect(refs == [GrantRef(8), GrantRef(9), GrantRef(10)])
        grants.free(refs[0])
        grants.free(refs[2])
        #expect(try grants.allocate() == GrantRef(10))
        #expect(try grants.allocate() == GrantRef(8))
    }

    @Test func reservedRefsAreNeverHandedOutOrFreed() throws {
        let grants = try System(guestGrantFrames: 1).guest.grants
        let all = try grants.allocate(count: 504)
        #expect(all.allSatisfy { !$0.isReserved })
        #expect(Set(all).count == 504)
        for reserved in 0..<GrantRef.reservedCount { grants.free(GrantRef(reserved)) }
        #expect(grants.freeCount == 0)
        #expect(throws: GrantAllocationError.outOfSpace(current: 1, extra: 1, limit: 1)) { try grants.allocate() }
    }

    @Test func runsComeFromTheFreeTailFirst() throws {
        let grants = try System().guest.grants
        let singles = try grants.allocate(count: 20)  // 8…27
        grants.free(singles[2])
        grants.free(singles[3])
        grants.free(singles[4])  // 10…12 free, but the tail 28… comes first
        #expect(try grants.allocateRun(count: 3) == GrantRef(28))
        #expect(try grants.allocateRun(count: 2) == GrantRef(31))
    }

    @Test func shortTailFallsBackToTheFirstRunThatFits() throws {
        let grants = try System(guestGrantFrames: 1).guest.grants
        _ = try grants.allocate(count: 504)
        for ref in [100, 101, 102, 200, 201, 202, 203, 204, 205, 206, 300, 301] as [UInt32] { grants.free(GrantRef(ref)) }
        #expect(try grants.allocateRun(count: 5) == GrantRef(200))
        #expect(try grants.allocateRun(count: 3) == GrantRef(100))
        #expect(try grants.allocateRun(count: 2) == GrantRef(205))
        #expect(try grants.allocateRun(count: 2) == GrantRef(300))
        #expect(grants.freeCount == 0)
    }

    @Test func fragmentationWithoutAFittingRunFails() throws {
        let grants = try System(guestGrantFrames: 1).guest.grants
        let all = try grants.allocate(count: 504)
        for ref in all where ref.rawValue % 2 == 0 { grants.free(ref) }
        #expect(grants.freeCount == 252)
        #expect(throws: GrantAllocationError.outOfSpace(current: 1, extra: 1, limit: 1)) { try grants.allocateRun(count: 2) }
        // Single refs still work.
        #expect(try grants.allocate().rawValue % 2 == 0)
    }

    @Test func growsTheTableAndTheHypervisorSeesIt() throws {
        let system = try System()
        let grants = system.guest.grants
        _ = try grants.allocate(count: 504)
        #expect(try grants.allocate() == GrantRef(512))
        #expect(grants.frames == 2)
        let size = try system.backend.hypercalls.queryGrantTableSize(of: System.guestID)
        #expect(size.frames == 2)
        #expect(size.maxFrames == 64)
    }

    @Test func aRunLongerThanTheFreeRefsGrowsAndSpansFrames() throws {
        let grants = try System().guest.grants
        #expect(try grants.allocateRun(count: 600) == GrantRef(8))
        #expect(grants.frames == 2)
        #expect(try grants.allocateRun(count: 2) == GrantRef(608))
    }

    @Test func growthExtendsAShortTailAtTheTableEnd() throws {
        let grants = try System().guest.grants
        _ = try grants.allocate(count: 504)
        let scattered = stride(from: 40 as UInt32, to: 80, by: 2).map { GrantRef($0) }
        for ref in [GrantRef(509), GrantRef(510), GrantRef(511)] + scattered { grants.free(ref) }
        // 23 refs are free but no 10 in a row: the table grows by enough
        // to extend the 3-ref tail at its end, and the run crosses frames.
        #expect(try grants.allocateRun(count: 10) == GrantRef(509))
        #expect(grants.frames == 2)
        #expect(try grants.allocate() == GrantRef(40))
    }

    @Test func exhaustionIsATypedErrorWithLinuxNumbers() throws {
        let grants = try System(guestGrantFrames: 2).guest.grants
        #expect(throws: GrantAllocationError.outOfSpace(current: 1, extra: 2, limit: 2)) { try grants.allocateRun(count: 1017) }
        #expect(try grants.allocateRun(count: 1016) == GrantRef(8))
        #expect(throws: GrantAllocationError.outOfSpace(current: 2, extra: 1, limit: 2)) { try grants.allocate() }
        #expect("\(GrantAllocationError.outOfSpace(current: 2, extra: 1, limit: 2))".contains("max_grant_frames reached cur=2 extra=1 limit=2"))
        #expect(throws: GrantAllocationError.invalidCount(0)) { try grants.allocateRun(count: 0) }
    }

    @Test func freedRunsComeBackInOrder() throws {
        let grants = try System().guest.grants
        let first = try grants.allocateRun(count: 4)
        grants.freeRun(first, count: 4)
        #expect(try grants.allocate(count: 4) == [first, first.advanced(by: 1), first.advanced(by: 2), first.advanced(by: 3)])
    }

    /// Random allocations and frees against a model: refs are never handed
    /// out twice, never reserved, runs are consecutive, counts add up.
    @Test(arguments: [1, 2, 3, 4, 5] as [UInt64])
    func randomWorkloadKeepsTheInvariants(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        let grants = try System(guestGrantFrames: 4).guest.grants
        var held: [(first: GrantRef, count: Int)] = []
        var inUse = Set<UInt32>()
        for _ in 0..<3000 {
            switch random.next() % 5 {
            case 0, 1:
                let count = Int(random.next() % 40) + 1
                do {
                    let first = try grants.allocateRun(count: count)
                    let refs = (0..<count).map { first.rawValue + UInt32($0) }
                    #expect(refs.allSatisfy { $0 >= 8 && !inUse.contains($0) && !grants.isFree(GrantRef($0)) })
                    inUse.formUnion(refs)
                    held.append((first, count))
                } catch GrantAllocationError.outOfSpace {
                    #expect(grants.frames + (count + 511) / 512 > 4 || grants.freeCount < 4 * 512)
                }
            case 2:
                guard let ref = try? grants.allocate() else { continue }
                #expect(ref.rawValue >= 8 && !inUse.contains(ref.rawValue))
                inUse.insert(ref.rawValue)
                held.append((ref, 1))
            default:
                guard !held.isEmpty else { continue }
                let (first, count) = held.remove(at: Int(random.next() % UInt64(held.count)))
                grants.freeRun(first, count: count)
                for offset in 0..<count { inUse.remove(first.rawValue + UInt32(offset)) }
            }
            #expect(grants.freeCount == grants.size - 8 - inUse.count)
        }
    }
}
