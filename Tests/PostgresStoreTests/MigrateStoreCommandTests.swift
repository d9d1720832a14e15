import Foundation
import LDAPTestSupport
import PostgresStore
import Testing

/// `groupsync migrate-store` as an admin runs it: exit codes, JSON, messages.
@Suite("groupsync migrate-store")
struct MigrateStoreCommandTests {
    /// The built binary, next to the test bundle in the build folder.
    static var binary: String {
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var folder = testBinary.deletingLastPathComponent()
        while !FileManager.default.isExecutableFile(atPath: folder.appendingPathComponent("groupsync").path), folder.path != "/" {
            folder = folder.deletingLastPathComponent()
        }
        return folder.appendingPathComponent("groupsync").path
    }

    static func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }

    @Test("copies with --json and exit 0; a second copy is refused (exit 3) until --replace; usage errors exit 2")
    func commandLine() async throws {
        let (_, settings) = try await PostgresServer.shared.freshDatabase()
        let folder = try StoreCopyTests.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("groupsync.sqlite").path
        _ = try StoreCopyTests.filledStore(at: path)
        let url = "postgres://\(settings.label)"
        let common = ["--password-file", settings.passwordFile!, "--tls", "disable"]

        let copied = try await blocking { try Self.run(["migrate-store", "--from", path, "--to", url, "--json"] + common) }
        #expect(copied.status == 0, "\(copied.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(copied.stdout.utf8)) as? [String: Any]
        let tables = json?["tables"] as? [String: Int]
        #expect(tables?["user"] == 602)
        #expect(tables?["membership"] == 604)
        #expect(json?["to"] as? String == url)

        let again = try await blocking { try Self.run(["migrate-store", "--from", path, "--to", url] + common) }
        #expect(again.status == 3)
        #expect(again.stderr.contains("is not empty") && again.stderr.contains("--replace"))
        let replaced = try await blocking { try Self.run(["migrate-store", "--from", path, "--to", url, "--replace"] + common) }
        #expect(replaced.status == 0, "\(replaced.stderr)")
        #expect(replaced.stdout.contains("(target replaced)"))
        #expect(replaced.stdout.contains("membership"))

        let badTLS = try await blocking { try Self.run(["migrate-store", "--from", path, "--to", url, "--password-file", settings.passwordFile!, "--tls", "maybe"]) }
        #expect(badTLS.status == 2)
        #expect(badTLS.stderr.contains("--tls maybe"))
        let passwordInURL = try await blocking {
            try Self.run(["migrate-store", "--from", path, "--to", "postgres://groupsync:hunter2@127.0.0.1/x"] + common)
        }
        #expect(passwordInURL.status == 2)
        #expect(passwordInURL.stderr.contains("password_file"))
        #expect(!passwordInURL.stderr.contains("hunter2"))
    }
}
