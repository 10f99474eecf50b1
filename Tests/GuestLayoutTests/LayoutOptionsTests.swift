import GuestLayout
import Testing
import XLConfig

@Suite struct LayoutOptionsTests {
    @Test func documentedDefaults() {
        let options = LayoutOptions()
        #expect(options.xenVersion == XenVersion(major: 4, minor: 22))
        #expect(options.gpaddrBits == 40)
        #expect(options.hostGIC == .v3)
        #expect(options.timerFrequency == nil)
        #expect(options.rngSeed == nil)
        #expect(options.kernelSize == 32 << 20)
    }
}
