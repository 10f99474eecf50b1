/// Builds blobs token by token, with every header field overridable, to
/// craft the malformed inputs libfdt's writer would never produce.
struct RawBlob {
    static let beginNode: UInt32 = 1, endNode: UInt32 = 2, prop: UInt32 = 3, nop: UInt32 = 4, end: UInt32 = 9

    var structure: [UInt8] = []
    var strings: [UInt8] = []
    var reservations: [(UInt64, UInt64)] = []
    var version: UInt32 = 17
    var lastCompatible: UInt32 = 16
    /// Header overrides applied after layout: word index → value.
    var overrides: [Int: UInt32] = [:]
    /// Bytes appended after the strings block and counted in totalsize.
    var trailing: [UInt8] = []

    mutating func token(_ value: UInt32) { structure.appendWord(value) }

    mutating func begin(_ name: String) {
        token(Self.beginNode)
        structure += Array(name.utf8) + [0]
        while structure.count % 4 != 0 { structure.append(0) }
    }

    mutating func property(_ name: String, _ value: [UInt8]) {
        let offset: Int
        if let existing = nameOffset(name) { offset = existing } else {
            offset = strings.count
            strings += Array(name.utf8) + [0]
        }
        token(Self.prop)
        structure.appendWord(UInt32(value.count))
        structure.appendWord(UInt32(offset))
        structure += value
        while structure.count % 4 != 0 { structure.append(0) }
    }

    /// A property whose name offset is given raw (to point it anywhere).
    mutating func property(nameOffset: UInt32, _ value: [UInt8]) {
        token(Self.prop)
        structure.appendWord(UInt32(value.count))
        structure.appendWord(nameOffset)
        structure += value
        while structure.count % 4 != 0 { structure.append(0) }
    }

    private func nameOffset(_ name: String) -> Int? {
        let needle = Array(name.utf8) + [0]
        guard strings.count >= needle.count else { return nil }
        return (0...(strings.count - needle.count)).first { Array(strings[$0..<$0 + needle.count]) == needle }
    }

    /// Header fields in order (word index): 0 magic, 1 totalsize,
    /// 2 off_dt_struct, 3 off_dt_strings, 4 off_mem_rsvmap, 5 version,
    /// 6 last_comp_version, 7 boot_cpuid_phys, 8 size_dt_strings, 9 size_dt_struct.
    var bytes: [UInt8] {
        var rsv: [UInt8] = []
        for (address, size) in reservations + [(0, 0)] {
            rsv.appendWord(UInt32(truncatingIfNeeded: address >> 32)); rsv.appendWord(UInt32(truncatingIfNeeded: address))
            rsv.appendWord(UInt32(truncatingIfNeeded: size >> 32)); rsv.appendWord(UInt32(truncatingIfNeeded: size))
        }
        let rsvOffset = 40
        let structOffset = rsvOffset + rsv.count
        let stringsOffset = structOffset + structure.count
        let total = stringsOffset + strings.count + trailing.count
        var header: [UInt32] = [
            0xd00d_feed, UInt32(total), UInt32(structOffset), UInt32(stringsOffset), UInt32(rsvOffset),
            version, lastCompatible, 0, UInt32(strings.count), UInt32(structure.count),
        ]
        for (index, value) in overrides { header[index] = value }
        var blob: [UInt8] = []
        for word in header { blob.appendWord(word) }
        return blob + rsv + structure + strings + trailing
    }

    /// A small valid tree: root with one property and one child.
    static var minimal: RawBlob {
        var blob = RawBlob()
        blob.begin("")
        blob.property("compatible", Array("test\0".utf8))
        blob.begin("child@1")
        blob.property("reg", [0, 0, 0, 1])
        blob.token(endNode)
        blob.token(endNode)
        blob.token(end)
        return blob
    }
}

extension Array where Element == UInt8 {
    mutating func appendWord(_ value: UInt32) {
        append(contentsOf: [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)])
    }
}
