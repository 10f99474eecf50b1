/// What the domain builder learns from the guest kernel: its architecture,
/// where above the RAM base it loads and how many bytes it occupies
/// (tools/libs/guest/xg_dom_armzimageloader.c).
public struct KernelImage: Hashable, Sendable {
    public var arch: GuestArch
    /// Load address minus the RAM base: an arm64 Image's `text_offset`, or
    /// 0x8000 for an arm32 zImage.
    public var loadOffset: UInt64
    /// Bytes loaded: the file size, or for a gzip file the uncompressed
    /// size from its trailer plus 16 (the builder's buffer size).
    public var size: UInt64
    /// Whether the file was gzip-compressed.
    public var gzip: Bool

    public init(arch: GuestArch, loadOffset: UInt64, size: UInt64, gzip: Bool = false) {
        self.arch = arch
        self.loadOffset = loadOffset
        self.size = size
        self.gzip = gzip
    }

    /// Why a file is not a kernel the domain builder would load.
    public enum Unrecognised: Error, Hashable, Sendable, CustomStringConvertible {
        case noHeader
        case corruptGzip(String)
        case gzipTooLarge(UInt32)
        case textOffsetTooLarge(UInt64)

        public var description: String {
            switch self {
            case .noHeader:
                "no arm64 Image magic (0x14000008 at 0 or \"ARM\\x64\" at 0x38) and no arm32 zImage magic (0x016f2818 at 0x24)"
            case .corruptGzip(let reason): "the gzip data is corrupt (\(reason))"
            case .gzipTooLarge(let size): "gzip trailer claims \(size) bytes, above the builder's 1 GiB limit, so it is not unpacked"
            case .textOffsetTooLarge(let offset): "arm64 text_offset \(hex(offset)) overflows the load address"
            }
        }
    }

    static let arm64Magic: UInt32 = 0x1400_0008
    static let arm64MagicV1: UInt32 = 0x644d_5241  // "ARM\x64"
    static let arm32Magic: UInt32 = 0x016f_2818
    static let arm64HeaderSize = 64
    static let arm32HeaderSize = 0x30
    /// `XC_DOM_DECOMPRESS_MAX`: larger claimed sizes are loaded as is.
    static let gunzipLimit: UInt32 = 1 << 30

    /// Reads the header as the domain builder does: gunzip first when the
    /// file starts with the gzip magic, then the arm64 loader's probe, then
    /// the arm32 one (the arm64 loader is registered last, so tried first).
    public static func parse(_ file: [UInt8], ramBase: UInt64, arm32Offset: UInt64) throws(Unrecognised) -> KernelImage {
        var header = file
        var size = UInt64(file.count)
        var gzip = false
        if let claimed = Gzip.uncompressedSize(of: file) {
            guard claimed <= gunzipLimit else { throw .gzipTooLarge(claimed) }
            do {
                header = try Gzip.prefix(of: file, count: arm64HeaderSize)
            } catch {
                if case .corrupt(let reason) = error { throw .corruptGzip(reason) }
                throw .corruptGzip("no gzip header")
            }
            size = UInt64(claimed) + 16
            gzip = true
        }
        if size >= UInt64(arm64HeaderSize),
           le32(header, 0) == arm64Magic || le32(header, 0x38) == arm64MagicV1 {
            let offset = le64(header, 8)
            guard offset <= UInt64.max - ramBase, size <= UInt64.max - (ramBase + offset) else {
                throw .textOffsetTooLarge(offset)
            }
            return KernelImage(arch: .arm64, loadOffset: offset, size: size, gzip: gzip)
        }
        if size >= UInt64(arm32HeaderSize), le32(header, 0x24) == arm32Magic {
            return KernelImage(arch: .arm32, loadOffset: arm32Offset, size: size, gzip: gzip)
        }
        throw .noHeader
    }

    /// Little-endian reads (the builder runs on a little-endian host);
    /// bytes past the end read as zero.
    private static func le32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { value, index in
            let position = offset + index
            return value | UInt32(position < bytes.count ? bytes[position] : 0) << (8 * index)
        }
    }

    private static func le64(_ bytes: [UInt8], _ offset: Int) -> UInt64 {
        UInt64(le32(bytes, offset)) | UInt64(le32(bytes, offset + 4)) << 32
    }
}
