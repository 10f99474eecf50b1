import Testing
import VirtioRuntime

@Suite struct DMABindingTests {
    @Test func kindsAreTheJSONNames() {
        #expect(DMABinding.grant(backend: 1).kind == "grant")
        #expect(DMABinding.iommu(path: "/smmu").kind == "iommu")
        #expect(DMABinding.bounce(pool: "/reserved-memory/pool").kind == "bounce")
        #expect(DMABinding.direct.kind == "direct")
    }
}
