// swift-tools-version: 6.2
//
// The libFuzzer executable for grantdt, in a package of its own so that a
// normal `swift build` of the root never links libFuzzer. Build and run it
// with `make fuzz` (see FUZZING.md); the flags matter:
//
//   swift build --package-path Fuzz --scratch-path .build-fuzz -c release \
//       --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address
//
// `--sanitize=fuzzer` makes SwiftPM build the executable as a library
// (libFuzzer supplies `main`); `-sanitize=fuzzer,address` is what reaches
// the compiler, because swift-driver keeps only the last `-sanitize=` and
// SwiftPM passes one per `--sanitize`.
//
// One executable serves every target of `FuzzTarget.all`, chosen with the
// FUZZ_TARGET environment variable; what each target checks lives in the
// root package (Tests/FuzzHarness), shared with the corpus replay tests.
import PackageDescription

let package = Package(
    name: "grantdt-fuzz",
    dependencies: [.package(name: "grantdt", path: "..")],
    targets: [
        // libFuzzer's API for the custom mutator (the library is the toolchain's).
        .target(name: "CLibFuzzer"),
        .executableTarget(
            name: "grantdt-fuzz",
            dependencies: ["CLibFuzzer", .product(name: "FuzzHarness", package: "grantdt")],
            swiftSettings: [.treatAllWarnings(as: .error)]),
    ]
)
