/// A finding that libxl's own layout always produces, so grantdt (which
/// reproduces that layout byte for byte) produces it too. Each waiver is
/// as narrow as possible: one check or schema, one node pattern, and for
/// dt-validate one property.
struct Waiver: Sendable, CustomStringConvertible {
    /// dtc check name, or dt-validate schema `$id` suffix (`simple-bus.yaml`).
    let check: String
    /// Node path; `*` matches any run of characters within one component.
    let node: String
    /// dt-validate: the first element of the finding's property path.
    var property: String? = nil
    /// Why the layout trips it, for the README's waiver table.
    let reason: String

    var description: String { "\(check) on \(node)" + (property.map { " (\($0))" } ?? "") }

    func covers(check: String, node path: String, property: String? = nil) -> Bool {
        guard self.property == nil || self.property == property else { return false }
        guard self.check == check || check.hasSuffix("/" + self.check) else { return false }
        let patterns = node.split(separator: "/", omittingEmptySubsequences: false)
        let components = path.split(separator: "/", omittingEmptySubsequences: false)
        guard patterns.count == components.count else { return false }
        return zip(patterns, components).allSatisfy(Self.matches)
    }

    func covers(_ finding: DTValidate.Finding) -> Bool {
        covers(check: finding.schemaName, node: finding.node, property: finding.propertyPath.first)
    }

    private static func matches(_ pattern: Substring, _ component: Substring) -> Bool {
        guard let star = pattern.firstIndex(of: "*") else { return pattern == component }
        let prefix = pattern[..<star], suffix = pattern[pattern.index(after: star)...]
        return component.count >= prefix.count + suffix.count && component.hasPrefix(prefix) && component.hasSuffix(suffix)
    }
}

extension Waiver {
    /// dtc 1.6.1's default checks (devicetree-tooling.md §4.4).
    static let dtc = [
        Waiver(check: "unit_address_vs_reg", node: "/hypervisor",
               reason: "libxl names the node `hypervisor` although it has `reg` (grant table and extended regions): every guest"),
        Waiver(check: "unit_address_vs_reg", node: "/sbsa-pl011",
               reason: "libxl names the emulated UART `sbsa-pl011` although it has `reg`: guests with vuart = \"sbsa_uart\""),
        Waiver(check: "interrupt_provider", node: "/virtio@*/gpio",
               reason: "libxl's virtio GPIO child is an interrupt controller without `#address-cells`: virtio= type virtio,device29"),
    ]

    /// dt-validate with the core schemas and schemas/xen-guest.
    static let dtValidate = [
        Waiver(check: "simple-bus.yaml", node: "/passthrough", property: "$nodename",
               reason: "libxl copies the partial tree's bus only when it is named exactly `passthrough`; simple-bus wants `bus`, `soc`, ...: guests with device_tree="),
    ]
}
