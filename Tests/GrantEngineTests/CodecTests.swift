import GrantEngine
import Testing

@Suite struct CodecTests {
    @Test func encodesBit63RefAndOffset() {
        let address = DMAAddress.grant(GrantRef(0x20), offset: 0x300)
        #expect(address.rawValue == 0x8000_0000_0002_0300)
        #expect(address.isGrant)
        #expect(address.grantRef == GrantRef(0x20))
        #expect(address.pageOffset == 0x300)
    }

    @Test func firstUsableRefAndLargestRefRoundTrip() {
        for ref in [GrantRef(0x8), GrantRef(UInt32.max), GrantRef(64 * 512 - 1)] {
            for offset in [0, 1, 0xfff] {
                let address = DMAAddress.grant(ref, offset: offset)
                #expect(address.grantRef == ref)
                #expect(address.pageOffset == offset)
                #expect(address.isGrant)
            }
        }
        #expect(DMAAddress.grant(GrantRef(0x8)).rawValue == 0x8000_0000_0000_8000)
        #expect(DMAAddress.grant(GrantRef(UInt32.max), offset: 0xfff).rawValue == 0x8000_0fff_ffff_ffff)
    }

    @Test func decodeTruncatesToThe32BitRef() {
        // Bits 44–62 do not fit grant_ref_t: Linux and backends drop them.
        let forged = DMAAddress(rawValue: 0x8000_1000_0000_5123)
        #expect(forged.grantRef == GrantRef(0x5))
        #expect(forged.pageOffset == 0x123)
    }

    @Test func bit63ClearIsGuestPhysical() {
        let address = DMAAddress.guestPhysical(GuestAddress(0x4000_1234))
        #expect(!address.isGrant)
        #expect(address.guestAddress == GuestAddress(0x4000_1234))
        #expect(address.pageOffset == 0x234)
    }

    @Test func pageCountIncludesTheInPageOffset() {
        // The reference's example: 6000 bytes from 0x300 → 2 refs.
        #expect(XenPage.count(offset: 0x300, length: 6000) == 2)
        #expect(XenPage.count(offset: 0, length: 4096) == 1)
        #expect(XenPage.count(offset: 1, length: 4096) == 2)
        #expect(XenPage.count(offset: 0xfff, length: 1) == 1)
        #expect(XenPage.count(offset: 0xfff, length: 2) == 2)
        #expect(XenPage.count(offset: 0, length: 1) == 1)
    }

    @Test func everyByteOfAMultiPageBufferDecodesToItsOwnRef() {
        let start = DMAAddress.grant(GrantRef(0x20), offset: 0x300)
        for byte in [0, 0xcff, 0xd00, 5999] {
            let address = start.advanced(by: byte)
            #expect(address.grantRef == GrantRef(0x20 + UInt32((0x300 + byte) >> 12)))
            #expect(address.pageOffset == (0x300 + byte) & 0xfff)
        }
    }
}
