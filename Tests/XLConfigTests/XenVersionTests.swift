import Diagnostics
import Testing
import XLConfig

@Suite struct XenVersionTests {
    @Test func parsesSupportedVersionsOnly() {
        #expect(XenVersion("4.17") == XenVersion(major: 4, minor: 17))
        #expect(XenVersion("4.22") == .default)
        for bad in ["4.16", "4.23", "5.0", "4", "4.x", "", "4.17.1"] {
            #expect(XenVersion(bad) == nil, "\(bad) was accepted")
        }
        #expect(XenVersion(major: 4, minor: 18) < XenVersion(major: 4, minor: 21))
    }

    @Test func bootargsFollowLibxl() {
        var guest = GuestConfig(file: "g.cfg")
        let here = Diagnostics.SourceLocation(file: "g.cfg", line: 1, column: 1)
        #expect(guest.bootargs == nil)
        guest.extra = Located("quiet", at: here)
        #expect(guest.bootargs == "quiet")
        guest.root = Located("/dev/vda", at: here)
        #expect(guest.bootargs == "root=/dev/vda quiet")
        guest.cmdline = Located("console=hvc0", at: here)
        #expect(guest.bootargs == "console=hvc0")
    }
}
