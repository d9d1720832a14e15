import Foundation
import GroupSync
import GroupSyncDaemon
import LDAPTestSupport
import Logging
import SyncStore
import Testing

extension Tag {
    @Tag static var slapd: Self
}

/// A throwaway slapd, a configuration for it, and `groupsync serve` as a child process
/// (so signals reach it as they would under systemd).
final class DaemonHarness: @unchecked Sendable {
    let directory: TestDirectory
    let folder: URL
    let configPath: String
    var daemon: SpawnedProcess?
    let token = "test-token-0123456789abcdef"
    let port: Int

    static var binary: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("groupsync").path
    }

    static let people = "ou=people,dc=example,dc=com"

    static var fixture: DirectoryFixture {
        var entries = DirectoryFixture.skeleton()
        for uid in ["alice", "bob", "carol", "dave"] { entries.append(DirectoryFixture.person(uid)) }
        entries.append(DirectoryFixture.group("finance", members: ["uid=alice,\(people)", "uid=bob,\(people)"]))
        entries.append(DirectoryFixture.group("permitted", members: ["cn=finance,ou=groups,dc=example,dc=com"]))
        entries.append(DirectoryFixture.group("sales", members: ["uid=carol,\(people)"]))
        return DirectoryFixture(entries: entries)
    }

    /// The directory's `timeout`: short, so tests of a stalled server fail fast; a test that
    /// stalls slapd on purpose and must not fail gives a longer one.
    let ldapTimeout: String

    init(
        schedule: String = "", tcp: Bool = false, fixture: DirectoryFixture = DaemonHarness.fixture, ldapTimeout: String = "5s"
    ) async throws {
        self.ldapTimeout = ldapTimeout
        directory = try await TestDirectory.start(fixture)
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("groupsync-daemon-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try writeSecret(DirectoryFixture.servicePassword + "\n", to: folder.appendingPathComponent("ldap-password"))
        try writeSecret(token + "\n", to: folder.appendingPathComponent("api-token"))
        configPath = folder.appendingPathComponent("groupsync.yaml").path
        port = tcp ? try freeLoopbackPort() : 0
        try config(schedule: schedule, tcp: tcp).write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    deinit {
        daemon?.killAndReap()
        try? FileManager.default.removeItem(at: folder)
    }

    var socket: String { folder.appendingPathComponent("var/groupsync.sock").path }

    func config(schedule: String = "", tcp: Bool = false, policies: String = DaemonHarness.policies) -> String {
        """
        store:
          path: var/groupsync.sqlite
        directories:
          - name: corp
            url: \(directory.ldapURL)
            bind:
              dn: \(DirectoryFixture.serviceDN)
              password_file: ldap-password
            timeout: \(ldapTimeout)
            users:
              base: \(Self.people)
            groups:
              base: ou=groups,dc=example,dc=com
            limits:
              max_user_deletions: 100%
              max_group_deletions: 100%
              max_membership_deletions: 100%
        \(schedule)
        server:
          socket: var/groupsync.sock
        \(tcp ? "  listen: 127.0.0.1:\(port)\n  token_file: api-token\n" : "")
        \(policies)
        """
    }

    static let policies = """
        policies:
          - name: Permitted Finance
            type: permitted-senders
            targets:
              - group: permitted
        """

    /// Starts `groupsync serve` and waits until its socket answers.
    func startDaemon(flags: [String] = []) async throws {
        let log = folder.appendingPathComponent("daemon.log").path
        daemon = try SpawnedProcess(executable: Self.binary, arguments: ["serve", "--config", configPath] + flags, logPath: log)
        let deadline = ContinuousClock.now + .seconds(20)
        while !DaemonClient.answers(socket: socket) {
            guard daemon?.isRunning == true, ContinuousClock.now < deadline else {
                throw DaemonError("the daemon did not start: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        // The TCP listener starts beside the socket's, not before it: wait for it too.
        if port != 0 {
            let tcp = DaemonClient(endpoint: .tcp(host: "127.0.0.1", port: port), timeout: 2)
            while (try? await tcp.request("GET", "/healthz")) == nil {
                guard daemon?.isRunning == true, ContinuousClock.now < deadline else {
                    throw DaemonError("the daemon's TCP listener did not start: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
                }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    /// Waits (up to 20 s) until `condition` holds; polling, never a fixed sleep.
    func eventually(_ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    var log: String { (try? String(contentsOfFile: folder.appendingPathComponent("daemon.log").path, encoding: .utf8)) ?? "" }

    var client: DaemonClient { DaemonClient(endpoint: .unix(socket), timeout: 60) }

    func get(_ path: String) async throws -> DaemonClient.Response { try await client.request("GET", path) }

    func json(_ response: DaemonClient.Response) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: response.body) as? [String: Any], "\(response.text)")
    }

    func post(_ path: String, _ body: [String: Any] = [:]) async throws -> DaemonClient.Response {
        try await client.request("POST", path, body: try JSONSerialization.data(withJSONObject: body))
    }

    func store() throws -> Store { try Store(path: folder.appendingPathComponent("var/groupsync.sqlite").path) }

    /// Runs the groupsync command line on a thread of its own: waiting for it must not hold
    /// one of the few threads Swift concurrency runs every test on.
    func cli(_ arguments: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try self.cliBlocking(arguments) }) }.start()
        }
    }

    private func cliBlocking(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = arguments + ["--config", configPath]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }

    /// Stops the daemon with SIGTERM and returns its exit code.
    func stopDaemon() async -> Int32? {
        daemon?.signal(SIGTERM)
        await daemon?.waitForExit(timeout: .seconds(20))
        return daemon?.exitCode
    }
}
