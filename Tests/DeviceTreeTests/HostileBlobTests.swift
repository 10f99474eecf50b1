import DeviceTree
import Testing
import TestSupport

/// Untrusted blobs: every malformation gives a typed error, never a crash
/// or a hang; what real toolstacks emit is accepted.
@Suite struct HostileBlobTests {
    private func error(_ bytes: [UInt8]) -> DTBError? {
        do {
            _ = try DTBReader.read(bytes)
            return nil
        } catch {
            return error
        }
    }

    @Test func minimalBlobIsValid() throws {
        let tree = try DTBReader.read(RawBlob.minimal.bytes)
        #expect(tree.root[property: "compatible"]?.string == "test")
        #expect(tree.node(at: "/child@1")?[property: "reg"]?.u32 == 1)
    }

    @Test func truncatedAtEveryOffsetFails() throws {
        let blob = try DTBWriter.write(SampleTrees.everyValueKind)
        for length in 0..<blob.count {
            #expect(error(Array(blob[..<length])) != nil, "prefix of \(length) bytes was accepted")
        }
    }

    @Test func emptyAndTinyInputs() {
        #expect(error([]) == .tooSmall(size: 0, needed: 40))
        #expect(error([0xd0, 0x0d, 0xfe, 0xed]) == .tooSmall(size: 4, needed: 40))
    }

    @Test func badMagic() {
        var blob = RawBlob.minimal
        blob.overrides[0] = 0x1234_5678
        #expect(error(blob.bytes) == .badMagic(found: 0x1234_5678))
    }

    @Test func unsupportedVersions() {
        for (version, last) in [(UInt32(15), UInt32(15)), (17, 18), (16, 17)] {
            var blob = RawBlob.minimal
            blob.version = version
            blob.lastCompatible = last
            #expect(error(blob.bytes) == .unsupportedVersion(version: version, lastCompatible: last))
        }
    }

    @Test func totalSizeLargerThanBuffer() {
        var blob = RawBlob.minimal
        let real = blob.bytes.count
        blob.overrides[1] = UInt32(real + 1)
        #expect(error(blob.bytes) == .totalSizeTooLarge(totalSize: UInt32(real + 1), fileSize: real))
    }

    @Test func totalSizeSmallerThanHeader() {
        var blob = RawBlob.minimal
        blob.overrides[1] = 20
        #expect(error(blob.bytes) == .totalSizeTooSmall(totalSize: 20, headerSize: 40))
    }

    @Test func structureBlockOutsideBlob() {
        var blob = RawBlob.minimal
        blob.overrides[9] = 0xffff_fff0
        guard case .blockOutOfBounds(.structure, _, _, _) = error(blob.bytes) else {
            Issue.record("expected structure block out of bounds")
            return
        }
    }

    @Test func offsetArithmeticDoesNotOverflow() {
        var blob = RawBlob.minimal
        blob.overrides[2] = 0xffff_fffc
        blob.overrides[9] = 0x10
        guard case .blockOutOfBounds(.structure, _, _, _) = error(blob.bytes) else {
            Issue.record("expected structure block out of bounds")
            return
        }
    }

    @Test func misalignedStructureOffset() {
        var blob = RawBlob.minimal
        blob.overrides[2] = 57
        #expect(error(blob.bytes) == .misalignedBlock(.structure, offset: 57, alignment: 4))
    }

    @Test func misalignedReservationMap() {
        var blob = RawBlob.minimal
        blob.overrides[4] = 44
        #expect(error(blob.bytes) == .misalignedBlock(.reservationMap, offset: 44, alignment: 8))
    }

    @Test func blockInsideHeader() {
        var blob = RawBlob.minimal
        blob.overrides[3] = 8
        #expect(error(blob.bytes) == .blockOverlapsHeader(.strings, offset: 8))
    }

    @Test func overlappingBlocks() {
        var blob = RawBlob.minimal
        let bytes = blob.bytes
        // Strings block moved to start inside the structure block.
        blob.overrides[3] = UInt32(56 + 8)
        blob.overrides[8] = UInt32(bytes.count - 56 - 8)
        #expect(error(blob.bytes) == .blocksOverlap(.structure, .strings))
    }

    @Test func reservationMapOverlappingStructure() {
        var blob = RawBlob.minimal
        blob.reservations = [(0x1000, 0x1000)]
        // Point the map one entry later so its terminator search runs into
        // the structure block.
        blob.overrides[4] = 48
        #expect(error(blob.bytes) != nil)
    }

    @Test func unterminatedReservationMap() {
        var blob = RawBlob()
        blob.begin("")
        blob.token(RawBlob.endNode)
        blob.token(RawBlob.end)
        var bytes = blob.bytes
        // Put the map at the strings block (empty, at the very end): no room
        // for even the terminating entry.
        let mapOffset = bytes.count
        bytes.replaceSubrange(16..<20, with: [UInt8(mapOffset >> 24), UInt8(mapOffset >> 16 & 0xff), UInt8(mapOffset >> 8 & 0xff), UInt8(mapOffset & 0xff)])
        #expect(error(bytes) != nil)
    }

    @Test func unterminatedPropertyName() {
        var blob = RawBlob.minimal
        blob.strings.removeLast()  // "reg" loses its NUL
        blob.overrides[8] = UInt32(blob.strings.count)
        #expect(error(blob.bytes) != nil)
    }

    @Test func propertyNameOffsetOutOfRange() {
        var blob = RawBlob()
        blob.begin("")
        blob.property(nameOffset: 0x7fff_0000, [1, 2, 3, 4])
        blob.token(RawBlob.endNode)
        blob.token(RawBlob.end)
        guard case .malformed = error(blob.bytes) else {
            Issue.record("expected a malformed-blob error")
            return
        }
    }

    @Test func propertyLengthRunningPastTheBlock() {
        var blob = RawBlob()
        blob.begin("")
        blob.token(RawBlob.prop)
        blob.structure.appendWord(0xffff_fff0)  // forged length (libfdt's 1.7.0 overflow fix)
        blob.structure.appendWord(0)
        blob.token(RawBlob.endNode)
        blob.token(RawBlob.end)
        blob.strings = Array("x\0".utf8)
        #expect(error(blob.bytes) != nil)
    }

    @Test func unterminatedNodeName() {
        var blob = RawBlob()
        blob.begin("")
        blob.token(RawBlob.beginNode)
        blob.structure += Array("abcd".utf8)  // no NUL anywhere after it
        #expect(error(blob.bytes) != nil)
    }

    @Test func unclosedNodes() {
        var blob = RawBlob()
        blob.begin("")
        blob.begin("child")
        blob.token(RawBlob.endNode)
        blob.token(RawBlob.end)
        #expect(error(blob.bytes) == .malformed(.badStructure, offset: nil))
    }

    @Test func unknownTag() {
        var blob = RawBlob()
        blob.begin("")
        blob.token(7)
        blob.token(RawBlob.endNode)
        blob.token(RawBlob.end)
        #expect(error(blob.bytes) != nil)
    }

    @Test func deepNestingIsRefusedWithoutRecursion() {
        var blob = RawBlob()
        blob.begin("")
        for _ in 0..<20_000 { blob.begin("n") }
        for _ in 0..<20_000 { blob.token(RawBlob.endNode) }
        blob.token(RawBlob.endNode)
        blob.token(RawBlob.end)
        guard case .tooDeep(_, let limit) = error(blob.bytes) else {
            Issue.record("expected the depth limit")
            return
        }
        #expect(limit == DTBWriter.maxDepth)
    }

    @Test func invalidNodeNameCharacters() {
        var blob = RawBlob()
        blob.begin("")
        blob.begin("bad name")
        blob.token(RawBlob.endNode)
        blob.token(RawBlob.endNode)
        blob.token(RawBlob.end)
        guard case .badNodeName = error(blob.bytes) else {
            Issue.record("expected a bad node name")
            return
        }
    }

    @Test func duplicateSiblingsAndProperties() {
        var nodes = RawBlob()
        nodes.begin("")
        for _ in 0..<2 {
            nodes.begin("twin")
            nodes.token(RawBlob.endNode)
        }
        nodes.token(RawBlob.endNode)
        nodes.token(RawBlob.end)
        #expect(error(nodes.bytes) != nil)

        var properties = RawBlob()
        properties.begin("")
        properties.property("a", [])
        properties.property("a", [])
        properties.token(RawBlob.endNode)
        properties.token(RawBlob.end)
        #expect(error(properties.bytes) != nil)
    }

    @Test func nopTokensAreAccepted() throws {
        // libxl NOPs the empty memory@200000000 node: its tokens become NOPs.
        var blob = RawBlob()
        blob.token(RawBlob.nop)
        blob.begin("")
        blob.token(RawBlob.nop)
        blob.property("a", [0, 0, 0, 1])
        blob.token(RawBlob.nop)
        blob.token(RawBlob.nop)
        blob.begin("kept")
        blob.token(RawBlob.endNode)
        blob.token(RawBlob.endNode)
        blob.token(RawBlob.end)
        let tree = try DTBReader.read(blob.bytes)
        #expect(tree.root.children.map(\.name) == ["kept"])
        #expect(tree.root[property: "a"]?.u32 == 1)
    }

    @Test func unusedBytesAfterTheBlocksAreAccepted() throws {
        // libxl shrinks the hypervisor `reg` in place: totalsize keeps stale bytes.
        var blob = RawBlob.minimal
        blob.trailing = [UInt8](repeating: 0xa5, count: 64)
        #expect(try DTBReader.read(blob.bytes).root.children.count == 1)
        // And bytes after totalsize (a file padded by a loader).
        let padded = RawBlob.minimal.bytes + [UInt8](repeating: 0, count: 100)
        #expect(try DTBReader.read(padded).root.children.count == 1)
    }

    @Test func propertyAfterSubnodeIsAccepted() throws {
        // libxl's ACPI /chosen/module@20000000 precedes rng-seed.
        var blob = RawBlob()
        blob.begin("")
        blob.begin("module@20000000")
        blob.token(RawBlob.endNode)
        blob.property("rng-seed", [1, 2, 3, 4])
        blob.token(RawBlob.endNode)
        blob.token(RawBlob.end)
        let tree = try DTBReader.read(blob.bytes)
        #expect(tree.root[property: "rng-seed"]?.u32 == 0x0102_0304)
        #expect(tree.root.children.count == 1)
    }

    @Test func version16BlobIsAccepted() throws {
        var blob = RawBlob.minimal
        blob.version = 16
        #expect(try DTBReader.read(blob.bytes).root.children.count == 1)
    }

    @Test func randomCorruptionNeverCrashes() {
        var generator = SplitMix64(seed: 0x5eed)
        guard let base = try? DTBWriter.write(SampleTrees.everyValueKind) else {
            Issue.record("sample tree did not write")
            return
        }
        for _ in 0..<3000 {
            var bytes = base
            for _ in 0..<Int(generator.next() % 4 + 1) {
                let index = Int(generator.next() % UInt64(bytes.count))
                bytes[index] = UInt8(truncatingIfNeeded: generator.next())
            }
            // Any outcome but a crash is fine; a successful read must print.
            if let tree = try? DTBReader.read(bytes) {
                _ = DTSPrinter.print(tree)
            }
        }
    }

    @Test func errorsSayWhatIsWrongInWords() {
        #expect(DTBError.malformed(.badStructure, offset: 0x38).description
            == "corrupt device tree: the token stream is malformed (bad nesting, a missing end, or an unknown tag) (FDT_ERR_BADSTRUCTURE) at structure offset 0x38")
        #expect(DTBError.malformed(.alignment, offset: nil).description.contains("8-byte-aligned"))
        for code in FDTErrorCode.allCases {
            #expect(!code.meaning.isEmpty && code.name.hasPrefix("FDT_ERR_"))
        }
    }
}

extension HostileBlobTests {
    /// libfdt 1.6.1's fdt_check_full refuses a NOP between the root's end
    /// and FDT_END (fixed upstream in caf7465, not in Debian's 1.6.1-4).
    @Test func nopBeforeEndTag() throws {
        var blob = RawBlob()
        blob.begin("")
        blob.token(RawBlob.endNode)
        blob.token(RawBlob.nop)
        blob.token(RawBlob.end)
        let tree = try DTBReader.read(blob.bytes)
        #expect(tree.root.children.isEmpty)
    }
}
