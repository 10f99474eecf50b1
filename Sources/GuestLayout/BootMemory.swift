/// Guest RAM and boot modules as the domain builder lays them out
/// (tools/libs/guest/xg_dom_arm.c, `meminit`).
public struct BootMemory: Hashable, Sendable {
    /// RAM in each bank, in bank order (0 for an empty bank).
    public var bankSizes: [UInt64]
    /// The loaded kernel, before its end is rounded up.
    public var kernel: AddressRange
    /// The ramdisk's place; its size rounded up to the module alignment,
    /// which is also what `linux,initrd-end` covers.
    public var ramdisk: AddressRange?
    /// The DTB's place; its size is the blob's rounded up.
    public var deviceTree: AddressRange

    public init(bankSizes: [UInt64], kernel: AddressRange, ramdisk: AddressRange?, deviceTree: AddressRange) {
        self.bankSizes = bankSizes
        self.kernel = kernel
        self.ramdisk = ramdisk
        self.deviceTree = deviceTree
    }

    /// Why the builder gives up, with its own wording where it has one.
    public enum Failure: Error, Hashable, Sendable, CustomStringConvertible {
        case emptyRAM
        case ramTooLarge(UInt64, maximum: UInt64)
        /// `modsize + kernsize > bank 0 size`.
        case modulesTooLarge(modules: UInt64, kernel: UInt64, bank: UInt64)
        /// No place at the preferred offset, above the kernel or below it.
        case noPlaceForModules(modules: UInt64, kernel: AddressRange, ramEnd: UInt64)
        /// The kernel itself ends past the first bank's RAM.
        case kernelOutsideRAM(kernel: AddressRange, bankEnd: UInt64)

        public var description: String {
            switch self {
            case .emptyRAM:
                "guest RAM is 0 bytes (`ram size is 0`)"
            case .ramTooLarge(let size, let maximum):
                "guest RAM of \(size) bytes exceeds the \(maximum) bytes of all RAM banks (`ram size is too large for guest address space`)"
            case .modulesTooLarge(let modules, let kernel, let bank):
                "kernel (\(hex(kernel)) bytes, end rounded up to 2 MiB), ramdisk and device tree (\(hex(modules)) bytes) exceed the first RAM bank's \(hex(bank)) bytes (`Not enough memory for the kernel+dtb+initrd`)"
            case .noPlaceForModules(let modules, let kernel, let ramEnd):
                "ramdisk and device tree (\(hex(modules)) bytes) fit neither above the kernel at \(kernel) (its end rounded up to 2 MiB) nor below it, with RAM ending at \(hex(ramEnd))"
            case .kernelOutsideRAM(let kernel, let bankEnd):
                "the kernel at \(kernel) ends past the first RAM bank's end \(hex(bankEnd))"
            }
        }
    }

    /// Splits `ramSize` bytes over the banks (each filled before the next)
    /// and places the ramdisk and DTB as `meminit` does: at RAM base + 128
    /// MiB when they fit there above the kernel, else at the top of bank 0
    /// when that is above the kernel, else right below the kernel.
    public static func layout(
        ramSize: UInt64, kernel: KernelImage, deviceTreeSize: UInt64, ramdiskSize: UInt64?, template: Template
    ) -> Result<BootMemory, Failure> {
        let banks = template.memoryMap.ramBanks
        guard let bank0 = banks.first else { return .failure(.emptyRAM) }
        let boot = template.boot
        let kernelStart = bank0.base &+ kernel.loadOffset
        let kernelEnd = roundUp(kernelStart &+ kernel.size, boot.kernelEndAlignment)
        let kernelSize = kernelEnd &- kernelStart
        let dtbSize = roundUp(deviceTreeSize, boot.moduleAlignment)
        let rdSize = ramdiskSize.map { roundUp($0, boot.moduleAlignment) } ?? 0
        let modules = dtbSize &+ rdSize
        // The builder's checks, in its order.
        guard UInt128(modules) + UInt128(kernelSize) <= UInt128(bank0.size) else {
            return .failure(.modulesTooLarge(modules: modules, kernel: kernelSize, bank: bank0.size))
        }
        guard ramSize > 0 else { return .failure(.emptyRAM) }
        guard ramSize <= template.maximumRAM else { return .failure(.ramTooLarge(ramSize, maximum: template.maximumRAM)) }

        var left = ramSize
        let sizes = banks.map { bank in
            let size = min(left, bank.size)
            left -= size
            return size
        }
        let bank0End = bank0.base + sizes[0]
        let loaded = AddressRange(base: kernelStart, size: kernel.size)
        guard loaded.end <= UInt128(bank0End) else { return .failure(.kernelOutsideRAM(kernel: loaded, bankEnd: bank0End)) }

        let preferred = bank0.base + boot.preferredModuleOffset
        var base: UInt64
        if UInt128(bank0End) >= UInt128(preferred) + UInt128(modules) && kernelEnd < preferred {
            base = preferred
        } else if bank0End &- modules > kernelEnd {
            base = bank0End &- modules
        } else if kernelStart &- bank0.base > modules {
            base = kernelStart &- modules
        } else {
            return .failure(.noPlaceForModules(modules: modules, kernel: loaded, ramEnd: bank0End))
        }
        var ramdisk: AddressRange?
        if ramdiskSize != nil {
            ramdisk = AddressRange(base: base, size: rdSize)
            base += rdSize
        }
        return .success(BootMemory(
            bankSizes: sizes, kernel: loaded, ramdisk: ramdisk, deviceTree: AddressRange(base: base, size: dtbSize)))
    }

    /// `value` rounded up to a power-of-two `alignment`, wrapping as the C does.
    static func roundUp(_ value: UInt64, _ alignment: UInt64) -> UInt64 {
        (value &+ alignment &- 1) & ~(alignment &- 1)
    }
}
