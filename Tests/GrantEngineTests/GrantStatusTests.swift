import GrantEngine
import Testing

@Suite struct GrantStatusTests {
    @Test func numbersAndNamesMatchXen() {
        #expect(GrantStatus.allCases.map(\.rawValue) == Array((-13...0).reversed()))
        #expect(GrantStatus.badGntref.name == "GNTST_bad_gntref")
        #expect(GrantStatus.noSpace.description == "GNTST_no_space (-13)")
    }
}
