// The libFuzzer entry point of `emilia-fuzz`. The checks themselves are in
// Tests/EmiliaModelTests/FuzzRegressionTests.swift (compiled in with -D EMILIA_FUZZ), so that the fuzzer and the
// regression tests run the same code. Build and run it with scripts/fuzz.sh; see Fuzz/README.md.
#if EMILIA_FUZZ
import Foundation

/// The harness this process runs, from `EMILIA_FUZZ_TARGET` (json, validator, fold or money).
private let fuzzTarget: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["EMILIA_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: "|")
        FileHandle.standardError.write(Data("emilia-fuzz: set EMILIA_FUZZ_TARGET=\(names) (got '\(name)')\n".utf8))
        exit(2)
    }
    return target
}()

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    _ = fuzzTarget  // fail fast on a missing or unknown target
    _ = FuzzChecks.saoPaulo
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = size == 0 || data == nil ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    do {
        try FuzzChecks.run(fuzzTarget, input)
    } catch {
        // A broken property is a crash for libFuzzer: it saves the input and stops.
        fatalError("emilia-fuzz \(fuzzTarget.rawValue): \(error)")
    }
    return 0
}
#endif
