import Diagnostics
@testable import GuestLayout
import Testing
import XLConfig

/// libxl's virtio-mmio allocation and `nr_spis` arithmetic
/// (`libxl__arch_domain_prepare_config`).
@Suite struct AllocationTests {
    let template = Template.builtin

    @Test func elevenDevicesGetConsecutiveSlotsAndSPIs() throws {
        let slots = try VirtioAllocator.allocate(count: 11, template: template).get()
        #expect(slots.map(\.base) == (0..<11).map { 0x200_0000 + UInt64($0) * 0x200 })
        #expect(slots.map(\.spi) == Array(33...43))
    }

    @Test func twelfthDeviceRunsOutOfSPIsBeforeTheWindow() {
        #expect(VirtioAllocator.allocate(count: 12, template: template) == .failure(.spis(index: 11, spi: 44)))
    }

    @Test func smallWindowRunsOutOfBasesFirst() throws {
        let small = try Fixtures.template(replacing: [
            ("virtio-mmio         = 0x02000000      0x00100000", "virtio-mmio         = 0x02000000      0x00000700"),
        ])
        // 0x700 holds three 0x200 devices; the fourth would end at 0x2000800.
        #expect(VirtioAllocator.allocate(count: 4, template: small) == .failure(.window(index: 3, base: 0x200_0600)))
    }

    @Test func disksComeFirstThenMMIOEntriesInConfigOrder() throws {
        var guest = Guests.minimal()
        guest.virtioDevices = [
            Guests.device(type: "virtio,device22", line: 20),
            Guests.device(transport: nil, line: 21),
            Guests.device(type: "virtio,device29", transport: .unknown, line: 22),
            Guests.device(type: "virtio,device1a", line: 23),
        ]
        guest.virtioDisks = [Guests.disk(backend: 1, line: 10), Guests.disk(line: 11)]
        let rules = try #require(template.rules(for: .default))
        let requests = VirtioRequest.requests(for: guest, rules: rules)
        #expect(requests.map(\.kind) == [.disk(0), .disk(1), .device(0), .device(3)])
        #expect(requests.map(\.location.line) == [10, 11, 20, 23])
    }

    @Test(arguments: [("4.17", false), ("4.18", false), ("4.19", true), ("4.22", true)])
    func diskGrantUsageCountsFrom419(version: String, honoured: Bool) throws {
        var guest = Guests.minimal()
        guest.virtioDisks = [Guests.disk(backend: 3, grantUsage: false), Guests.disk(backend: 0, grantUsage: true)]
        let parsed = try #require(XenVersion(version))
        let rules = try #require(template.rules(for: parsed))
        let grants = VirtioRequest.requests(for: guest, rules: rules).map(\.grants)
        #expect(grants == (honoured ? [false, true] : [true, false]))
    }

    @Test func xen417ReadsNoVirtioKey() throws {
        var guest = Guests.minimal()
        guest.virtioDevices = [Guests.device(backend: 2)]
        let parsed = try #require(XenVersion("4.17"))
        let rules = try #require(template.rules(for: parsed))
        #expect(VirtioRequest.requests(for: guest, rules: rules).isEmpty)
    }

    // MARK: nr_spis

    func plan(vuart: Bool = false, devices: Int = 0, irqs: [UInt32] = [], user: Int? = nil,
              policy: VersionRules.NrSpis = .mustCoverNeeded) throws -> SPIPlan {
        let slots = try VirtioAllocator.allocate(count: devices, template: template).get()
        return SPIPlan(
            vuart: vuart, slots: slots, irqs: irqs.map { Guests.located($0, line: 5) },
            userNrSpis: user.map { Guests.located($0, line: 6) }, policy: policy, template: template)
    }

    @Test func neededSPIsCoverVuartVirtioAndPassthrough() throws {
        #expect(try plan().needed == 0)
        #expect(try plan(vuart: true).needed == 1)
        #expect(try plan(vuart: true, devices: 3).needed == 4)  // SPI 35
        #expect(try plan(devices: 3, irqs: [100, 20]).needed == 69)  // SPI 100; PPIs do not count
        #expect(try plan(irqs: [36]).needed == 5)
    }

    @Test func conflictsFollowLibxlChecks() throws {
        #expect(try plan(vuart: true, irqs: [32]).conflicts.count == 1)
        #expect(try plan(vuart: false, irqs: [32]).conflicts.isEmpty)
        // Only allocated virtio SPIs conflict: 33-34 with two devices.
        #expect(try plan(devices: 2, irqs: [33, 34, 35]).conflicts.count == 2)
        #expect(try plan(devices: 0, irqs: [33]).conflicts.isEmpty)
    }

    @Test func userNrSpisByVersion() throws {
        #expect(try plan(irqs: [100], user: 10, policy: .ignored).granted == 69)
        #expect(try plan(irqs: [100], user: 10, policy: .raiseToNeeded).granted == 69)
        #expect(try plan(irqs: [100], user: 200, policy: .raiseToNeeded).granted == 200)
        let strict = try plan(irqs: [100], user: 10, policy: .mustCoverNeeded)
        #expect(strict.tooSmall?.value == 10 && strict.granted == 10)
        #expect(try plan(irqs: [100], user: 69, policy: .mustCoverNeeded).tooSmall == nil)
    }

    @Test func nrSpisTooSmallIsOnlyAnErrorFrom421() {
        var guest = Guests.minimal()
        guest.irqs = [Guests.located(100, line: 5)]
        guest.nrSpis = Guests.located(10, line: 6)
        for version in ["4.19", "4.20"] {
            let result = GuestLayoutBuilder.build(guest, inputs: Guests.inputs, options: Guests.options(version))
            #expect(result.diagnostics.isEmpty && result.summary?.nrSpis == 69)
        }
        let strict = GuestLayoutBuilder.build(guest, inputs: Guests.inputs, options: Guests.options("4.21"))
        #expect(strict.diagnostics.map(\.rule) == ["GUEST-NR-SPIS-TOO-SMALL"])
    }
}
