/// Just enough gzip (RFC 1952) and DEFLATE (RFC 1951) to read the start
/// of a compressed kernel: the domain builder gunzips `Image.gz` before
/// it looks at the header, so grantdt must see the same first bytes.
enum Gzip {
    /// Why a gzip file cannot be read.
    enum Failure: Error, Equatable {
        case notGzip
        case corrupt(String)
    }

    /// The first `count` bytes of the uncompressed data (fewer when the
    /// data is shorter).
    static func prefix(of file: [UInt8], count: Int) throws(Failure) -> [UInt8] {
        let start = try payloadStart(of: file)
        var inflater = Inflater(input: file[start...], limit: count)
        try inflater.run()
        return inflater.output
    }

    /// `ISIZE`: the uncompressed size modulo 2^32, from the last 4 bytes.
    static func uncompressedSize(of file: [UInt8]) -> UInt32? {
        guard file.count >= 6, file[0] == 0x1f, file[1] == 0x8b else { return nil }
        return (0..<4).reduce(UInt32(0)) { $0 | UInt32(file[file.count - 4 + $1]) << (8 * $1) }
    }

    /// Offset of the DEFLATE data after the member header.
    private static func payloadStart(of file: [UInt8]) throws(Failure) -> Int {
        guard file.count >= 18, file[0] == 0x1f, file[1] == 0x8b else { throw .notGzip }
        guard file[2] == 8 else { throw .corrupt("compression method \(file[2]) is not deflate") }
        let flags = file[3]
        var offset = 10
        if flags & 0x04 != 0 {  // FEXTRA
            guard offset + 2 <= file.count else { throw .corrupt("truncated extra field") }
            offset += 2 + (Int(file[offset]) | Int(file[offset + 1]) << 8)
        }
        for flag: UInt8 in [0x08, 0x10] where flags & flag != 0 {  // FNAME, FCOMMENT: NUL-terminated
            guard let end = file[min(offset, file.count)...].firstIndex(of: 0) else { throw .corrupt("unterminated header string") }
            offset = end + 1
        }
        if flags & 0x02 != 0 { offset += 2 }  // FHCRC
        guard offset < file.count else { throw .corrupt("no compressed data") }
        return offset
    }
}

/// A DEFLATE decoder that stops once it has `limit` bytes of output.
private struct Inflater {
    private let input: ArraySlice<UInt8>
    private var position: Int
    private var bitBuffer: UInt32 = 0
    private var bitCount = 0
    let limit: Int
    private(set) var output: [UInt8] = []

    init(input: ArraySlice<UInt8>, limit: Int) {
        self.input = input
        self.position = input.startIndex
        self.limit = limit
    }

    mutating func run() throws(Gzip.Failure) {
        var final = false
        while !final && output.count < limit {
            final = try bits(1) == 1
            switch try bits(2) {
            case 0: try stored()
            case 1: try compressed(Huffman.fixedLengths, Huffman.fixedDistances)
            case 2:
                let (lengths, distances) = try dynamicTables()
                try compressed(lengths, distances)
            default: throw .corrupt("reserved block type")
            }
        }
        if output.count > limit { output.removeLast(output.count - limit) }
    }

    private mutating func bits(_ count: Int) throws(Gzip.Failure) -> Int {
        while bitCount < count {
            guard position < input.endIndex else { throw .corrupt("compressed data ends early") }
            bitBuffer |= UInt32(input[position]) << bitCount
            position += 1
            bitCount += 8
        }
        let value = Int(bitBuffer & ((1 << count) - 1))
        bitBuffer >>= count
        bitCount -= count
        return value
    }

    private mutating func stored() throws(Gzip.Failure) {
        bitBuffer = 0
        bitCount = 0
        guard position + 4 <= input.endIndex else { throw .corrupt("stored block header ends early") }
        let length = Int(input[position]) | Int(input[position + 1]) << 8
        let complement = Int(input[position + 2]) | Int(input[position + 3]) << 8
        guard length == ~complement & 0xffff else { throw .corrupt("stored block length check fails") }
        position += 4
        guard position + length <= input.endIndex else { throw .corrupt("stored block ends early") }
        output += input[position..<(position + length)]
        position += length
    }

    private mutating func decode(_ code: Huffman) throws(Gzip.Failure) -> Int {
        var value = 0, first = 0, index = 0
        for length in 1...Huffman.maxBits {
            value |= try bits(1)
            let count = code.counts[length]
            if value - first < count { return code.symbols[index + value - first] }
            index += count
            first = (first + count) << 1
            value <<= 1
        }
        throw .corrupt("invalid Huffman code")
    }

    private mutating func compressed(_ lengths: Huffman, _ distances: Huffman) throws(Gzip.Failure) {
        while output.count < limit {
            let symbol = try decode(lengths)
            if symbol < 256 {
                output.append(UInt8(symbol))
                continue
            }
            if symbol == 256 { return }
            let lengthIndex = symbol - 257
            guard lengthIndex < Huffman.lengthBase.count else { throw .corrupt("invalid length symbol") }
            let lengthExtra = try bits(Huffman.lengthExtra[lengthIndex])
            let length = Huffman.lengthBase[lengthIndex] + lengthExtra
            let distanceIndex = try decode(distances)
            guard distanceIndex < Huffman.distanceBase.count else { throw .corrupt("invalid distance symbol") }
            let distanceExtra = try bits(Huffman.distanceExtra[distanceIndex])
            let distance = Huffman.distanceBase[distanceIndex] + distanceExtra
            guard distance <= output.count else { throw .corrupt("distance reaches before the start") }
            for _ in 0..<length { output.append(output[output.count - distance]) }
        }
    }

    private mutating func dynamicTables() throws(Gzip.Failure) -> (Huffman, Huffman) {
        let literalCount = try bits(5) + 257
        let distanceCount = try bits(5) + 1
        let codeLengthCount = try bits(4) + 4
        guard literalCount <= 286, distanceCount <= 30 else { throw .corrupt("too many codes") }
        var codeLengthLengths = [Int](repeating: 0, count: 19)
        for index in 0..<codeLengthCount {
            codeLengthLengths[Huffman.codeLengthOrder[index]] = try bits(3)
        }
        let codeLengths = try Huffman.checked(codeLengthLengths)
        var lengths: [Int] = []
        while lengths.count < literalCount + distanceCount {
            let symbol = try decode(codeLengths)
            switch symbol {
            case 0...15:
                lengths.append(symbol)
            case 16:
                guard let previous = lengths.last else { throw .corrupt("repeat with no previous length") }
                let extra = try bits(2)
                lengths += repeatElement(previous, count: 3 + extra)
            case 17:
                let extra = try bits(3)
                lengths += repeatElement(0, count: 3 + extra)
            default:
                let extra = try bits(7)
                lengths += repeatElement(0, count: 11 + extra)
            }
        }
        guard lengths.count == literalCount + distanceCount else { throw .corrupt("code lengths overrun") }
        guard lengths[256] != 0 else { throw .corrupt("no end-of-block code") }
        return (try Huffman.checked(Array(lengths[..<literalCount])), try Huffman.checked(Array(lengths[literalCount...])))
    }
}

/// A canonical Huffman code as counts per length and symbols in code order.
private struct Huffman {
    static let maxBits = 15
    let counts: [Int]
    let symbols: [Int]

    /// The code for these lengths (0 = symbol unused); may be incomplete.
    init(lengths: [Int]) {
        var counts = [Int](repeating: 0, count: Self.maxBits + 1)
        for length in lengths { counts[length] += 1 }
        counts[0] = 0
        var offsets = [Int](repeating: 0, count: Self.maxBits + 1)
        for length in 1..<Self.maxBits { offsets[length + 1] = offsets[length] + counts[length] }
        var symbols = [Int](repeating: 0, count: lengths.count)
        for (symbol, length) in lengths.enumerated() where length != 0 {
            symbols[offsets[length]] = symbol
            offsets[length] += 1
        }
        self.counts = counts
        self.symbols = symbols
    }

    /// The code for lengths read from the stream, refused when more codes
    /// of a length exist than the lengths above it leave room for.
    static func checked(_ lengths: [Int]) throws(Gzip.Failure) -> Huffman {
        let code = Huffman(lengths: lengths)
        var left = 1
        for length in 1...maxBits {
            left = (left << 1) - code.counts[length]
            guard left >= 0 else { throw .corrupt("over-subscribed Huffman code") }
        }
        return code
    }

    /// RFC 1951 §3.2.6.
    static let fixedLengths = Huffman(
        lengths: Array(repeating: 8, count: 144) + Array(repeating: 9, count: 112)
            + Array(repeating: 7, count: 24) + Array(repeating: 8, count: 8))
    static let fixedDistances = Huffman(lengths: Array(repeating: 5, count: 30))

    static let codeLengthOrder = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]
    static let lengthBase = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    static let lengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    static let distanceBase = [
        1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097,
        6145, 8193, 12289, 16385, 24577,
    ]
    static let distanceExtra = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]
}
