// swift-tools-version: 6.2
//
// grantdt: a Swift toolchain for Xen on Arm guest device trees with
// grant-based virtio DMA. Dependencies flow one way:
//   grantdt (CLI) -> compiler / runtime -> DeviceTree -> CLibFDT
import PackageDescription

/// Every target of ours is built in Swift 6 mode with warnings as errors.
let strict: [SwiftSetting] = [.treatAllWarnings(as: .error)]

let package = Package(
    name: "grantdt",
    products: [
        .executable(name: "grantdt", targets: ["grantdt"]),
        .library(name: "DeviceTree", targets: ["DeviceTree"]),
        // For the libFuzzer package in Fuzz/ (built apart, see FUZZING.md).
        .library(name: "FuzzHarness", targets: ["FuzzHarness"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // Debian's libfdt-dev ships no pkg-config file: the module map links `fdt`.
        .systemLibrary(
            name: "CLibFDT",
            providers: [.apt(["libfdt-dev"])]
        ),
        .target(name: "SystemIO", swiftSettings: strict),
        .target(name: "Diagnostics", swiftSettings: strict),
        .target(name: "DeviceTree", dependencies: ["CLibFDT"], swiftSettings: strict),
        // Compiler: xl.cfg front end, then the libxl-identical tree layout.
        .target(name: "XLConfig", dependencies: ["Diagnostics", "SystemIO"], swiftSettings: strict),
        .target(
            name: "GuestLayout",
            dependencies: ["XLConfig", "DeviceTree", "Diagnostics", "SystemIO"],
            exclude: ["PLACEMENT.md"],
            swiftSettings: strict
        ),
        // Runtime: Xen grant semantics, then binding and virtio on top of them.
        .target(name: "GrantEngine", swiftSettings: strict),
        .target(
            name: "VirtioRuntime",
            dependencies: ["DeviceTree", "Diagnostics", "GrantEngine"],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "grantdt",
            dependencies: [
                "DeviceTree", "Diagnostics", "SystemIO", "XLConfig", "GuestLayout", "GrantEngine", "VirtioRuntime",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "grantdt-bench",
            dependencies: ["DeviceTree", "SystemIO", "XLConfig", "GuestLayout", "GrantEngine", "VirtioRuntime"],
            swiftSettings: strict
        ),
        .testTarget(name: "DeviceTreeTests", dependencies: ["DeviceTree", "CLibFDT", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "DiagnosticsTests", dependencies: ["Diagnostics"], swiftSettings: strict),
        .testTarget(name: "SystemIOTests", dependencies: ["SystemIO", "TestSupport"], swiftSettings: strict),
        .testTarget(
            name: "XLConfigTests", dependencies: ["XLConfig", "Diagnostics", "TestSupport"],
            exclude: ["Fixtures"], swiftSettings: strict),
        .testTarget(
            name: "GuestLayoutTests", dependencies: ["GuestLayout", "XLConfig", "DeviceTree", "Diagnostics", "TestSupport"],
            exclude: ["Golden"], swiftSettings: strict),
        .testTarget(name: "GrantEngineTests", dependencies: ["GrantEngine", "TestSupport"], swiftSettings: strict),
        // Fixtures are DTS sources that the tests compile with dtc.
        .testTarget(
            name: "VirtioRuntimeTests", dependencies: ["VirtioRuntime", "DeviceTree", "Diagnostics", "GrantEngine", "TestSupport"],
            exclude: ["Fixtures"], swiftSettings: strict),
        .testTarget(name: "CLITests", dependencies: ["grantdt", "TestSupport"], swiftSettings: strict),
        .target(name: "TestSupport", dependencies: ["DeviceTree"], path: "Tests/TestSupport", swiftSettings: strict),
        // What each fuzz target does with one input; the fuzz package and the
        // corpus replay tests share it, so every committed crasher is a test.
        .target(
            name: "FuzzHarness", dependencies: ["DeviceTree", "Diagnostics", "XLConfig", "GuestLayout", "VirtioRuntime", "TestSupport"],
            path: "Tests/FuzzHarness", swiftSettings: strict),
        .testTarget(name: "FuzzRegressionTests", dependencies: ["FuzzHarness", "DeviceTree", "TestSupport"], swiftSettings: strict),
        // dt-validate with schemas/ and dtc's default checks on the trees grantdt produces.
        .testTarget(
            name: "SchemaTests", dependencies: ["DeviceTree", "VirtioRuntime", "TestSupport"], exclude: ["Fixtures"], swiftSettings: strict),
    ]
)
