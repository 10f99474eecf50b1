@testable import GuestLayout
import Testing

/// RAM banks and module placement as `meminit` does them.
@Suite struct BootMemoryTests {
    let template = Template.builtin
    let mib: UInt64 = 1 << 20

    func layout(ram: UInt64, kernel: KernelImage = Guests.kernel, dtb: UInt64 = 0x1800, ramdisk: UInt64? = nil)
        -> Result<BootMemory, BootMemory.Failure>
    {
        BootMemory.layout(ramSize: ram, kernel: kernel, deviceTreeSize: dtb, ramdiskSize: ramdisk, template: template)
    }

    @Test func banksFillInOrder() throws {
        #expect(try layout(ram: 512 * mib).get().bankSizes == [512 * mib, 0])
        #expect(try layout(ram: 3072 * mib).get().bankSizes == [3072 * mib, 0])
        #expect(try layout(ram: 3073 * mib).get().bankSizes == [3072 * mib, mib])
        #expect(try layout(ram: 1019 << 30).get().bankSizes == [3 << 30, 1016 << 30])
    }

    @Test func refusesEmptyAndOversizedRAM() {
        #expect(layout(ram: 0) == .failure(.emptyRAM))
        #expect(layout(ram: (1019 << 30) + mib) == .failure(.ramTooLarge((1019 << 30) + mib, maximum: 1019 << 30)))
    }

    @Test func modulesGoTo128MiBWhenTheyFit() throws {
        let memory = try layout(ram: 512 * mib, ramdisk: 8 * mib).get()
        #expect(memory.ramdisk == AddressRange(base: 0x4800_0000, size: 8 * mib))
        #expect(memory.deviceTree == AddressRange(base: 0x4880_0000, size: 0x2000))
        #expect(memory.kernel == AddressRange(base: 0x4000_0000, size: 32 * mib))
    }

    @Test func withoutRamdiskTheDTBGoesThereAlone() throws {
        let memory = try layout(ram: 512 * mib).get()
        #expect(memory.ramdisk == nil)
        #expect(memory.deviceTree == AddressRange(base: 0x4800_0000, size: 0x2000))
    }

    @Test func aKernelReachingPast128MiBPushesModulesToTheTop() throws {
        let big = KernelImage(arch: .arm64, loadOffset: 0, size: 130 * mib)
        let memory = try layout(ram: 512 * mib, kernel: big, ramdisk: 8 * mib).get()
        // Top of bank 0 (0x60000000) minus 8 MiB and 8 KiB.
        #expect(memory.ramdisk?.base == 0x6000_0000 - 8 * mib - 0x2000)
    }

    @Test func ramdiskSizeRoundsUpToPages() throws {
        let memory = try layout(ram: 128 * mib, ramdisk: 8 * mib + 1).get()
        #expect(memory.ramdisk == AddressRange(base: 0x477f_d000, size: 0x80_1000))
    }

    @Test func belowTheKernelAsALastResort() throws {
        let high = KernelImage(arch: .arm64, loadOffset: 0x200_0000, size: 20 * mib)
        let memory = try layout(ram: 64 * mib, kernel: high, dtb: 0x1000, ramdisk: 16 * mib).get()
        #expect(memory.ramdisk?.base == 0x40ff_f000)
        #expect(memory.deviceTree.base == 0x41ff_f000)
    }

    @Test func failsWhenNothingFits() {
        #expect(layout(ram: 64 * mib, ramdisk: 40 * mib)
            == .failure(.noPlaceForModules(modules: 40 * mib + 0x2000, kernel: AddressRange(base: 0x4000_0000, size: 32 * mib), ramEnd: 0x4400_0000)))
        #expect(layout(ram: 4096 * mib, ramdisk: 3072 * mib)
            == .failure(.modulesTooLarge(modules: 3072 * mib + 0x2000, kernel: 32 * mib, bank: 3072 * mib)))
        let tooBig = KernelImage(arch: .arm64, loadOffset: 0, size: 100 * mib)
        #expect(layout(ram: 64 * mib, kernel: tooBig)
            == .failure(.kernelOutsideRAM(kernel: AddressRange(base: 0x4000_0000, size: 100 * mib), bankEnd: 0x4400_0000)))
    }
}
