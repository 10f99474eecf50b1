import DeviceTree
import Diagnostics
import Glibc
import SystemIO
import XLConfig

/// What the layout needs from the files a config names: the kernel's
/// architecture, load offset and size, the ramdisk's size, and the
/// partial device tree. `read(for:options:template:)` gets them from disk
/// the way xl does (relative paths against the current directory, or
/// `LayoutOptions.workingDirectory`); tests and other callers can fill
/// them in directly.
public struct GuestInputs: Sendable {
    /// The kernel as the domain builder loads it, or the assumed one.
    public var kernel: KernelImage
    /// The ramdisk's size in bytes; nil when the guest has no ramdisk.
    public var ramdiskSize: UInt64?
    /// The `device_tree=` file's tree; nil when there is none.
    public var partialTree: PartialTree?

    public init(kernel: KernelImage, ramdiskSize: UInt64? = nil, partialTree: PartialTree? = nil) {
        self.kernel = kernel
        self.ramdiskSize = ramdiskSize
        self.partialTree = partialTree
    }

    /// A partial device tree and the file it came from (for diagnostics).
    public struct PartialTree: Sendable {
        public var file: String
        public var tree: DeviceTree

        public init(file: String, tree: DeviceTree) {
            self.file = file
            self.tree = tree
        }
    }

    /// Reads the kernel header, the ramdisk size and the partial tree.
    /// Returns nil inputs when a file problem is an error.
    public static func read(for guest: GuestConfig, options: LayoutOptions, template: Template)
        -> (inputs: GuestInputs?, diagnostics: [Diagnostic])
    {
        var diagnostics: [Diagnostic] = []
        let kernel = readKernel(guest.kernel, file: guest.file, options: options, template: template, into: &diagnostics)
        let ramdisk = readRamdiskSize(guest.ramdisk, options: options, into: &diagnostics)
        let partial = readPartialTree(guest.deviceTree, options: options, into: &diagnostics)
        guard let kernel, let ramdiskSize = ramdisk.value, let partialTree = partial.value else { return (nil, diagnostics) }
        return (GuestInputs(kernel: kernel, ramdiskSize: ramdiskSize, partialTree: partialTree), diagnostics)
    }

    /// An optional input file: not configured, read, or failed (reported).
    private enum Outcome<Value> {
        case absent, found(Value), failed

        /// nil when failed; otherwise the value, itself nil when absent.
        var value: Value?? {
            switch self {
            case .absent: .some(nil)
            case .found(let value): .some(value)
            case .failed: nil
            }
        }
    }

    // MARK: Kernel

    private static func readKernel(
        _ path: Located<String>?, file: String, options: LayoutOptions, template: Template,
        into diagnostics: inout [Diagnostic]
    ) -> KernelImage? {
        guard let path, !path.value.isEmpty, FileSystem.exists(options.resolve(path.value)) else {
            let kernel = assumedKernel(options: options, template: template)
            let text = assumedKernelText(path: path?.value, kernel)
            diagnostics.append(path.map { LayoutRules.kernelAssumed.at($0.location, text) }
                ?? LayoutRules.kernelAssumed.about(file: file, text))
            return kernel
        }
        let bytes: [UInt8]
        do {
            bytes = try FileSystem.readFile(options.resolve(path.value))
        } catch {
            diagnostics.append(LayoutRules.kernelUnreadable.at(path.location, error.description))
            return nil
        }
        return resolveKernel(bytes, path: path, options: options, template: template, into: &diagnostics)
    }

    /// The text of `kernelAssumed`, which most guests of a batch get (CI
    /// configs rarely ship their kernels).
    private static func assumedKernelText(path: String?, _ kernel: KernelImage) -> String {
        var text = MessageText(capacity: 128)
        if let path {
            text += "kernel file '"
            text += path
            text += "' not found: "
        } else {
            text += "no `kernel=`: "
        }
        text += "assuming an "
        text += kernel.arch.rawValue
        text += " kernel of "
        text.append(kernel.size)
        text += " bytes at RAM base + "
        text += hex(kernel.loadOffset)
        return text.string
    }

    /// The kernel from its file's bytes, with `--arch` applied.
    static func resolveKernel(
        _ bytes: [UInt8], path: Located<String>, options: LayoutOptions, template: Template,
        into diagnostics: inout [Diagnostic]
    ) -> KernelImage? {
        let ramBase = template.memoryMap.ramBanks.first?.base ?? 0
        do {
            let image = try KernelImage.parse(bytes, ramBase: ramBase, arm32Offset: template.boot.arm32KernelOffset)
            guard let arch = options.arch, arch != image.arch else { return image }
            diagnostics.append(LayoutRules.archOverride.at(
                path.location,
                "kernel '\(path.value)' is an \(image.arch.rawValue) image; --arch \(arch.rawValue) overrides it",
                hint: "the domain builder would load it as \(image.arch.rawValue)"))
            return KernelImage(arch: arch, loadOffset: defaultOffset(arch, template), size: image.size, gzip: image.gzip)
        } catch {
            guard let arch = options.arch else {
                diagnostics.append(LayoutRules.kernelFormat.at(path.location, "kernel '\(path.value)': \(error)"))
                return nil
            }
            diagnostics.append(LayoutRules.archOverride.at(
                path.location, "kernel '\(path.value)': \(error); laying out as \(arch.rawValue) because of --arch",
                hint: "the domain builder would refuse this file"))
            return KernelImage(arch: arch, loadOffset: defaultOffset(arch, template), size: UInt64(bytes.count))
        }
    }

    /// `--kernel-size` bytes of `--arch` (default arm64) kernel.
    static func assumedKernel(options: LayoutOptions, template: Template) -> KernelImage {
        let arch = options.arch ?? .arm64
        return KernelImage(arch: arch, loadOffset: defaultOffset(arch, template), size: options.kernelSize)
    }

    /// Where a kernel of this architecture loads when its header does not
    /// say: a zImage always at the arm32 offset, an Image at the RAM base
    /// (`text_offset` 0, as in Linux since 5.8).
    private static func defaultOffset(_ arch: GuestArch, _ template: Template) -> UInt64 {
        arch == .arm32 ? template.boot.arm32KernelOffset : 0
    }

    // MARK: Ramdisk

    private static func readRamdiskSize(
        _ path: Located<String>?, options: LayoutOptions, into diagnostics: inout [Diagnostic]
    ) -> Outcome<UInt64> {
        // libxl loads a ramdisk only when the path is non-empty.
        guard let path, !path.value.isEmpty else { return .absent }
        let file = options.resolve(path.value)
        let problem: String
        if FileSystem.isDirectory(file) {
            problem = "'\(path.value)' is a directory"
        } else if access(file, R_OK) != 0 {
            problem = IOError(path: path.value, operation: "read", reason: String(cString: strerror(errno))).description
        } else {
            do {
                return .found(UInt64(try FileSystem.fileSize(file)))
            } catch {
                problem = error.description
            }
        }
        guard let size = options.ramdiskSize else {
            diagnostics.append(LayoutRules.ramdiskMissing.at(path.location, "ramdisk: \(problem)"))
            return .failed
        }
        diagnostics.append(LayoutRules.ramdiskAssumed.at(
            path.location, "ramdisk: \(problem); placing a ramdisk of \(size) bytes (--ramdisk-size)"))
        return .found(size)
    }

    // MARK: Partial device tree

    private static func readPartialTree(
        _ path: Located<String>?, options: LayoutOptions, into diagnostics: inout [Diagnostic]
    ) -> Outcome<PartialTree> {
        guard let path else { return .absent }
        let bytes: [UInt8]
        do {
            bytes = try FileSystem.readFile(options.resolve(path.value), limit: 64 << 20)
        } catch {
            diagnostics.append(LayoutRules.partialUnreadable.at(path.location, error.description))
            return .failed
        }
        do {
            return .found(PartialTree(file: path.value, tree: try DTBReader.read(bytes)))
        } catch {
            diagnostics.append(LayoutRules.partialInvalid.at(path.location, "'\(path.value)': \(error)"))
            return .failed
        }
    }
}
