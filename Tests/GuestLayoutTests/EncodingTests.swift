import DeviceTree
import Testing
import TestSupport

/// The `PropertyValue` shortcuts the layout builds its nodes with encode
/// exactly what the general constructors do: same bytes, same DTS shape.
@Suite struct EncodingTests {
    static func expectSame(_ shortcut: PropertyValue, _ general: PropertyValue) {
        #expect(shortcut.bytes == general.bytes)
        #expect(shortcut.shape == general.shape)
    }

    @Test func onePairIsAOnePairList() {
        var random = SplitMix64(seed: 0x5eed)
        for _ in 0..<200 {
            let address = random.next(), size = random.next() >> (random.next() % 64)
            Self.expectSame(.u64Pair(address, size), .u64Pairs([(address, size)]))
        }
        Self.expectSame(.u64Pair(0x1234_5678_9abc_def0, 1), PropertyValue(
            bytes: [0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0, 0, 0, 0, 0, 0, 0, 1],
            shape: [.cells(count: 4, phandles: [])]))
    }

    @Test func repeatedPairsAreAListOfCopies() {
        for count in [0, 1, 2, 257] {
            Self.expectSame(.u64Pairs(repeating: (0, 0), count: count), .u64Pairs(Array(repeating: (0, 0), count: count)))
            Self.expectSame(.u64Pairs(repeating: (7, 9), count: count), .u64Pairs(Array(repeating: (7, 9), count: count)))
        }
    }

    /// Cells from literals (inlined into the caller) and from built arrays.
    @Test func cellsKeepTheirValuesAndReferences() {
        var random = SplitMix64(seed: 42)
        for count in 0..<9 {
            let numbers = (0..<count).map { _ in UInt32(truncatingIfNeeded: random.next()) }
            let bytes = numbers.flatMap { word in (0..<4).reversed().map { UInt8(truncatingIfNeeded: word >> ($0 * 8)) } }
            let plain = PropertyValue.cells(numbers)
            #expect(plain.bytes == bytes)
            #expect(plain.shape == [.cells(count: count, phandles: [])])
            let references = numbers.indices.filter { _ in random.next() % 3 == 0 }
            let mixed = PropertyValue.cells(numbers.indices.map { references.contains($0) ? .phandle(numbers[$0]) : .number(numbers[$0]) })
            #expect(mixed.bytes == bytes)
            #expect(mixed.shape == [.cells(count: count, phandles: references)])
        }
        Self.expectSame(.cells([.phandle(0xfde9), .number(1)]), PropertyValue(
            bytes: [0, 0, 0xfd, 0xe9, 0, 0, 0, 1], shape: [.cells(count: 2, phandles: [0])]))
        Self.expectSame(.cells([1, 2, 0xf01]), PropertyValue(
            bytes: [0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0x0f, 0x01], shape: [.cells(count: 3, phandles: [])]))
    }
}
