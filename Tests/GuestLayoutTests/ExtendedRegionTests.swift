@testable import GuestLayout
import Testing
import XLConfig

/// `finalize_hypervisor_node`: per bank before 4.21, iomem holes after.
@Suite struct ExtendedRegionTests {
    let template = Template.builtin
    let perBank = Template.builtin.versions[2]  // 4.19
    let split = Template.builtin.versions[3]  // 4.21

    func regions(_ banks: [UInt64], bits: Int = 40, iomem: [IOMemRange] = [], rules: VersionRules) -> [AddressRange] {
        ExtendedRegions.find(bankSizes: banks, gpaddrBits: bits, iomem: iomem, rules: rules, template: template)
    }

    @Test func oneRegionPerBankAboveRAM() {
        #expect(regions([512 << 20, 0], rules: perBank) == [
            AddressRange(base: 0x6000_0000, size: 0xa000_0000), AddressRange(base: 0x2_0000_0000, size: 0xfe_0000_0000),
        ])
    }

    @Test func startRoundsUpTo2MiB() {
        #expect(regions([(512 << 20) + 4096, 0], rules: perBank).first?.base == 0x6020_0000)
    }

    @Test func addressWidthCapsTheRegions() {
        #expect(regions([512 << 20, 0], bits: 36, rules: perBank).last == AddressRange(base: 0x2_0000_0000, size: 0xe_0000_0000))
        #expect(regions([512 << 20, 0], bits: 32, rules: perBank) == [AddressRange(base: 0x6000_0000, size: 0xa000_0000)])
        #expect(regions([3 << 30, 0], bits: 32, rules: perBank).isEmpty)
    }

    @Test func regionsBelow64MiBAreDropped() {
        // Bank 0 leaves 0xffffffff - 0xfc000000 + 1 = 64 MiB: kept; one page less is not.
        #expect(regions([0xbc00_0000, 0], bits: 32, rules: perBank) == [AddressRange(base: 0xfc00_0000, size: 0x400_0000)])
        #expect(regions([0xbc20_0000, 0], bits: 32, rules: perBank).isEmpty)
    }

    @Test func iomemOnlyCutsFrom421() {
        let iomem = [IOMemRange(firstMachineFrame: 0x80000, frameCount: 0x1000)]  // 0x80000000-0x80ffffff
        #expect(regions([512 << 20, 0], iomem: iomem, rules: perBank).count == 2)
        #expect(regions([512 << 20, 0], iomem: iomem, rules: split) == [
            AddressRange(base: 0x6000_0000, size: 0x2000_0000), AddressRange(base: 0x8100_0000, size: 0x7f00_0000),
            AddressRange(base: 0x2_0000_0000, size: 0xfe_0000_0000),
        ])
    }

    @Test func holesAreSortedAndSmallPiecesDropped() {
        let iomem = [
            IOMemRange(firstMachineFrame: 0x64000, frameCount: 0x100),  // 0x64000000: 64 MiB after the start
            IOMemRange(firstMachineFrame: 0x60000, frameCount: 0x10),  // at the very start
            IOMemRange(firstMachineFrame: 0x63000, frameCount: 0x10),  // leaves a 48 MiB piece before it
        ]
        #expect(regions([512 << 20, 0], bits: 32, iomem: iomem, rules: split) == [
            AddressRange(base: 0x6410_0000, size: 0x9bf0_0000),
        ])
    }

    @Test func aHoleCoveringTheBankLeavesNothing() {
        let iomem = [IOMemRange(firstMachineFrame: 0x40000, frameCount: 0xc0000)]
        #expect(regions([512 << 20, 0], bits: 32, iomem: iomem, rules: split).isEmpty)
    }

    @Test func atMost256RegionsFrom421() {
        // 300 one-page holes 128 MiB apart in bank 1.
        let iomem = (0..<300).map { IOMemRange(firstMachineFrame: 0x20_0000 + UInt64($0 + 1) * 0x8000, frameCount: 1) }
        let found = regions([512 << 20, 0], iomem: iomem, rules: split)
        #expect(found.count == 256)
        #expect(found[0] == AddressRange(base: 0x6000_0000, size: 0xa000_0000))
    }
}
