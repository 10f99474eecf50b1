import Foundation
import GrantEngine
import Testing
import TestSupport
@testable import VirtioRuntime

/// virtio-blk's device rules (virtio.md §5.7), request by request through
/// the real path: guest buffers mapped by grant DMA ops, the backend's
/// worker, the disk image.
@Suite struct BlockProtocolTests {
    struct Answer {
        let status: UInt8
        let usedLength: UInt32
        let data: [UInt8]
    }

    /// Sends one request built by hand: a `headerLength`-byte header (type,
    /// sector), then `data` bytes (to the device when `outgoing`), then a
    /// status byte unless `status` is false.
    private func request(
        _ bench: Bench, type: UInt32, sector: UInt64 = 0, data: [UInt8] = [], dataIn: Int = 0, headerLength: Int = 16,
        status: Bool = true
    ) throws -> Answer {
        let requests = try #require(bench.session.requests)
        let slot = bench.session.slots.slots[0]
        let memory = bench.guest.memory
        try memory.write(at: slot.control, bytes: BlockProtocol.header(type: type, sector: sector))
        try memory.store(UInt8(0xee), at: slot.control.advanced(by: RequestSlot.statusOffset))
        var buffers = [RequestBuffer(address: slot.control, length: headerLength, direction: .toDevice)]
        if !data.isEmpty {
            try memory.write(at: slot.dataA, bytes: data)
            buffers.append(RequestBuffer(address: slot.dataA, length: data.count, direction: .toDevice))
        }
        if dataIn > 0 {
            try memory.fill(at: slot.dataA, count: dataIn, with: 0xaa)
            buffers.append(RequestBuffer(address: slot.dataA, length: dataIn, direction: .fromDevice))
        }
        if status {
            buffers.append(RequestBuffer(address: slot.control.advanced(by: RequestSlot.statusOffset), length: 1, direction: .fromDevice))
        }
        #expect(try requests.submit(buffers, token: 0))
        try requests.kick()
        let completion = try #require(try requests.waitForCompletions().first)
        return Answer(
            status: try memory.load(UInt8.self, at: slot.control.advanced(by: RequestSlot.statusOffset)),
            usedLength: completion.writtenLength, data: try memory.read(at: slot.dataA, count: dataIn))
    }

    private func disk(_ bytes: Int = 1 << 20) throws -> (DiskImage, TemporaryDirectory, String) {
        let directory = try TemporaryDirectory()
        let path = directory.file("disk.img")
        _ = FileManager.default.createFile(atPath: path, contents: Data((0..<bytes).map { UInt8(truncatingIfNeeded: $0 / 512) }))
        return (try DiskImage.open(.file(path)), directory, path)
    }

    @Test func readWriteFlushGetID() throws {
        let (image, directory, path) = try disk()
        let bench = try Bench(.grant, image: image)
        try bench.session.bringUp()
        defer { _ = bench.session.finish() }
        _ = directory
        // IN: data then status; used.len = data + 1.
        var answer = try request(bench, type: 0, sector: 3, dataIn: 1024)
        #expect(answer.status == 0 && answer.usedLength == 1025)
        #expect(answer.data == [UInt8](repeating: 3, count: 512) + [UInt8](repeating: 4, count: 512))
        // OUT: used.len = 1, the file holds the data.
        answer = try request(bench, type: 1, sector: 10, data: [UInt8](repeating: 0x5a, count: 512))
        #expect(answer.status == 0 && answer.usedLength == 1)
        let file = try #require(FileManager.default.contents(atPath: path))
        #expect(Array(file[5120..<5632]) == [UInt8](repeating: 0x5a, count: 512))
        // FLUSH and GET_ID.
        answer = try request(bench, type: 4)
        #expect(answer.status == 0 && answer.usedLength == 1)
        answer = try request(bench, type: 8, dataIn: 20)
        #expect(answer.status == 0 && answer.usedLength == 21)
        #expect(String(decoding: answer.data.prefix { $0 != 0 }, as: UTF8.self) == "grantdt-2000000")
    }

    /// Beyond the capacity, not whole sectors, unknown types, short
    /// headers: IOERR or UNSUPP, and the image is untouched.
    @Test func badRequestsTouchNothing() throws {
        let (image, directory, path) = try disk(64 << 10)
        let bench = try Bench(.grant, image: image)
        try bench.session.bringUp()
        defer { _ = bench.session.finish() }
        _ = directory
        let before = FileManager.default.contents(atPath: path)
        #expect(try request(bench, type: 1, sector: 127, data: [UInt8](repeating: 1, count: 1024)).status == 1)
        #expect(try request(bench, type: 1, sector: UInt64.max, data: [UInt8](repeating: 1, count: 512)).status == 1)
        #expect(try request(bench, type: 1, sector: 0, data: [UInt8](repeating: 1, count: 1000)).status == 1)
        let read = try request(bench, type: 0, sector: 128, dataIn: 512)
        #expect(read.status == 1 && read.usedLength == 1)
        let unknown = try request(bench, type: 99)
        #expect(unknown.status == 2 && unknown.usedLength == 1)
        #expect(try request(bench, type: 0, headerLength: 8).status == 1)
        #expect(FileManager.default.contents(atPath: path) == before)
    }

    /// A read-only image: the device offers RO, writes get IOERR and
    /// nothing changes; reads still work.
    @Test func readOnlyImage() throws {
        let (_, directory, path) = try disk(64 << 10)
        _ = directory
        let image = try DiskImage.open(.file(path), readOnly: true)
        let bench = try Bench(.grant, image: image)
        try bench.session.bringUp()
        defer { _ = bench.session.finish() }
        #expect(bench.session.driver.features.contains(.blockReadOnly))
        let before = FileManager.default.contents(atPath: path)
        #expect(try request(bench, type: 1, sector: 0, data: [UInt8](repeating: 9, count: 512)).status == 1)
        #expect(FileManager.default.contents(atPath: path) == before)
        #expect(try request(bench, type: 0, sector: 1, dataIn: 512).data == [UInt8](repeating: 1, count: 512))
    }

    /// A chain without a writable status byte cannot be answered: the
    /// device asks for a reset.
    @Test func noStatusByteNeedsReset() throws {
        let bench = try Bench(.grant)
        try bench.session.bringUp()
        defer { _ = bench.session.finish() }
        #expect(throws: RequestError.self) { try request(bench, type: 0, status: false) }
        #expect(bench.session.device.fault?.contains("status byte") == true)
    }

    /// The configuration space: capacity in sectors, size_max, seg_max,
    /// blk_size.
    @Test func configuration() throws {
        let bench = try Bench(.grant)
        try bench.session.bringUp()
        defer { _ = bench.session.finish() }
        #expect(bench.session.driver.config64(BlockProtocol.capacityOffset) == UInt64(4 << 20) / 512)
        #expect(bench.session.driver.config32(BlockProtocol.blockSizeOffset) == 512)
        #expect(bench.session.driver.config32(BlockProtocol.sizeMaxOffset) == BlockDevice.sizeMax)
        #expect(bench.session.driver.config32(BlockProtocol.segMaxOffset) == 1022)
    }
}
