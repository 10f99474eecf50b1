import Diagnostics

/// The rule `grantdt run` reports a tree it cannot run with (beyond the
/// tree checks, which it runs first).
public enum RunRules {
    public static let treeNotRunnable = Rule(
        "RUN-TREE", .error,
        summary: "the tree passes the tree checks but cannot be run: no guest RAM, a restricted-dma-pool outside RAM, no enabled virtio,mmio device",
        fix: "describe the guest's RAM in a memory node and place restricted-dma-pool regions inside it")

    public static let all = [treeNotRunnable]
}
