/// The value of a device-tree property: big-endian bytes, exactly as they
/// sit in a DTB, plus an optional *shape* that says how a DTS writes them.
///
/// Equality and hashing look at the bytes only: a blob read back from disk
/// (which carries no types) equals the model that produced it. The shape is
/// a presentation hint; values read from a DTB have none and the DTS printer
/// guesses, as dtc does.
public struct PropertyValue: Sendable {
    /// One stretch of a value as written in DTS.
    public enum Segment: Hashable, Sendable {
        /// A `<...>` group of 32-bit cells; `phandles` marks the cells (by
        /// index in the group) that hold phandle references.
        case cells(count: Int, phandles: [Int])
        /// `"a", "b"`: this many NUL-terminated strings.
        case strings(count: Int)
        /// `[01 02]`: this many raw bytes.
        case bytes(count: Int)
    }

    /// The encoded value.
    public private(set) var bytes: [UInt8]
    /// The shape, kept without an array in the common cases: a guest tree
    /// has hundreds of properties, and an array per value was a tenth of
    /// the allocations of a compile.
    private(set) var layout: Layout
    /// Whether `layout` may fail to cover `bytes`: a caller's shape, or a
    /// string with a NUL inside. The typed constructors build the others
    /// to cover their bytes, and the writer checks only these.
    private(set) var needsShapeCheck: Bool

    /// How a DTS writes the value, or nil when unknown (read from a DTB).
    public var shape: [Segment]? {
        switch layout {
        case .unknown: nil
        case .cellGroups(let size, let count): Array(repeating: .cells(count: size, phandles: []), count: count)
        case .strings(let count): [.strings(count: count)]
        case .segments(let segments): segments
        }
    }

    /// A value of raw bytes with an optional shape. The shape must cover
    /// `bytes` exactly; `DTBWriter` checks it and refuses a mismatch.
    public init(bytes: [UInt8], shape: [Segment]? = nil) {
        self.init(bytes: bytes, layout: shape.map(Layout.segments) ?? .unknown, needsShapeCheck: shape != nil)
    }

    /// A value whose layout the caller built to cover `bytes`, unless it
    /// says otherwise.
    init(bytes: [UInt8], layout: Layout, needsShapeCheck: Bool = false) {
        self.bytes = bytes
        self.layout = layout
        self.needsShapeCheck = needsShapeCheck
    }

    /// `shape`'s storage.
    enum Layout: Sendable {
        /// Read from a DTB: no shape.
        case unknown
        /// `count` groups of `size` plain cells each.
        case cellGroups(size: Int, count: Int)
        /// One run of `count` strings.
        case strings(count: Int)
        case segments([Segment])
    }
}

// MARK: - Typed constructors

extension PropertyValue {
    /// An empty property (`dma-coherent;`).
    public static var empty: PropertyValue { PropertyValue(bytes: [], layout: .segments([])) }

    /// One 32-bit cell.
    public static func u32(_ value: UInt32) -> PropertyValue {
        if Int(value) < smallCells.count { return smallCells[Int(value)] }
        return PropertyValue(bytes: .bigEndian(value), layout: .cellGroups(size: 1, count: 1))
    }

    /// `u32` of 0 to 3, encoded once: they are most cells of a tree
    /// (`#address-cells`, `#size-cells`, ...), and copies of a value share
    /// its bytes.
    private static let smallCells = (0..<4).map { value in
        PropertyValue(bytes: .bigEndian(UInt32(value)), layout: .cellGroups(size: 1, count: 1))
    }

    /// A 64-bit number as two cells, high word first.
    public static func u64(_ value: UInt64) -> PropertyValue {
        PropertyValue(bytes: .bigEndian(value), layout: .cellGroups(size: 2, count: 1))
    }

    /// One `<...>` group of plain cells.
    ///
    /// Inlinable, as the `[Cell]` form: a caller's array literal then never
    /// reaches the heap, and most cell values are short literals
    /// (`interrupts`, `iommus`).
    @inlinable
    public static func cells(_ values: [UInt32]) -> PropertyValue {
        values.withUnsafeBufferPointer(plainCells)
    }

    @usableFromInline
    static func plainCells(_ values: UnsafeBufferPointer<UInt32>) -> PropertyValue {
        PropertyValue(bytes: .bigEndian(values), layout: .cellGroups(size: values.count, count: 1))
    }

    /// One `<...>` group whose cells may mix numbers and phandle references.
    @inlinable
    public static func cells(_ values: [Cell]) -> PropertyValue {
        values.withUnsafeBufferPointer(mixedCells)
    }

    @usableFromInline
    static func mixedCells(_ values: UnsafeBufferPointer<Cell>) -> PropertyValue {
        let bytes = [UInt8].bigEndian(values.lazy.map(\.value))
        let leads = values.first?.isReference ?? false, follows = values.dropFirst().contains { $0.isReference }
        switch (leads, follows) {
        case (false, false):
            return PropertyValue(bytes: bytes, layout: .cellGroups(size: values.count, count: 1))
        case (true, false) where values.count <= leadingReference.count:
            return PropertyValue(bytes: bytes, layout: leadingReference[values.count - 1])
        default:
            let phandles = values.indices.filter { values[$0].isReference }
            return PropertyValue(bytes: bytes, layout: .segments([.cells(count: values.count, phandles: phandles)]))
        }
    }

    /// A single phandle reference (`interrupt-parent = <&gic>`).
    public static func phandle(_ value: UInt32) -> PropertyValue {
        PropertyValue(bytes: .bigEndian(value), layout: leadingReference[0])
    }

    /// The shapes of one group of 1 to 4 cells whose first cell alone is a
    /// phandle, made once: most references are `<&node arguments...>`
    /// (`interrupt-parent`, `iommus`), and a shape is two allocations.
    private static let leadingReference = (1...4).map { count in Layout.segments([.cells(count: count, phandles: [0])]) }

    /// `(address, size)` pairs of two cells each, one `<...>` group per pair,
    /// for a parent with `#address-cells = <2>` and `#size-cells = <2>`.
    public static func u64Pairs(_ pairs: [(UInt64, UInt64)]) -> PropertyValue {
        encodedPairs(count: pairs.count) { pairs[$0] }
    }

    /// One pair, as `u64Pairs([(address, size)])` without the array: most
    /// `reg` values are one region.
    public static func u64Pair(_ address: UInt64, _ size: UInt64) -> PropertyValue {
        PropertyValue(bytes: .bigEndian(address, size), layout: .cellGroups(size: 4, count: 1))
    }

    /// `count` copies of one pair, as `u64Pairs(Array(repeating:count:))`
    /// without the array: libxl's zeroed `reg` placeholders run to 257.
    /// The first pair is encoded, then what is written is copied after
    /// itself, doubling: a few block copies instead of a store per cell.
    public static func u64Pairs(repeating pair: (UInt64, UInt64), count: Int) -> PropertyValue {
        let bytes = [UInt8].written(count: count * 16) { raw in
            guard count > 0 else { return }
            raw.storeBytes(of: pair.0.bigEndian, toByteOffset: 0, as: UInt64.self)
            raw.storeBytes(of: pair.1.bigEndian, toByteOffset: 8, as: UInt64.self)
            var written = 16
            while written < raw.count {
                let step = min(written, raw.count - written)
                UnsafeMutableRawBufferPointer(rebasing: raw[written..<(written + step)])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[0..<step]))
                written += step
            }
        }
        return PropertyValue(bytes: bytes, layout: .cellGroups(size: 4, count: count))
    }

    /// `count` pairs, the `index`-th from `pair(index)`, written in one pass
    /// (appending group by group, copying the shape each time, was
    /// quadratic in the pairs).
    private static func encodedPairs(count: Int, _ pair: (Int) -> (UInt64, UInt64)) -> PropertyValue {
        let bytes = [UInt8].written(count: count * 16) { raw in
            for index in 0..<count {
                let (address, size) = pair(index)
                raw.storeBytes(of: address.bigEndian, toByteOffset: index * 16, as: UInt64.self)
                raw.storeBytes(of: size.bigEndian, toByteOffset: index * 16 + 8, as: UInt64.self)
            }
        }
        return PropertyValue(bytes: bytes, layout: .cellGroups(size: 4, count: count))
    }

    /// One NUL-terminated string.
    public static func string(_ value: String) -> PropertyValue { encoded(CollectionOfOne(value)) }

    /// A string list: each string NUL-terminated, concatenated.
    public static func strings(_ values: [String]) -> PropertyValue { encoded(values) }

    /// `values` NUL-terminated and concatenated, in one allocation. A value
    /// with a NUL inside does not fit its shape: the writer will say so.
    private static func encoded<Values: Collection<String>>(_ values: Values) -> PropertyValue {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(values.reduce(0) { $0 + $1.utf8.count + 1 })
        for value in values {
            bytes.append(contentsOf: value.utf8)
            bytes.append(0)
        }
        let nuls = bytes.withUnsafeBufferPointer { bytes in bytes.reduce(0) { $1 == 0 ? $0 + 1 : $0 } }
        return PropertyValue(bytes: bytes, layout: .strings(count: values.count), needsShapeCheck: nuls != values.count)
    }

    /// Raw bytes, written `[..]` in DTS.
    public static func bytes(_ values: [UInt8]) -> PropertyValue {
        PropertyValue(bytes: values, layout: .segments([.bytes(count: values.count)]))
    }

    /// Concatenation, as `a, b` in DTS (`reg = <..>, <..>`).
    public static func + (lhs: PropertyValue, rhs: PropertyValue) -> PropertyValue {
        var result = lhs
        result += rhs
        return result
    }

    public static func += (lhs: inout PropertyValue, rhs: PropertyValue) {
        lhs.bytes += rhs.bytes
        lhs.needsShapeCheck = lhs.needsShapeCheck || rhs.needsShapeCheck
        switch (lhs.layout, rhs.layout) {
        case (.cellGroups(let size, let left), .cellGroups(let other, let right)) where size == other:
            lhs.layout = .cellGroups(size: size, count: left + right)
        default:
            if let left = lhs.shape, let right = rhs.shape {
                lhs.layout = .segments(left + right)
            } else {
                lhs.layout = .unknown
                lhs.needsShapeCheck = false
            }
        }
    }
}

/// One cell of a `<...>` group.
public enum Cell: Hashable, Sendable {
    case number(UInt32)
    /// A phandle: printed as `&label` when the target node has a label.
    case phandle(UInt32)

    public var value: UInt32 {
        switch self {
        case .number(let value), .phandle(let value): value
        }
    }

    fileprivate var isReference: Bool {
        if case .phandle = self { true } else { false }
    }
}

// MARK: - Accessors

extension PropertyValue {
    public var isEmpty: Bool { bytes.isEmpty }

    /// The value as one cell, or nil unless it is exactly 4 bytes.
    public var u32: UInt32? { bytes.count == 4 ? bytes.bigEndianU32(at: 0) : nil }

    /// The value as two cells, or nil unless it is exactly 8 bytes.
    public var u64: UInt64? {
        bytes.count == 8 ? UInt64(bytes.bigEndianU32(at: 0)) << 32 | UInt64(bytes.bigEndianU32(at: 4)) : nil
    }

    /// The value as cells, or nil unless its length is a multiple of 4.
    public var cells: [UInt32]? {
        guard bytes.count % 4 == 0 else { return nil }
        return stride(from: 0, to: bytes.count, by: 4).map { bytes.bigEndianU32(at: $0) }
    }

    /// The value as a string list, or nil unless it is non-empty, ends with
    /// NUL and decodes as UTF-8.
    public var strings: [String]? {
        guard let last = bytes.last, last == 0 else { return nil }
        var result: [String] = []
        var start = 0
        for index in bytes.indices where bytes[index] == 0 {
            guard let string = String(validating: bytes[start..<index], as: UTF8.self) else { return nil }
            result.append(string)
            start = index + 1
        }
        return result
    }

    /// The value as one string, or nil unless it is exactly one
    /// NUL-terminated UTF-8 string.
    public var string: String? {
        guard let list = strings, list.count == 1 else { return nil }
        return list[0]
    }
}

extension PropertyValue: Hashable {
    public static func == (lhs: PropertyValue, rhs: PropertyValue) -> Bool { lhs.bytes == rhs.bytes }
    public func hash(into hasher: inout Hasher) { hasher.combine(bytes) }
}

extension Array where Element == UInt8 {
    /// `count` bytes written by `fill` (which writes every one) into
    /// scratch space, then copied into an array of the exact size: the
    /// cheapest way to a new array of computed bytes
    /// (`init(unsafeUninitializedCapacity:)` is not specialised and looks
    /// up the storage type on every call).
    static func written(count: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void) -> [UInt8] {
        withUnsafeTemporaryAllocation(byteCount: count, alignment: 8) { scratch in
            fill(scratch)
            return [UInt8](UnsafeRawBufferPointer(scratch))
        }
    }

    /// One cell's big-endian bytes. An array literal takes the cheapest
    /// allocation path there is; a guest tree has hundreds of cells.
    static func bigEndian(_ word: UInt32) -> [UInt8] {
        let byte = { (shift: UInt32) in UInt8(truncatingIfNeeded: word >> shift) }
        return [byte(24), byte(16), byte(8), byte(0)]
    }

    /// Two cells' big-endian bytes, high cell first, as one array literal.
    static func bigEndian(_ value: UInt64) -> [UInt8] {
        let byte = { (shift: UInt64) in UInt8(truncatingIfNeeded: value >> shift) }
        return [byte(56), byte(48), byte(40), byte(32), byte(24), byte(16), byte(8), byte(0)]
    }

    /// Four cells' big-endian bytes, `first`'s two cells first, as one
    /// array literal (scratch space copied into an array cost twice as much).
    static func bigEndian(_ first: UInt64, _ second: UInt64) -> [UInt8] {
        let high = { (shift: UInt64) in UInt8(truncatingIfNeeded: first >> shift) }
        let low = { (shift: UInt64) in UInt8(truncatingIfNeeded: second >> shift) }
        return [
            high(56), high(48), high(40), high(32), high(24), high(16), high(8), high(0),
            low(56), low(48), low(40), low(32), low(24), low(16), low(8), low(0),
        ]
    }

    /// `words` as big-endian bytes, four per word, written in place (one
    /// `append` per byte cost four capacity checks per byte).
    static func bigEndian(_ words: some Collection<UInt32>) -> [UInt8] {
        written(count: words.count * 4) { raw in
            for (index, word) in words.enumerated() {
                raw.storeBytes(of: word.bigEndian, toByteOffset: index * 4, as: UInt32.self)
            }
        }
    }

    func bigEndianU32(at offset: Int) -> UInt32 {
        UInt32(self[offset]) << 24 | UInt32(self[offset + 1]) << 16
            | UInt32(self[offset + 2]) << 8 | UInt32(self[offset + 3])
    }
}
