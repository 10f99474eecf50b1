/// libfdt's `FDT_ERR_*` codes with a message in words for each.
///
/// libfdt 1.6.1's `fdt_strerror` returns only bare names and says
/// "<unknown error>" for `FDT_ERR_ALIGNMENT`, so we keep our own table.
public enum FDTErrorCode: Int32, Sendable, CaseIterable {
    case notFound = 1, exists, noSpace, badOffset, badPath, badPhandle, badState
    case truncated, badMagic, badVersion, badStructure, badLayout, internalError
    case badNCells, badValue, badOverlay, noPhandles, badFlags, alignment

    /// The code for a negative libfdt return value; nil for success or an
    /// unknown value.
    public init?(returnValue: Int32) {
        guard returnValue < 0 else { return nil }
        self.init(rawValue: -returnValue)
    }

    /// The libfdt name, e.g. `FDT_ERR_BADSTRUCTURE`.
    public var name: String {
        switch self {
        case .notFound: "FDT_ERR_NOTFOUND"
        case .exists: "FDT_ERR_EXISTS"
        case .noSpace: "FDT_ERR_NOSPACE"
        case .badOffset: "FDT_ERR_BADOFFSET"
        case .badPath: "FDT_ERR_BADPATH"
        case .badPhandle: "FDT_ERR_BADPHANDLE"
        case .badState: "FDT_ERR_BADSTATE"
        case .truncated: "FDT_ERR_TRUNCATED"
        case .badMagic: "FDT_ERR_BADMAGIC"
        case .badVersion: "FDT_ERR_BADVERSION"
        case .badStructure: "FDT_ERR_BADSTRUCTURE"
        case .badLayout: "FDT_ERR_BADLAYOUT"
        case .internalError: "FDT_ERR_INTERNAL"
        case .badNCells: "FDT_ERR_BADNCELLS"
        case .badValue: "FDT_ERR_BADVALUE"
        case .badOverlay: "FDT_ERR_BADOVERLAY"
        case .noPhandles: "FDT_ERR_NOPHANDLES"
        case .badFlags: "FDT_ERR_BADFLAGS"
        case .alignment: "FDT_ERR_ALIGNMENT"
        }
    }

    /// What the code means, in words.
    public var meaning: String {
        switch self {
        case .notFound: "the node or property does not exist"
        case .exists: "a node or property with that name already exists"
        case .noSpace: "the buffer is too small for the operation"
        case .badOffset: "an offset does not point at the right kind of tag"
        case .badPath: "the path is malformed"
        case .badPhandle: "the phandle is invalid (0 or 0xffffffff)"
        case .badState: "the blob is still being written, or calls came out of order"
        case .truncated: "the structure block or a value runs past the end of the blob"
        case .badMagic: "this is not a device tree blob (wrong magic number)"
        case .badVersion: "the blob's version is not supported"
        case .badStructure: "the token stream is malformed (bad nesting, a missing end, or an unknown tag)"
        case .badLayout: "the blocks are in an order libfdt cannot edit"
        case .internalError: "libfdt hit an internal inconsistency"
        case .badNCells: "#address-cells or #size-cells has no valid value"
        case .badValue: "a property has an unexpected value"
        case .badOverlay: "the overlay structure is invalid"
        case .noPhandles: "no phandle values are left"
        case .badFlags: "unknown creation flags"
        case .alignment: "the blob is not at an 8-byte-aligned address"
        }
    }
}
