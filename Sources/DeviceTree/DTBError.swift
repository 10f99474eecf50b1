/// Why a blob could not be read. Every case names the problem in words and,
/// where known, the byte offset (in the blob) or the node path.
public enum DTBError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The header's named blocks.
    public enum Block: String, Sendable {
        case reservationMap = "memory-reservation map"
        case structure = "structure block"
        case strings = "strings block"
    }

    case tooSmall(size: Int, needed: Int)
    case badMagic(found: UInt32)
    case unsupportedVersion(version: UInt32, lastCompatible: UInt32)
    case totalSizeTooLarge(totalSize: UInt32, fileSize: Int)
    case totalSizeTooSmall(totalSize: UInt32, headerSize: Int)
    case blockOutOfBounds(Block, offset: UInt32, size: UInt32, totalSize: UInt32)
    case misalignedBlock(Block, offset: UInt32, alignment: Int)
    case blockOverlapsHeader(Block, offset: UInt32)
    case blocksOverlap(Block, Block)
    case unterminatedReservationMap(offset: Int)
    /// libfdt's full check or walk failed; `offset` is a structure-block
    /// offset when libfdt's walk reached one.
    case malformed(FDTErrorCode, offset: Int?)
    case badNodeName(offset: Int, problem: String)
    case badPropertyName(offset: Int, path: String, problem: String)
    case tooDeep(path: String, limit: Int)

    public var description: String {
        switch self {
        case .tooSmall(let size, let needed):
            "blob is \(size) bytes, smaller than the \(needed)-byte header"
        case .badMagic(let found):
            "not a device tree blob: magic is \(hex(found)), expected 0xd00dfeed"
        case .unsupportedVersion(let version, let last):
            "unsupported blob version \(version) (last compatible \(last)); need version 16 or 17"
        case .totalSizeTooLarge(let total, let file):
            "header totalsize \(total) is larger than the \(file)-byte file: the blob is truncated"
        case .totalSizeTooSmall(let total, let header):
            "header totalsize \(total) is smaller than the \(header)-byte header"
        case .blockOutOfBounds(let block, let offset, let size, let total):
            "\(block.rawValue) at offset \(hex(offset)) with size \(size) ends outside the \(total)-byte blob"
        case .misalignedBlock(let block, let offset, let alignment):
            "\(block.rawValue) offset \(hex(offset)) is not \(alignment)-byte aligned"
        case .blockOverlapsHeader(let block, let offset):
            "\(block.rawValue) at offset \(hex(offset)) overlaps the header"
        case .blocksOverlap(let first, let second):
            "\(first.rawValue) and \(second.rawValue) overlap"
        case .unterminatedReservationMap(let offset):
            "memory-reservation map starting at offset \(hex(offset)) has no terminating zero entry"
        case .malformed(let code, let offset):
            "corrupt device tree: \(code.meaning) (\(code.name))"
                + (offset.map { " at structure offset \(hex($0))" } ?? "")
        case .badNodeName(let offset, let problem):
            "corrupt device tree: \(problem) (structure offset \(hex(offset)))"
        case .badPropertyName(let offset, let path, let problem):
            "corrupt device tree: in \(path): \(problem) (structure offset \(hex(offset)))"
        case .tooDeep(let path, let limit):
            "device tree nests deeper than \(limit) levels at \(path)"
        }
    }
}

/// Why a tree could not be written as a blob. Paths name the offending node.
public enum DTBWriteError: Error, Hashable, Sendable, CustomStringConvertible {
    case badNodeName(path: String, problem: String)
    case badPropertyName(path: String, problem: String)
    case badLabel(path: String, problem: String)
    case duplicateNode(path: String)
    case duplicateProperty(path: String, name: String)
    case duplicateLabel(label: String, paths: [String])
    case duplicatePhandle(phandle: UInt32, paths: [String])
    case shapeMismatch(path: String, property: String, problem: String)
    case tooDeep(path: String, limit: Int)
    case tooLarge(bytes: Int)
    case libfdt(call: String, code: FDTErrorCode)

    public var description: String {
        switch self {
        case .badNodeName(let path, let problem): "\(path): \(problem)"
        case .badPropertyName(let path, let problem): "\(path): \(problem)"
        case .badLabel(let path, let problem): "\(path): \(problem)"
        case .duplicateNode(let path): "two nodes named \(path)"
        case .duplicateProperty(let path, let name): "\(path): property '\(name)' appears twice"
        case .duplicateLabel(let label, let paths):
            "label '\(label)' is on more than one node: \(paths.joined(separator: ", "))"
        case .duplicatePhandle(let phandle, let paths):
            "phandle \(hex(phandle)) is on more than one node: \(paths.joined(separator: ", "))"
        case .shapeMismatch(let path, let property, let problem): "\(path): property '\(property)': \(problem)"
        case .tooDeep(let path, let limit): "\(path) nests deeper than \(limit) levels"
        case .tooLarge(let bytes): "tree needs \(bytes) bytes, more than a blob can hold (2 GiB)"
        case .libfdt(let call, let code): "libfdt \(call) failed: \(code.meaning) (\(code.name))"
        }
    }
}

func hex<T: BinaryInteger>(_ value: T) -> String { "0x" + String(value, radix: 16) }
