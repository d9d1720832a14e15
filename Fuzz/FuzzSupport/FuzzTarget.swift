import CFuzzerDriver
import Foundation

/// Runs a fuzz target. Built with `-DGROUPSYNC_FUZZ -sanitize=fuzzer,address` (`make fuzz`)
/// it hands `body` to libFuzzer, which takes libFuzzer's own arguments (corpus folders,
/// `-max_total_time=60`…). In an ordinary build it replays the files and folders named on
/// the command line through `body`: the committed corpora run as regression tests.
public enum FuzzTarget {
    nonisolated(unsafe) static var body: (UnsafeBufferPointer<UInt8>) -> Void = { _ in }

    public static func run(_ body: @escaping (UnsafeBufferPointer<UInt8>) -> Void) -> Never {
        Self.body = body
        #if GROUPSYNC_FUZZ
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in
            FuzzTarget.body(UnsafeBufferPointer(start: data, count: size))
            return 0
        })
        #else
        var count = 0
        for path in CommandLine.arguments.dropFirst() where !path.hasPrefix("-") {
            for file in files(at: path) {
                guard let data = FileManager.default.contents(atPath: file) else {
                    FileHandle.standardError.write(Data("cannot read \(file)\n".utf8))
                    exit(2)
                }
                data.withUnsafeBytes { raw in body(raw.bindMemory(to: UInt8.self)) }
                count += 1
            }
        }
        print("replayed \(count) inputs without a failure")
        exit(0)
        #endif
    }

    static func files(at path: String) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else { return [path] }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.sorted().map { "\(path)/\($0)" }
    }
}
