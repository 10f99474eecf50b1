// swift-tools-version: 6.2
//
// libFuzzer targets for grantdt, a package of their own so that a normal
// `swift build` of the root never links libFuzzer. Build and run them with
// `make fuzz` (see FUZZING.md); the flags matter:
//
//   swift build --package-path Fuzz --scratch-path .build-fuzz -c release \
//       --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address
//
// `--sanitize=fuzzer` makes SwiftPM build the executables as libraries
// (libFuzzer supplies `main`); `-sanitize=fuzzer,address` is what reaches
// the compiler, because swift-driver keeps only the last `-sanitize=` and
// SwiftPM passes one per `--sanitize`. What each target checks lives in
// the root package (Tests/FuzzHarness), shared with the corpus replay tests.
import PackageDescription

let strict: [SwiftSetting] = [.treatAllWarnings(as: .error)]

/// One libFuzzer executable per target of `FuzzTarget.all`.
func fuzzer(_ name: String) -> Target {
    .executableTarget(name: "fuzz-\(name)", dependencies: ["FuzzEntry"], swiftSettings: strict)
}

let package = Package(
    name: "grantdt-fuzz",
    dependencies: [.package(name: "grantdt", path: "..")],
    targets: [
        // libFuzzer's API for the custom mutator (the library is the toolchain's).
        .target(name: "CLibFuzzer"),
        .target(
            name: "FuzzEntry",
            dependencies: ["CLibFuzzer", .product(name: "FuzzHarness", package: "grantdt")],
            swiftSettings: strict),
        fuzzer("dtb"),
        fuzzer("partial-dt"),
    ]
)
