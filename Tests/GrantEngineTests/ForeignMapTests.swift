import GrantEngine
import Testing

@Suite struct ForeignMapTests {
    @Test func nonPrivilegedDomainGetsEPERMAndIsLogged() throws {
        let system = try System()
        let error = try #require(throws: ForeignMapError.self) {
            try system.backend.hypercalls.foreignMap(System.ramBase.frame, of: System.guestID)
        }
        #expect(error == .notPrivileged(caller: System.backendID, target: System.guestID))
        #expect(error.errno == 1)
        #expect(error.errnoName == "EPERM")
        let event = try #require(system.events.first)
        #expect(event.operation == .foreignMap)
        #expect(event.errno == 1)
        #expect(event.status == nil)
        #expect(event.location == .frame(System.ramBase.frame))
    }

    @Test func dom0MapsAnyGuestFrame() throws {
        let system = try System()
        try system.guest.memory.fill(at: System.ramBase.advanced(by: 8192), count: 4096, with: 0x42)
        let mapping = try system.dom0.hypercalls.foreignMap(System.ramBase.advanced(by: 8192).frame, of: System.guestID)
        #expect(try mapping.read(at: 10, count: 2) == [0x42, 0x42])
        try mapping.write(at: 0, bytes: [1, 2])
        #expect(try system.guest.memory.read(at: System.ramBase.advanced(by: 8192), count: 2) == [1, 2])
        #expect(system.dom0.hypercalls.foreignUnmap(mapping))
        #expect(!system.dom0.hypercalls.foreignUnmap(mapping))
        #expect(throws: MemoryFault.notMapped) { try mapping.read(at: 0, count: 1) }
    }

    @Test func privilegeIsConfiguration() throws {
        let system = try System(configuration: Hypervisor.Configuration(privilegedDomains: [System.backendID]))
        #expect(system.backend.isPrivileged)
        #expect(!system.dom0.isPrivileged)
        #expect(throws: Never.self) { try system.backend.hypercalls.foreignMap(System.ramBase.frame, of: System.guestID) }
        #expect(throws: ForeignMapError.notPrivileged(caller: .dom0, target: System.guestID)) {
            try system.dom0.hypercalls.foreignMap(System.ramBase.frame, of: System.guestID)
        }
    }

    @Test func unknownDomainIsESRCH() throws {
        let system = try System()
        let error = try #require(throws: ForeignMapError.self) { try system.dom0.hypercalls.foreignMap(FrameNumber(0x40000), of: DomainID(42)) }
        #expect(error.errno == 3)
    }

    @Test func ownMemoryIsEPERM() throws {
        let system = try System()
        #expect(throws: ForeignMapError.ownDomain(.dom0)) { try system.dom0.hypercalls.foreignMap(FrameNumber(0x40000), of: .dom0) }
    }

    @Test func frameOutsideRAMIsEINVAL() throws {
        let system = try System()
        let error = try #require(throws: ForeignMapError.self) { try system.dom0.hypercalls.foreignMap(FrameNumber(0x10), of: System.guestID) }
        #expect(error == .notRAM(FrameNumber(0x10)))
        #expect(error.errno == 22)
    }
}
